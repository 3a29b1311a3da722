package c2sp

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestTilePaths(t *testing.T) {
	for _, c := range []struct {
		tile tlog.Tile
		path string
	}{
		{tlog.Tile{H: 8, L: 0, N: 0, W: 256}, "tile/0/000"},
		{tlog.Tile{H: 8, L: 0, N: 67, W: 256}, "tile/0/067"},
		{tlog.Tile{H: 8, L: 1, N: 1000, W: 256}, "tile/1/x001/000"},
		{tlog.Tile{H: 8, L: 0, N: 1234067, W: 256}, "tile/0/x001/x234/067"},
		{tlog.Tile{H: 8, L: 0, N: 273, W: 112}, "tile/0/273.p/112"},
		{tlog.Tile{H: 8, L: -1, N: 3, W: 232}, "tile/entries/003.p/232"},
		{tlog.Tile{H: 8, L: 2, N: 0, W: 1}, "tile/2/000.p/1"},
	} {
		if got := TilePath(c.tile); got != c.path {
			t.Errorf("TilePath(%+v) = %s, want %s", c.tile, got, c.path)
		}
		back, err := ParseTilePath(c.path)
		if err != nil || back != c.tile {
			t.Errorf("ParseTilePath(%s) = %+v %v", c.path, back, err)
		}
	}
	for _, bad := range []string{"tile/0/67", "tile/0/x000/067", "tile/0/001/002", "tile/00/000", "tile/0/000.p/0", "tile/0/000.p/256",
		"tile/64/000", "tile/0/x001", "tiles/0/000", "tile/-1/000", "tile/0/0a0"} {
		if _, err := ParseTilePath(bad); err == nil {
			t.Errorf("ParseTilePath(%s) accepted", bad)
		}
	}
	// The spec's example: growing 1,000 → 1,300 publishes exactly these tiles.
	var got []string
	for _, tile := range tlog.NewTiles(TileHeight, 1000, 1300) {
		got = append(got, TilePath(tile))
	}
	if want := "tile/0/003 tile/0/004 tile/0/005.p/20 tile/1/000.p/5"; strings.Join(got, " ") != want {
		t.Fatalf("tiles 1000→1300: %v", got)
	}
}

