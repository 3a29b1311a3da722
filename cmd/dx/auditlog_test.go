package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/party"
)

// serveProcess starts `dx serve` as a real process on addr with data and waits until it
// is healthy.
func serveProcess(t *testing.T, data, addr string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", addr, "--data", data, "--engine-threads", "1", "--log-level", "error"}, extra...)...)
	cmd.Env = append(os.Environ(), "DX_TEST_AS_DX=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd, &out
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dx did not start: %s", out.String())
	return nil, nil
}

func operatorToken(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "dx_tok_") {
			return s
		}
	}
	return ""
}

// createOrgs creates n organisations, eight at a time, and returns their IDs.
func createOrgs(t *testing.T, op *client.Client, prefix string, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				res, err := op.CreateOrg(context.Background(), party.NewOrg{Name: fmt.Sprintf("%s-%d", prefix, i), Roles: []string{"consumer"}})
				if err != nil {
					t.Logf("create org: %v", err) // the server may be killed under us
					return
				}
				mu.Lock()
				ids = append(ids, res.Org.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ids
}

// verifyCLI runs `dx audit verify` in-process.
func verifyCLI(server, state string, args ...string) (string, int) {
	var out bytes.Buffer
	code := Run(context.Background(), append([]string{"audit", "verify", "--server", server, "--state", state}, args...), strings.NewReader(""), &out, &out)
	return out.String(), code
}

// TestAuditLogVerifiesAndDetectsTampering drives a real exchange, checks the receipts
// its answers carry, verifies its log with `dx audit verify` (receipt, history,
// consistency across runs), then edits the stored log by hand in each way an insider
// could — an entry, a tile byte, the checkpoint, a rollback, rewritten and re-signed
// history — and checks that verification fails and says where.
func TestAuditLogVerifiesAndDetectsTampering(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dx process")
	}
	data, addr := t.TempDir(), freeAddr(t)
	_, out := serveProcess(t, data, addr)
	server := "http://" + addr
	token := operatorToken(out.String())
	op := client.New(server, token)

	// An answer carries the receipt of the event it committed.
	req, _ := http.NewRequest("POST", server+"/api/v1/orgs", strings.NewReader(`{"name":"回执 receipt org","roles":["consumer"]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	eventID, index := resp.Header.Get("Dx-Audit-Event"), resp.Header.Get("Dx-Audit-Index")
	if resp.StatusCode != 201 || eventID == "" || index == "" || resp.Header.Get("Dx-Audit-Leaf") == "" {
		t.Fatalf("no receipt headers: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Get(server + "/api/v1/audit/receipts/" + strings.Split(eventID, ",")[0])
	if err != nil {
		t.Fatal(err)
	}
	receipt, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(receipt, []byte(c2sp.ProofHeader)) {
		t.Fatalf("receipt: %d %s", resp.StatusCode, receipt)
	}
	receiptFile := filepath.Join(t.TempDir(), "r.tlog-proof")
	os.WriteFile(receiptFile, receipt, 0o600)

	orgs := createOrgs(t, op, "org", 300)
	checkProofEndpoints(t, server)
	state := filepath.Join(t.TempDir(), "state.json")
	text, code := verifyCLI(server, state, "--receipt", receiptFile, "--subject", orgs[7])
	if code != 0 || !strings.Contains(text, "entries match their tiles") || !strings.Contains(text, "the receipt holds") || !strings.Contains(text, "org.create") {
		t.Fatalf("verify: %d\n%s", code, text)
	}
	oldNote := fetch(t, server+"/audit/checkpoint")
	createOrgs(t, op, "more", 40)
	if text, code := verifyCLI(server, state); code != 0 || !strings.Contains(text, "consistent with the checkpoint saved earlier") {
		t.Fatalf("second verify: %d\n%s", code, text)
	}
	saved, _ := os.ReadFile(state)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "dx.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	read := func(query string, args ...any) []byte {
		var b []byte
		if err := db.QueryRow(query, args...).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	tile := func(path string) []byte { return read(`SELECT data FROM audit_tiles WHERE path = ?`, path) }
	setTile := func(path string, data []byte) {
		if _, err := db.Exec(`UPDATE audit_tiles SET data = ? WHERE path = ?`, data, path); err != nil {
			t.Fatal(err)
		}
	}
	headNote := read(`SELECT note FROM audit_head`)
	setHead := func(note []byte) {
		if _, err := db.Exec(`UPDATE audit_head SET note = ?`, note); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // the server re-reads its head each second
	}
	// Each tamper must fail verification, naming where; then the log is restored.
	mustFail := func(what string, where ...string) {
		t.Helper()
		s := filepath.Join(t.TempDir(), "state.json")
		os.WriteFile(s, saved, 0o600)
		text, code := verifyCLI(server, s)
		t.Logf("%s → %s", what, strings.TrimSpace(text[strings.LastIndex(strings.TrimSpace(text), "\n")+1:]))
		if code == 0 || !strings.Contains(text, "does NOT verify") {
			t.Fatalf("%s: verification passed:\n%s", what, text)
		}
		for _, w := range where {
			if !strings.Contains(text, w) {
				t.Fatalf("%s: the failure does not say %q:\n%s", what, w, text)
			}
		}
	}

	// An edited entry.
	bundle := tile("tile/entries/000")
	plain, _ := audit.Gunzip(bundle)
	edited, _ := audit.Gzip(bytes.Replace(plain, []byte("org.create"), []byte("org.delete"), 1))
	setTile("tile/entries/000", edited)
	mustFail("edited entry", "tile/entries/000 entry", "does not match hash")
	setTile("tile/entries/000", bundle)

	// A flipped byte in a stored (full) level-0 tile.
	orig := tile("tile/0/000")
	flipped := bytes.Clone(orig)
	flipped[len(flipped)/2] ^= 1
	setTile("tile/0/000", flipped)
	mustFail("flipped byte in tile/0/000", "tile/0/000")
	setTile("tile/0/000", orig)

	// An insider with database access drops the append-only triggers and edits a stored
	// hash (under the partial level-1 tile), then an entry of the partial bundle.
	for _, trig := range []string{"audit_entries_append_only_update", "audit_hashes_append_only_update"} {
		if _, err := db.Exec(`DROP TRIGGER ` + trig); err != nil {
			t.Fatal(err)
		}
	}
	headCP, _ := c2sp.ParseCheckpoint([]byte(strings.SplitN(string(headNote), "\n\n", 2)[0] + "\n"))
	level1 := tlog.StoredHashIndex(8, 1) // tile level 1 holds tree level 8
	hash := read(`SELECT hash FROM audit_hashes WHERE id = ?`, level1)
	db.Exec(`UPDATE audit_hashes SET hash = ? WHERE id = ?`, bytes.Repeat([]byte{7}, 32), level1)
	mustFail("edited stored hash", c2sp.TilePath(tlog.Tile{H: 8, L: 1, N: 0, W: int(headCP.Size / 256)}), "does not match the tiles below it")
	db.Exec(`UPDATE audit_hashes SET hash = ? WHERE id = ?`, hash, level1)
	last := headCP.Size - 1
	entry := read(`SELECT entry FROM audit_entries WHERE idx = ?`, last)
	db.Exec(`UPDATE audit_entries SET entry = ? WHERE idx = ?`, bytes.Replace(entry, []byte(`"action":"`), []byte(`"action":"x`), 1), last)
	mustFail("edited entry of the partial bundle", fmt.Sprintf("(log index %d)", last), "does not match hash")
	db.Exec(`UPDATE audit_entries SET entry = ? WHERE idx = ?`, entry, last)

	// An edited checkpoint (its signature no longer holds).
	setHead(bytes.Replace(headNote, []byte("\n"+strings.Split(string(headNote), "\n")[1]+"\n"), []byte("\n999999\n"), 1))
	mustFail("edited checkpoint", "checkpoint", "signature")
	// A rollback to an older, validly signed checkpoint.
	setHead(oldNote)
	mustFail("rollback", "rolled back")

	// Rewritten history: entry 5 altered, every tile rebuilt and the checkpoint re-signed
	// with the log's own key — self-consistent, but not with what auditors saw.
	rewrite(t, db, data, headNote, 5)
	time.Sleep(1100 * time.Millisecond)
	mustFail("rewritten history", "history was rewritten")
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// rewrite forges the stored log as an operator holding the log key and the database
// could (the append-only triggers already dropped): entry victim changed, every stored
// hash, tile and bundle rebuilt, a new checkpoint of the same size signed.
func rewrite(t *testing.T, db *sql.DB, data string, head []byte, victim int) {
	t.Helper()
	cp, err := c2sp.ParseCheckpoint([]byte(strings.SplitN(string(head), "\n\n", 2)[0] + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	rows, err := db.Query(`SELECT entry FROM audit_entries ORDER BY idx LIMIT ?`, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e []byte
		rows.Scan(&e)
		entries = append(entries, e)
	}
	rows.Close()
	entries[victim] = bytes.Replace(entries[victim], []byte(`"action":"`), []byte(`"action":"forged.`), 1)
	if _, err := db.Exec(`UPDATE audit_entries SET entry = ? WHERE idx = ?`, entries[victim], victim); err != nil {
		t.Fatal(err)
	}
	var hashes []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for n, e := range entries {
		h, err := tlog.StoredHashes(int64(n), e, hr)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h...)
	}
	size := int64(len(entries))
	root, _ := tlog.TreeHash(size, hr)
	for i, h := range hashes {
		if _, err := db.Exec(`UPDATE audit_hashes SET hash = ? WHERE id = ?`, h[:], i); err != nil {
			t.Fatal(err)
		}
	}
	for _, tl := range tlog.NewTiles(8, 0, size) {
		b, err := tlog.ReadTileData(tl, hr)
		if err != nil {
			t.Fatal(err)
		}
		db.Exec(`UPDATE audit_tiles SET data = ? WHERE path = ?`, b, c2sp.TilePath(tl))
	}
	for n := int64(0); n*256 < size; n++ {
		var b []byte
		for _, e := range entries[n*256 : min(size, (n+1)*256)] {
			b, _ = c2sp.AppendEntry(b, e)
		}
		if (n+1)*256 <= size { // full bundles are stored (partial ones come from the entries)
			z, _ := audit.Gzip(b)
			db.Exec(`UPDATE audit_tiles SET data = ? WHERE path = ?`, z, c2sp.TilePath(tlog.Tile{H: 8, L: -1, N: n, W: 256}))
		}
	}
	raw, _ := os.ReadFile(filepath.Join(data, "audit-log.key"))
	seed, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	signer, err := c2sp.LogSigner(cp.Origin, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := note.Sign(&note.Note{Text: string(c2sp.Checkpoint{Origin: cp.Origin, Size: size, Hash: root}.Text())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_head SET note = ?, root = ?`, forged, root[:]); err != nil {
		t.Fatal(err)
	}
}

// TestAuditLogSurvivesKill kills the server (SIGKILL) while it commits and sequences a
// burst of writes, three times, restarting it each time: afterwards every committed
// event is in the log, nothing is duplicated, and the log is consistent with the
// checkpoint an auditor saved before the first kill.
func TestAuditLogSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills dx processes")
	}
	data, addr := t.TempDir(), freeAddr(t)
	cmd, out := serveProcess(t, data, addr)
	server := "http://" + addr
	token := operatorToken(out.String())
	op := client.New(server, token)
	createOrgs(t, op, "before", 50)
	state := filepath.Join(t.TempDir(), "state.json")
	if text, code := verifyCLI(server, state); code != 0 {
		t.Fatalf("verify: %s", text)
	}
	// Every checkpoint the server publishes during the bursts is collected.
	var seenMu sync.Mutex
	seen := map[string]bool{}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go func() {
		for watchCtx.Err() == nil {
			if resp, err := http.Get(server + "/audit/checkpoint"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					seenMu.Lock()
					seen[string(b)] = true
					seenMu.Unlock()
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var acked []string
	for round := range 3 {
		done := make(chan []string)
		go func() { done <- createOrgs(t, op, fmt.Sprintf("burst%d", round), 400) }()
		time.Sleep(time.Duration(150+100*round) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		acked = append(acked, <-done...)
		cmd, _ = serveProcess(t, data, addr)
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kills")
	}
	// Every event is integrated once the restarted sequencer has caught up.
	var events, size int64
	for range 100 {
		events = countEvents(t, server, token)
		cp, err := c2sp.ParseCheckpoint([]byte(strings.SplitN(string(fetch(t, server+"/audit/checkpoint")), "\n\n", 2)[0] + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if size = cp.Size; size == events {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if size != events {
		t.Fatalf("the log has %d entries for %d events", size, events)
	}
	text, code := verifyCLI(server, state, "--subject", acked[len(acked)-1])
	if code != 0 || !strings.Contains(text, "consistent with the checkpoint saved earlier") || !strings.Contains(text, "org.create") {
		t.Fatalf("verify after the kills: %d\n%s", code, text)
	}
	// The final log is consistent with every checkpoint ever published.
	stopWatch()
	vkey := strings.TrimSpace(string(fetch(t, server+"/audit/vkey")))
	a, err := audit.VerifyLog(context.Background(), client.LogFetcher{Base: server}, audit.Trust{LogVKey: vkey}, "", 8)
	if err != nil {
		t.Fatal(err)
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	if len(seen) < 3 {
		t.Fatalf("only %d checkpoints were seen", len(seen))
	}
	for note := range seen {
		cp, _, err := audit.OpenCheckpoint([]byte(note), audit.Trust{LogVKey: vkey})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.CheckConsistency(cp); err != nil {
			t.Fatalf("a checkpoint published before a kill (size %d) is not a prefix of the log: %v", cp.Size, err)
		}
	}
}

// countEvents counts the exchange's events through the API (operator).
func countEvents(t *testing.T, server, token string) int64 {
	t.Helper()
	var n, after int64
	for {
		var page struct {
			Events []struct {
				Seq int64 `json:"seq"`
			} `json:"events"`
		}
		if err := client.New(server, token).Do(context.Background(), "GET", fmt.Sprintf("/api/v1/events?after=%d&limit=1000", after), nil, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			return n
		}
		n += int64(len(page.Events))
		after = page.Events[len(page.Events)-1].Seq
	}
}

// checkProofEndpoints checks the API's inclusion and consistency proofs against roots
// recomputed from the log's own tiles, and their refusals.
func checkProofEndpoints(t *testing.T, server string) {
	t.Helper()
	vkey := strings.TrimSpace(string(fetch(t, server+"/audit/vkey")))
	a, err := audit.VerifyLog(context.Background(), client.LogFetcher{Base: server}, audit.Trust{LogVKey: vkey}, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(server, "")
	size := a.Checkpoint.Size
	for _, q := range [][2]int64{{0, 1}, {5, 8}, {255, 256}, {256, 300}, {size - 1, size}, {3, size}} {
		var p struct {
			Root   tlog.Hash   `json:"root"`
			Hashes []tlog.Hash `json:"hashes"`
		}
		if err := c.Do(context.Background(), "GET", fmt.Sprintf("/api/v1/audit/proof?index=%d&size=%d", q[0], q[1]), nil, &p); err != nil {
			t.Fatal(err)
		}
		if p.Root != audit.RootOf(a.Leaves[:q[1]]) || tlog.CheckRecord(p.Hashes, q[1], p.Root, q[0], a.Leaves[q[0]]) != nil {
			t.Fatalf("inclusion proof %v does not verify", q)
		}
	}
	for _, q := range [][2]int64{{1, 2}, {100, 300}, {256, size}, {size, size}} {
		var p struct {
			Hashes []tlog.Hash `json:"hashes"`
		}
		if err := c.Do(context.Background(), "GET", fmt.Sprintf("/api/v1/audit/consistency?from=%d&to=%d", q[0], q[1]), nil, &p); err != nil {
			t.Fatal(err)
		}
		if q[0] < q[1] && tlog.CheckTree(p.Hashes, q[1], audit.RootOf(a.Leaves[:q[1]]), q[0], audit.RootOf(a.Leaves[:q[0]])) != nil {
			t.Fatalf("consistency proof %v does not verify", q)
		}
	}
	for _, bad := range []string{"proof?index=5&size=3", "proof?index=-1", fmt.Sprintf("proof?index=0&size=%d", size+1), "proof?index=x", "consistency?from=9&to=3"} {
		if err := c.Do(context.Background(), "GET", "/api/v1/audit/"+bad, nil, nil); dx.ErrorCode(err) != dx.EInvalid {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}
