package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx/c2sp"
)

// Fetcher reads a log's static files by their path under the log's prefix
// ("checkpoint", "tile/0/000", "tile/entries/000.p/5"); bundles come uncompressed.
type Fetcher interface {
	Fetch(ctx context.Context, path string) ([]byte, error)
}

// Trust is what an auditor trusts: the log's key, and the witnesses whose cosignatures
// a checkpoint needs (Quorum of them).
type Trust struct {
	LogVKey   string
	Witnesses []string // cosigner verifier keys (type 0x04)
	Quorum    int
}

// Audit is a full verification's outcome.
type Audit struct {
	Checkpoint c2sp.Checkpoint
	Note       []byte   // the checkpoint as fetched, signatures included
	Cosigners  []string // witnesses whose cosignatures verified
	Leaves     []tlog.Hash
	Matches    []Indexed // the entries about the subject asked for, in log order

	subject string
	mu      sync.Mutex
}

// Indexed is an entry with its log index.
type Indexed struct {
	Index int64
	Entry Entry
}

// VerifyError says what failed and where.
type VerifyError struct {
	Where string // e.g. "tile/entries/004.p/12 entry 1036"
	What  string
}

func (e *VerifyError) Error() string { return e.Where + ": " + e.What }

func fail(where, format string, args ...any) error {
	return &VerifyError{Where: where, What: fmt.Sprintf(format, args...)}
}