func TestBundles(t *testing.T) {
	var b []byte
	entries := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("x"), MaxEntry)}
	for _, e := range entries {
		var err error
		if b, err = AppendEntry(b, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := AppendEntry(nil, make([]byte, MaxEntry+1)); err == nil {
		t.Fatal("an oversized entry was framed")
	}
	got, err := ReadBundle(b)
	if err != nil || len(got) != 3 || string(got[0]) != "a" || len(got[1]) != 0 || len(got[2]) != MaxEntry {
		t.Fatalf("ReadBundle: %d entries, %v", len(got), err)
	}
	if _, err := ReadBundle(b[:len(b)-1]); err == nil {
		t.Fatal("a truncated bundle was read")
	}
}

func TestCheckpointText(t *testing.T) {
	c := Checkpoint{Origin: "dx.example/audit", Size: 8, Hash: tlog.RecordHash([]byte("x"))}
	back, err := ParseCheckpoint(c.Text())
	if err != nil || back != c {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for _, bad := range []string{"o\n01\nAAAA\n", "o\n1\n", "o\n-1\n" + base64.StdEncoding.EncodeToString(c.Hash[:]) + "\n", "o\n1\nshort\n", "o\n1\n" + base64.StdEncoding.EncodeToString(c.Hash[:])} {
		if _, err := ParseCheckpoint([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if EmptyRoot != tlog.Hash(sha256Empty()) {
		t.Fatal("EmptyRoot is not SHA-256 of nothing")
	}
}

func sha256Empty() [32]byte {
	var h [32]byte
	b, _ := base64.StdEncoding.DecodeString("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	copy(h[:], b)
	return h
}

// appendixA returns the golden receipt of the audit-log digest (Appendix A), read in
// place from the shared specs.
func appendixA(t *testing.T) (logVKey, witnessVKey string, receipt []byte) {
	var doc []byte
	for _, up := range []string{"../../shared", "../../../shared"} {
		if b, err := os.ReadFile(filepath.Join(up, "specs", "audit-log.md")); err == nil {
			doc = b
		}
	}
	if doc == nil {
		t.Skip("the audit-log digest is not beside the repository")
	}
	s := string(doc)
	field := func(prefix string) string {
		i := strings.Index(s, prefix)
		if i < 0 {
			t.Fatalf("digest: %q not found", prefix)
		}
		line := s[i+len(prefix):]
		return strings.TrimSpace(line[:strings.IndexByte(line, '\n')])
	}
	logVKey, witnessVKey = field("log vkey:"), field("witness vkey:")
	i := strings.Index(s, "Receipt for index 5")
	if j := strings.Index(s[max(i, 0):], "```\nc2sp.org/tlog-proof@v1\n"); i >= 0 && j >= 0 {
		i += j
	} else {
		i = -1
	}
	if i < 0 {
		t.Fatal("digest: receipt not found")
	}
	body := s[i+4:]
	return logVKey, witnessVKey, []byte(body[:strings.Index(body, "```")])
}

// TestGoldenReceipt rebuilds the digest's golden receipt byte for byte: the RFC 6962
// eight-leaf tree, the log's Ed25519 signature and a witness's cosignature from fixed seeds.
func TestGoldenReceipt(t *testing.T) {
	logVKey, witnessVKey, want := appendixA(t)
	logKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	witnessKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	if got := VKey("dx.example/audit-test", TypeEd25519, logKey.Public().(ed25519.PublicKey)); got != logVKey {
		t.Fatalf("log vkey %s, want %s", got, logVKey)
	}
	w := NewCosigner("witness.example/w1", witnessKey)
	w.Now = func() time.Time { return time.Unix(1767225600, 0) }
	if w.VKey() != witnessVKey {
		t.Fatalf("witness vkey %s, want %s", w.VKey(), witnessVKey)
	}
	var hashes []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for n, leaf := range testonly.LeafInputs() {
		h, err := tlog.StoredHashes(int64(n), leaf, hr)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h...)
	}
	root, err := tlog.TreeHash(8, hr)
	if err != nil || !bytes.Equal(root[:], testonly.RootHashes()[8]) {
		t.Fatalf("root %x: %v", root, err)
	}
	signer, err := LogSigner("dx.example/audit-test", logKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: string(Checkpoint{Origin: "dx.example/audit-test", Size: 8, Hash: root}.Text())}, signer, w)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := tlog.ProveRecord(8, 5, hr)
	if err != nil {
		t.Fatal(err)
	}
	got := Proof{Index: 5, Hashes: proof, Checkpoint: signed}.Format()
	if !bytes.Equal(got, want) {
		t.Fatalf("receipt:\n%s\nwant:\n%s", got, want)
	}
	// And it reads back, and its signatures verify with the published keys.
	p, err := ParseProof(want)
	if err != nil || p.Index != 5 || len(p.Hashes) != 3 {
		t.Fatalf("ParseProof: %+v %v", p, err)
	}
	lv, err := note.NewVerifier(logVKey)
	if err != nil {
		t.Fatal(err)
	}
	wv, err := NewCosignatureVerifier(witnessVKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(p.Checkpoint, note.VerifierList(lv, wv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("open: %v", err)
	}
	if ts, err := CosignatureTime(n.Sigs[1]); err != nil || ts.Unix() != 1767225600 {
		t.Fatalf("cosignature time %v %v", ts, err)
	}
	cp, _ := ParseCheckpoint([]byte(n.Text))
	if err := tlog.CheckRecord(p.Hashes, cp.Size, cp.Hash, p.Index, tlog.RecordHash(testonly.LeafInputs()[5])); err != nil {
		t.Fatal(err)
	}
	// A cosignature over another checkpoint does not verify.
	forged := bytes.Replace(p.Checkpoint, []byte("\n8\n"), []byte("\n9\n"), 1)
	if _, err := note.Open(forged, note.VerifierList(wv)); err == nil {
		t.Fatal("a cosignature verified over an edited checkpoint")
	}
}

func TestAddCheckpointBody(t *testing.T) {
	a := AddCheckpoint{Old: 5, Proof: []tlog.Hash{tlog.RecordHash([]byte("a")), tlog.RecordHash([]byte("b"))}, Checkpoint: []byte("o\n8\nAA==\n\n— o sig\n")}
	back, err := ParseAddCheckpoint(a.Format())
	if err != nil || back.Old != 5 || len(back.Proof) != 2 || !bytes.Equal(back.Checkpoint, a.Checkpoint) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for _, bad := range []string{"old x\n\ncp", "old 01\n\ncp", "new 1\n\ncp", "old 1\nnot-a-hash\n\ncp", "old 1\ncp"} {
		if _, err := ParseAddCheckpoint([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
