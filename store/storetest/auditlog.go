package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
	"github.com/dxexchange/dx/store"
)

// newSequencer returns a sequencer of a fresh log key for s.
func newSequencer(t *testing.T, s store.Store, batch int) *audit.Sequencer {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	origin := "dx.test/audit"
	signer, err := c2sp.LogSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	seq := &audit.Sequencer{Store: s, Origin: origin, Signer: signer, VKey: c2sp.VKey(origin, c2sp.TypeEd25519, pub), MaxBatch: batch,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := seq.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return seq
}

func drain(t *testing.T, seq *audit.Sequencer) int {
	t.Helper()
	steps := 0
	for {
		n, err := seq.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return steps
		}
		steps++
	}
}

// storedTiles reads tiles from the store for tlog.TileHashReader.
type storedTiles struct {
	ctx context.Context
	s   store.Store
}

func (r storedTiles) Height() int { return c2sp.TileHeight }
func (r storedTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	head, err := r.s.LogHead(r.ctx)
	if err != nil {
		return nil, err
	}
	for i, t := range tiles {
		data, err := audit.ReadTile(r.ctx, r.s, c2sp.TilePath(t), head.Size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c2sp.TilePath(t), err)
		}
		out[i] = data
	}
	return out, nil
}
func (r storedTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// testAuditLog: events written in transactions of varying sizes are integrated in
// batches; the stored tree, tiles, bundles, proofs and receipts agree with two
// independent RFC 6962 implementations (x/mod's tlog and transparency-dev/merkle); a
// rolled-back event never enters; a stale head is refused by compare-and-set; the
// entries are append-only.
func testAuditLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	seq := newSequencer(t, s, 100)
	var ids []string
	for i := 0; len(ids) < 700; i++ {
		var batch []dx.Event
		for range 1 + i%37 {
			e := ev("log.test", fmt.Sprintf("subject-%d", len(ids)%13))
			batch = append(batch, e)
			ids = append(ids, e.ID)
		}
		if err := s.RecordEvents(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			drain(t, seq)
		}
	}
	lost := ev("log.rolled-back", "nobody")
	s.Atomically(ctx, func(ctx context.Context) error {
		s.RecordEvents(ctx, []dx.Event{lost})
		return errors.New("roll back")
	})
	drain(t, seq)
	head, err := s.LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Size < int64(len(ids)) || seq.Head().Size != head.Size {
		t.Fatalf("head size %d, want ≥ %d", head.Size, len(ids))
	}
	if _, _, err := s.LogIndex(ctx, lost.ID); dx.ErrorCode(err) != dx.ENotFound {
		t.Fatalf("a rolled-back event is in the log: %v", err)
	}
	// Entries from the bundles, checked against the level-0 tiles; a reference tree.
	ref := testonly.New(rfc6962.DefaultHasher)
	var leaves []tlog.Hash
	for n := int64(0); n*256 < head.Size; n++ {
		w := int(min(head.Size-n*256, 256))
		raw, err := audit.ReadTile(ctx, s, c2sp.TilePath(tlog.Tile{H: 8, L: -1, N: n, W: w}), head.Size)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := c2sp.ReadBundle(raw)
		if err != nil || len(entries) != w {
			t.Fatalf("bundle %d: %d entries, %v", n, len(entries), err)
		}
		tile, err := audit.ReadTile(ctx, s, c2sp.TilePath(tlog.Tile{H: 8, L: 0, N: n, W: w}), head.Size)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			leaf := tlog.RecordHash(e)
			if [32]byte(tile[i*32:(i+1)*32]) != leaf {
				t.Fatalf("entry %d does not match its tile", n*256+int64(i))
			}
			leaves = append(leaves, leaf)
			ref.AppendData(e)
		}
	}
	if [32]byte(ref.Hash()) != head.Root || audit.RootOf(leaves) != head.Root {
		t.Fatal("the stored root is not the RFC 6962 root of the entries")
	}
	if _, _, err := audit.OpenCheckpoint(head.Note, audit.Trust{LogVKey: seq.VKey}); err != nil {
		t.Fatal(err)
	}
	// A partial tile of an earlier size is still served (computed), and equals the
	// prefix of the full tile; a tile beyond the log is not.
	early, err := audit.ReadTile(ctx, s, "tile/0/000.p/100", head.Size)
	full, _ := audit.ReadTile(ctx, s, "tile/0/000", head.Size)
	if err != nil || len(early) != 100*32 || string(early) != string(full[:100*32]) {
		t.Fatalf("partial tile of an earlier size: %v", err)
	}
	if _, err := audit.ReadTile(ctx, s, c2sp.TilePath(tlog.Tile{H: 8, L: 0, N: head.Size/256 + 1, W: 1}), head.Size); dx.ErrorCode(err) != dx.ENotFound {
		t.Fatalf("a tile beyond the log: %v", err)
	}
	// Proofs both ways, including through the stored tiles.
	thr := tlog.TileHashReader(tlog.Tree{N: head.Size, Hash: head.Root}, storedTiles{ctx, s})
	for _, size := range []int64{1, 2, 3, 255, 256, 257, 511, 512, 600, head.Size} {
		if size > head.Size {
			continue
		}
		root := ref.HashAt(uint64(size))
		for index := int64(0); index < size; index += 1 + size/7 {
			p, err := seq.ProveInclusion(ctx, index, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(size), leaves[index][:], toBytes(p), root); err != nil {
				t.Fatalf("merkle rejects dx's inclusion proof %d/%d: %v", index, size, err)
			}
			rp, err := ref.InclusionProof(uint64(index), uint64(size))
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(toHashes(rp), size, tlog.Hash(root), index, leaves[index]); err != nil {
				t.Fatalf("tlog rejects merkle's inclusion proof %d/%d: %v", index, size, err)
			}
			if size == head.Size {
				tp, err := tlog.ProveRecord(size, index, thr)
				if err != nil || tlog.CheckRecord(tp, size, head.Root, index, leaves[index]) != nil {
					t.Fatalf("proof through the stored tiles %d/%d: %v", index, size, err)
				}
			}
		}
		for _, from := range []int64{0, 1, size / 2, size} {
			p, err := seq.ProveConsistency(ctx, from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(size), toBytes(p), ref.HashAt(uint64(from)), root); err != nil {
				t.Fatalf("merkle rejects dx's consistency proof %d→%d: %v", from, size, err)
			}
		}
	}
	// A receipt verifies offline.
	receipt, err := seq.ReceiptFor(ctx, ids[123])
	if err != nil {
		t.Fatal(err)
	}
	rp, err := c2sp.ParseProof(receipt)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, err := audit.OpenCheckpoint(rp.Checkpoint, audit.Trust{LogVKey: seq.VKey})
	if err != nil || tlog.CheckRecord(rp.Hashes, cp.Size, cp.Hash, rp.Index, leaves[rp.Index]) != nil {
		t.Fatalf("receipt: %v", err)
	}
	// A stale head is refused and nothing is written.
	if err := s.RecordEvents(ctx, []dx.Event{ev("log.after", "x")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Integrate(ctx, seq.Origin, 10, func(st audit.LogState, p []audit.Pending, r audit.TreeReader) (audit.Batch, error) {
		b := audit.Batch{Old: st, New: st, Hashes: map[int64]tlog.Hash{}, Tiles: map[string][]byte{}}
		b.Old.Root = tlog.RecordHash([]byte("a fork"))
		b.New.Size = st.Size + 1
		for _, x := range p {
			b.Pending = append(b.Pending, x.ID)
		}
		return b, nil
	})
	if dx.ErrorCode(err) != dx.EConflict {
		t.Fatalf("a batch from a stale head: %v", err)
	}
	if h, _ := s.LogHead(ctx); h.Size != head.Size || h.Root != head.Root {
		t.Fatal("a refused batch moved the head")
	}
	if n := drain(t, seq); n != 1 {
		t.Fatalf("the pending event was not integrated after the refused batch (%d steps)", n)
	}
	// The entries are append-only.
	if db, ok := s.(interface{ SQL() *sql.DB }); ok {
		if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_entries SET entry = entry WHERE idx = 0`); err == nil {
			t.Fatal("an audit entry was updated")
		}
		if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit_hashes WHERE id = 0`); err == nil {
			t.Fatal("a stored hash was deleted")
		}
	}
	// An event ID is logged once.
	if err := s.RecordEvents(ctx, []dx.Event{{ID: ids[0], Time: t0, Action: "dup", Subject: "x", Payload: []byte(`{}`)}}); err == nil {
		t.Fatal("a duplicate event ID was accepted")
	}
}

func toBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

func toHashes(bs [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(bs))
	for i, b := range bs {
		copy(out[i][:], b)
	}
	return out
}