// OpenCheckpoint verifies a signed checkpoint: the log's signature is required, and
// Quorum of the trusted witnesses' cosignatures.
func OpenCheckpoint(raw []byte, trust Trust) (c2sp.Checkpoint, []string, error) {
	lv, err := note.NewVerifier(trust.LogVKey)
	if err != nil {
		return c2sp.Checkpoint{}, nil, fmt.Errorf("log verifier key: %w", err)
	}
	verifiers := []note.Verifier{lv}
	for _, w := range trust.Witnesses {
		v, err := c2sp.NewCosignatureVerifier(w)
		if err != nil {
			return c2sp.Checkpoint{}, nil, fmt.Errorf("witness verifier key: %w", err)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open(raw, note.VerifierList(verifiers...))
	if err != nil {
		return c2sp.Checkpoint{}, nil, fail("checkpoint", "signature check failed: %v", err)
	}
	var logSigned bool
	var cosigners []string
	for _, s := range n.Sigs {
		if s.Name == lv.Name() && s.Hash == lv.KeyHash() {
			logSigned = true
		} else if !slices.Contains(cosigners, s.Name) {
			cosigners = append(cosigners, s.Name)
		}
	}
	if !logSigned {
		return c2sp.Checkpoint{}, nil, fail("checkpoint", "not signed by the log key %s", lv.Name())
	}
	if len(cosigners) < trust.Quorum {
		return c2sp.Checkpoint{}, nil, fail("checkpoint", "cosigned by %d trusted witnesses, the policy needs %d", len(cosigners), trust.Quorum)
	}
	cp, err := c2sp.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return cp, nil, fail("checkpoint", "%v", err)
	}
	if cp.Origin != lv.Name() {
		return cp, nil, fail("checkpoint", "origin %q is not the log key's name %q", cp.Origin, lv.Name())
	}
	return cp, cosigners, nil
}

// VerifyLog fetches a log's checkpoint and every tile and bundle it implies, and checks
// them all: the signatures, each entry against its level-0 tile hash, each higher tile
// against the tiles below, and the root recomputed from the entries against the signed
// root. Any mismatch is a *VerifyError naming the tile and entry. Entries about subject
// (or with that event ID), if not "", are kept in Matches.
func VerifyLog(ctx context.Context, f Fetcher, trust Trust, subject string, workers int) (*Audit, error) {
	a := &Audit{subject: subject}
	raw, err := f.Fetch(ctx, "checkpoint")
	if err != nil {
		return a, err
	}
	cp, cosigners, err := OpenCheckpoint(raw, trust)
	if err != nil {
		return a, err
	}
	a.Checkpoint, a.Note, a.Cosigners = cp, raw, cosigners
	const w = 1 << c2sp.TileHeight
	bundles := (cp.Size + w - 1) / w
	a.Leaves = make([]tlog.Hash, cp.Size)
	if workers < 1 {
		workers = 8
	}
	jobs := make(chan int64)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				if err := a.verifyBundle(ctx, f, n, cp.Size); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for n := range bundles {
			select {
			case jobs <- n:
			case <-ctx.Done():
				return
			}
			if len(errs) > 0 {
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := firstError(errs); err != nil {
		return a, err
	}
	if err := verifyUpperTiles(ctx, f, a.Leaves); err != nil {
		return a, err
	}
	if root := RootOf(a.Leaves); root != cp.Hash {
		return a, fail("checkpoint", "the entries produce root %s, the checkpoint signs %s", root, cp.Hash)
	}
	slices.SortFunc(a.Matches, func(x, y Indexed) int { return int(x.Index - y.Index) })
	return a, nil
}

// firstError returns the error of the earliest tile among errs.
func firstError(errs <-chan error) error {
	var first error
	for err := range errs {
		if first == nil || err.Error() < first.Error() {
			first = err
		}
	}
	return first
}

// verifyBundle checks bundle n and its level-0 tile, and records the leaves.
func (a *Audit) verifyBundle(ctx context.Context, f Fetcher, n, size int64) error {
	const w = 1 << c2sp.TileHeight
	width := int(min(size-n*w, w))
	tile := tlog.Tile{H: c2sp.TileHeight, L: 0, N: n, W: width}
	tpath := c2sp.TilePath(tile)
	data, err := f.Fetch(ctx, tpath)
	if err != nil {
		return fail(tpath, "%v", err)
	}
	if len(data) != width*tlog.HashSize {
		return fail(tpath, "%d bytes, want %d", len(data), width*tlog.HashSize)
	}
	tile.L = -1
	bpath := c2sp.TilePath(tile)
	raw, err := f.Fetch(ctx, bpath)
	if err != nil {
		return fail(bpath, "%v", err)
	}
	entries, err := c2sp.ReadBundle(raw)
	if err != nil {
		return fail(bpath, "%v", err)
	}
	if len(entries) != width {
		return fail(bpath, "%d entries, want %d", len(entries), width)
	}
	for i, e := range entries {
		idx := n*w + int64(i)
		leaf := tlog.RecordHash(e)
		var want tlog.Hash
		copy(want[:], data[i*tlog.HashSize:])
		if leaf != want {
			return fail(fmt.Sprintf("%s entry %d (log index %d)", bpath, i, idx), "the entry does not match hash %d of %s: the entry or the tile was changed", i, tpath)
		}
		a.Leaves[idx] = leaf
		if a.subject != "" && bytes.Contains(e, []byte(a.subject)) {
			parsed, err := ParseEntry(e)
			if err != nil {
				return fail(fmt.Sprintf("%s entry %d (log index %d)", bpath, i, idx), "not a dx entry: %v", err)
			}
			if parsed.Subject == a.subject || parsed.ID == a.subject {
				a.mu.Lock()
				a.Matches = append(a.Matches, Indexed{Index: idx, Entry: parsed})
				a.mu.Unlock()
			}
		}
	}
	return nil
}

// verifyUpperTiles recomputes every tile above level 0 from the leaves and compares.
func verifyUpperTiles(ctx context.Context, f Fetcher, leaves []tlog.Hash) error {
	const w = 1 << c2sp.TileHeight
	level := leaves
	for l := 1; len(level) >= w; l++ {
		next := make([]tlog.Hash, len(level)/w)
		for i := range next {
			next[i] = RootOf(level[i*w : (i+1)*w])
		}
		for n := int64(0); n*w < int64(len(next)); n++ {
			width := int(min(int64(len(next))-n*w, w))
			path := c2sp.TilePath(tlog.Tile{H: c2sp.TileHeight, L: l, N: n, W: width})
			data, err := f.Fetch(ctx, path)
			if err != nil {
				return fail(path, "%v", err)
			}
			for i := range width {
				if len(data) != width*tlog.HashSize || [32]byte(data[i*tlog.HashSize:(i+1)*tlog.HashSize]) != next[n*w+int64(i)] {
					return fail(path, "hash %d does not match the tiles below it", i)
				}
			}
		}
		level = next
	}
	return nil
}

// RootOf is the RFC 6962 Merkle tree hash of leaf hashes.
func RootOf(leaves []tlog.Hash) tlog.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return tlog.NodeHash(RootOf(leaves[:k]), RootOf(leaves[k:]))
}

// CheckConsistency checks that a checkpoint saved earlier describes a prefix of the
// audited log (same origin, not larger, same root at its size).
func (a *Audit) CheckConsistency(prev c2sp.Checkpoint) error {
	switch {
	case prev.Origin != a.Checkpoint.Origin:
		return fail("saved checkpoint", "origin %q, the log's is %q", prev.Origin, a.Checkpoint.Origin)
	case prev.Size > a.Checkpoint.Size:
		return fail("checkpoint", "size %d is smaller than the %d saved earlier: the log was rolled back", a.Checkpoint.Size, prev.Size)
	}
	if root := RootOf(a.Leaves[:prev.Size]); root != prev.Hash {
		return fail(fmt.Sprintf("log entries 0..%d", prev.Size-1), "they no longer produce the root saved earlier: history was rewritten (a fork)")
	}
	return nil
}

// CheckReceipt verifies a receipt (c2sp.org/tlog-proof@v1) against the audited log: its
// checkpoint is signed by the log, its proof includes the log's entry at its index, and
// its tree is a prefix of the audited one. It returns the receipt's log index.
func (a *Audit) CheckReceipt(receipt []byte, trust Trust) (int64, error) {
	p, err := c2sp.ParseProof(receipt)
	if err != nil {
		return 0, fail("receipt", "%v", err)
	}
	cp, _, err := OpenCheckpoint(p.Checkpoint, Trust{LogVKey: trust.LogVKey})
	if err != nil {
		return 0, fail("receipt", "%v", err)
	}
	if cp.Size > a.Checkpoint.Size || p.Index >= cp.Size {
		return 0, fail("receipt", "index %d in size %d is beyond the log's size %d", p.Index, cp.Size, a.Checkpoint.Size)
	}
	if err := tlog.CheckRecord(p.Hashes, cp.Size, cp.Hash, p.Index, a.Leaves[p.Index]); err != nil {
		return 0, fail(fmt.Sprintf("receipt for log index %d", p.Index), "the log's entry is not included: %v", err)
	}
	if RootOf(a.Leaves[:cp.Size]) != cp.Hash {
		return 0, fail("receipt", "its checkpoint (size %d) is not a prefix of the log", cp.Size)
	}
	return p.Index, nil
}

// EntryAt fetches and parses the entry at index of a log of the given size.
func EntryAt(ctx context.Context, f Fetcher, index, size int64) (Entry, error) {
	const w = 1 << c2sp.TileHeight
	n := index / w
	path := c2sp.TilePath(tlog.Tile{H: c2sp.TileHeight, L: -1, N: n, W: int(min(size-n*w, w))})
	raw, err := f.Fetch(ctx, path)
	if err != nil {
		return Entry{}, err
	}
	entries, err := c2sp.ReadBundle(raw)
	if err != nil || int64(len(entries)) <= index-n*w {
		return Entry{}, fail(path, "no entry %d", index-n*w)
	}
	return ParseEntry(entries[index-n*w])
}
