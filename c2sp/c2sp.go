// Package c2sp reads and writes the C2SP transparency-log formats dx's audit log uses:
// checkpoints (c2sp.org/tlog-checkpoint@v1.0.0), tile paths and entry bundles
// (c2sp.org/tlog-tiles, v0.1.0 text), timestamped Ed25519 cosignatures
// (c2sp.org/tlog-cosignature@v1.0.1), the witness's add-checkpoint request
// (c2sp.org/tlog-witness@v1.0.0) and receipts (c2sp.org/tlog-proof@v1). Signed notes
// themselves are golang.org/x/mod/sumdb/note. It is pure: no I/O.
package c2sp

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of every tile (256 hashes).
const TileHeight = 8

// Checkpoint is a log's signed statement of its size and root (the note text).
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// Text is the checkpoint's note text: origin, size, base64 root, each ending in "\n"
// (dx writes no extension lines).
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

// Tree returns the checkpoint as x/mod's tree head.
func (c Checkpoint) Tree() tlog.Tree { return tlog.Tree{N: c.Size, Hash: c.Hash} }

// ParseCheckpoint reads a checkpoint's note text (without signatures). Extension lines
// after the root are allowed and ignored.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return c, errors.New("checkpoint: text must end in a newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return c, errors.New("checkpoint: needs origin, size and root lines")
	}
	for _, l := range lines {
		if l == "" {
			return c, errors.New("checkpoint: empty line")
		}
	}
	c.Origin = lines[0]
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return c, fmt.Errorf("checkpoint: bad size %q", lines[1])
	}
	c.Size = n
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return c, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	copy(c.Hash[:], h)
	return c, nil
}

// EmptyRoot is the root of the empty tree, SHA-256 of nothing.
var EmptyRoot = tlog.Hash{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}

// TilePath is the tlog-tiles path of a tile: "tile/<L>/<N>[.p/<W>]", with L = -1 for
// entry bundles ("tile/entries/<N>…") and N in zero-padded 3-digit groups, every group
// but the last prefixed with "x". Only partial tiles (W < 256) carry ".p/<W>".
func TilePath(t tlog.Tile) string {
	level := "entries"
	if t.L >= 0 {
		level = strconv.Itoa(t.L)
	}
	var groups []string
	n := t.N
	for {
		groups = append([]string{fmt.Sprintf("%03d", n%1000)}, groups...)
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := range len(groups) - 1 {
		groups[i] = "x" + groups[i]
	}
	p := "tile/" + level + "/" + strings.Join(groups, "/")
	if t.W > 0 && t.W < 1<<TileHeight {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

// ParseTilePath reads a path written by TilePath (a full tile has W = 256).
func ParseTilePath(p string) (tlog.Tile, error) {
	bad := fmt.Errorf("not a tile path: %q", p)
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return tlog.Tile{}, bad
	}
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return tlog.Tile{}, bad
	}
	t := tlog.Tile{H: TileHeight, W: 1 << TileHeight}
	if level == "entries" {
		t.L = -1
	} else {
		l, err := strconv.Atoi(level)
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != level {
			return tlog.Tile{}, bad
		}
		t.L = l
	}
	if idx, w, ok := strings.Cut(rest, ".p/"); ok {
		width, err := strconv.Atoi(w)
		if err != nil || width < 1 || width > 255 || strconv.Itoa(width) != w {
			return tlog.Tile{}, bad
		}
		t.W, rest = width, idx
	}
	groups := strings.Split(rest, "/")
	for i, g := range groups {
		last := i == len(groups)-1
		digits, hasX := strings.CutPrefix(g, "x")
		if hasX == last || len(digits) != 3 || strings.Trim(digits, "0123456789") != "" {
			return tlog.Tile{}, bad
		}
		d, _ := strconv.Atoi(digits)
		if t.N > (1<<62)/1000 {
			return tlog.Tile{}, bad
		}
		t.N = t.N*1000 + int64(d)
	}
	if len(groups) > 1 && groups[0] == "x000" {
		return tlog.Tile{}, bad // not the canonical spelling
	}
	return t, nil
}

// MaxEntry is the largest entry a bundle can hold (a uint16 length).
const MaxEntry = 1<<16 - 1

// AppendEntry appends one entry to a bundle: a big-endian uint16 length, then the bytes.
func AppendEntry(bundle, entry []byte) ([]byte, error) {
	if len(entry) > MaxEntry {
		return bundle, fmt.Errorf("entry of %d bytes exceeds %d", len(entry), MaxEntry)
	}
	return append(append(bundle, byte(len(entry)>>8), byte(len(entry))), entry...), nil
}

// ReadBundle splits a bundle into its entries.
func ReadBundle(bundle []byte) ([][]byte, error) {
	var out [][]byte
	for len(bundle) > 0 {
		if len(bundle) < 2 {
			return nil, errors.New("bundle: truncated length")
		}
		n := int(bundle[0])<<8 | int(bundle[1])
		if len(bundle) < 2+n {
			return nil, fmt.Errorf("bundle: entry %d truncated", len(out))
		}
		out = append(out, bundle[2:2+n])
		bundle = bundle[2+n:]
	}
	return out, nil
}

// hashLines writes hashes as base64 lines.
func hashLines(b *bytes.Buffer, hashes []tlog.Hash) {
	for _, h := range hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
}

func parseHashLine(line string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(raw) != tlog.HashSize {
		return h, fmt.Errorf("bad hash line %q", line)
	}
	copy(h[:], raw)
	return h, nil
}

// LogSigner is the note signer of a log key (type 0x01; its name should be the origin).
func LogSigner(name string, key ed25519.PrivateKey) (note.Signer, error) {
	skey := "PRIVATE+KEY+" + name + "+" + fmt.Sprintf("%08x", KeyID(name, TypeEd25519, key.Public().(ed25519.PublicKey))) + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{TypeEd25519}, key.Seed()...))
	return note.NewSigner(skey)
}
