package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/c2sp"
)

// LogState is the log's durable head: its size, root and the signed checkpoint for them.
type LogState struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	Note   []byte // the log-signed checkpoint of Size and Root; nil before the first batch
}

// Pending is an event's entry waiting to be integrated.
type Pending struct {
	ID      int64 // order of arrival
	EventID string
	Entry   []byte
	Leaf    tlog.Hash
}

// Integrated is an entry with its log index.
type Integrated struct {
	Index   int64
	EventID string
	Entry   []byte
	Leaf    tlog.Hash
}

// Batch is what one sequencing step writes.
type Batch struct {
	Entries []Integrated
	Hashes  map[int64]tlog.Hash // new stored hashes by stored-hash index
	Tiles   map[string][]byte   // full tiles and bundles by path (bundles gzip-compressed)
	Old     LogState            // the head the batch extends (compare-and-set)
	New     LogState
	Pending []int64 // IDs of the pending rows integrated
}

// TreeReader reads the stored tree inside a sequencing transaction.
type TreeReader interface {
	ReadHashes(indexes []int64) ([]tlog.Hash, error)
	// ReadEntries returns the integrated entries with indexes in [start, end).
	ReadEntries(start, end int64) ([][]byte, error)
}

// LogStore is the persistence port of the Merkle log.
type LogStore interface {
	// Integrate runs one sequencing step in one transaction: it loads the head (a zero
	// state with origin if the log is empty) and up to max pending entries in arrival
	// order, calls build, and writes the batch: entries, hashes and tiles, the head by
	// compare-and-set from b.Old (EConflict if another sequencer moved it), and the
	// pending rows deleted. It returns the number integrated (0 if none was pending).
	Integrate(ctx context.Context, origin string, max int, build func(LogState, []Pending, TreeReader) (Batch, error)) (int, error)
	// LogHead returns the durable head (zero Size and nil Note if nothing is integrated).
	LogHead(ctx context.Context) (LogState, error)
	// LogHashes reads stored hashes (for proofs).
	LogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// LogTile returns a stored full tile or bundle by its path (ENotFound if absent).
	LogTile(ctx context.Context, path string) ([]byte, error)
	// LogEntries returns the integrated entries with indexes in [start, end).
	LogEntries(ctx context.Context, start, end int64) ([][]byte, error)
	// LogIndex returns an integrated event's index and leaf hash (ENotFound if the event
	// is not integrated yet).
	LogIndex(ctx context.Context, eventID string) (int64, tlog.Hash, error)
	// Changes returns a channel closed when this process next commits an audit event
	// about subject, or about anything with AnySubject.
	Changes(subject string) <-chan struct{}
}

// Linger is how long the sequencer waits, once woken by a commit, for others to join
// the batch.
const Linger = 2 * time.Millisecond

// AnySubject watches every committed event.
const AnySubject = "*"

// Sequencer integrates pending entries into the log in batches and signs a checkpoint
// for each. Only one sequencer may run per log; two would fail each other's
// compare-and-set rather than fork the log.
type Sequencer struct {
	Store    LogStore
	Origin   string      // the log's identity, e.g. dx.example.cn/audit
	Signer   note.Signer // the log key (its name is the origin)
	VKey     string      // the log key's verifier key
	MaxBatch int         // entries per batch (default 1024)
	Log      *slog.Logger
	// Published, if set, returns the newest checkpoint cosigned by a quorum of
	// witnesses; receipts are given against it when it covers the entry.
	Published func(ctx context.Context) (int64, []byte, error)

	mu     sync.Mutex
	head   LogState      // the newest head this process knows
	notify chan struct{} // closed when head advances

	// recent holds the newest stored hashes, from index recentBase on, as this
	// sequencer wrote them: a batch reads the right edge of the tree from here rather
	// than from the database. Only the sequencer touches it.
	recent     []tlog.Hash
	recentBase int64
	pending    []tlog.Hash // the hashes of the batch being built, in index order
}

// recentMax bounds the hashes kept in memory (2 MiB).
const recentMax = 1 << 16

// Head returns the newest checkpoint this process has integrated or read.
func (s *Sequencer) Head() LogState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head
}

// Load reads the durable head and checks that it belongs to this log and key.
func (s *Sequencer) Load(ctx context.Context) error {
	h, err := s.Store.LogHead(ctx)
	if err != nil {
		return err
	}
	if h.Note != nil {
		if h.Origin != s.Origin {
			return dx.Errorf(dx.EConflict, "审计日志的 origin 是 %q，配置为 %q / the audit log's origin is %q, not the configured %q (an origin never changes)", h.Origin, s.Origin, h.Origin, s.Origin)
		}
		v, err := note.NewVerifier(s.VKey)
		if err != nil {
			return err
		}
		if _, err := note.Open(h.Note, note.VerifierList(v)); err != nil {
			return dx.Errorf(dx.EConflict, "审计日志的检查点不是本日志密钥签署的 / the stored checkpoint was not signed by this log key: %v", err)
		}
	}
	s.advance(h)
	s.recent, s.recentBase = nil, tlog.StoredHashCount(h.Size)
	return nil
}

func (s *Sequencer) advance(h LogState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify == nil {
		s.notify = make(chan struct{})
	}
	if h.Size >= s.head.Size {
		s.head = h
		close(s.notify)
		s.notify = make(chan struct{})
	}
}

// advanced returns a channel closed when the head next advances.
func (s *Sequencer) advanced() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify == nil {
		s.notify = make(chan struct{})
	}
	return s.notify
}

// Step integrates one batch and returns how many entries it took.
func (s *Sequencer) Step(ctx context.Context) (int, error) {
	max := s.MaxBatch
	if max <= 0 {
		max = 1024
	}
	var head LogState
	n, err := s.Store.Integrate(ctx, s.Origin, max, func(st LogState, pending []Pending, r TreeReader) (Batch, error) {
		b, err := s.build(st, pending, r)
		head = b.New
		return b, err
	})
	if err != nil {
		s.recent, s.recentBase = nil, tlog.StoredHashCount(s.Head().Size) // unknown state: read afresh
		return 0, err
	}
	if n > 0 {
		s.remember(head.Size)
		s.advance(head)
	}
	return n, nil
}

// remember keeps the hashes of the batch just committed (they continue the window).
func (s *Sequencer) remember(size int64) {
	s.recent = append(s.recent, s.pending...)
	s.pending = nil
	if len(s.recent) > recentMax {
		drop := len(s.recent) - recentMax/2
		s.recent = append([]tlog.Hash(nil), s.recent[drop:]...)
		s.recentBase += int64(drop)
	}
	if s.recentBase+int64(len(s.recent)) != tlog.StoredHashCount(size) { // not contiguous: start afresh
		s.recent, s.recentBase = nil, tlog.StoredHashCount(size)
	}
}

// Run integrates whatever is pending whenever an event commits (and at least every
// interval, for events written by other replicas), until ctx ends.
func (s *Sequencer) Run(ctx context.Context, interval time.Duration) {
	for ctx.Err() == nil {
		wake := s.Store.Changes(AnySubject)
		n, err := s.Step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.Log.Error("audit log: sequencing failed", "err", err)
			if dx.ErrorCode(err) == dx.EConflict { // another sequencer moved the head: reload
				if err := s.Load(ctx); err != nil {
					s.Log.Error("audit log: cannot reload the head", "err", err)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(interval):
			}
			continue
		}
		if n > 0 {
			continue // more may be pending
		}
		select {
		case <-ctx.Done():
		case <-wake:
			// Let commits arriving together share one batch (and one signature and one
			// transaction); a lone event waits this long more for its checkpoint.
			time.Sleep(Linger)
		case <-time.After(interval):
		}
	}
}

// build computes a batch: stored hashes for each new leaf, the new root, the signed
// checkpoint, the new hash tiles and entry bundles (tlog-tiles), all from the stored tree
// plus the new hashes.
func (s *Sequencer) build(st LogState, pending []Pending, r TreeReader) (Batch, error) {
	if st.Note == nil {
		st = LogState{Origin: s.Origin, Root: c2sp.EmptyRoot}
	}
	b := Batch{Old: st, Hashes: map[int64]tlog.Hash{}, Tiles: map[string][]byte{}}
	recentEnd := s.recentBase + int64(len(s.recent))
	if st.Note == nil || recentEnd != tlog.StoredHashCount(st.Size) {
		s.recent, s.recentBase, recentEnd = nil, tlog.StoredHashCount(st.Size), tlog.StoredHashCount(st.Size)
	}
	known := func(x int64) (tlog.Hash, bool) {
		if h, ok := b.Hashes[x]; ok {
			return h, true
		}
		if x >= s.recentBase && x < recentEnd {
			return s.recent[x-s.recentBase], true
		}
		return tlog.Hash{}, false
	}
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		var missing []int64
		for i, x := range idx {
			if h, ok := known(x); ok {
				out[i] = h
			} else {
				missing = append(missing, x)
			}
		}
		if len(missing) > 0 {
			got, err := r.ReadHashes(missing)
			if err != nil {
				return nil, err
			}
			j := 0
			for i, x := range idx {
				if _, ok := known(x); !ok {
					out[i] = got[j]
					j++
				}
			}
		}
		return out, nil
	})
	old := st.Size
	for i, p := range pending {
		n := old + int64(i)
		hashes, err := tlog.StoredHashesForRecordHash(n, p.Leaf, hr)
		if err != nil {
			return b, err
		}
		base := tlog.StoredHashIndex(0, n)
		for j, h := range hashes {
			b.Hashes[base+int64(j)] = h
		}
		b.Entries = append(b.Entries, Integrated{Index: n, EventID: p.EventID, Entry: p.Entry, Leaf: p.Leaf})
		b.Pending = append(b.Pending, p.ID)
	}
	size := old + int64(len(pending))
	s.pending = s.pending[:0]
	for x := tlog.StoredHashCount(old); x < tlog.StoredHashCount(size); x++ {
		s.pending = append(s.pending, b.Hashes[x])
	}
	root, err := tlog.TreeHash(size, hr)
	if err != nil {
		return b, err
	}
	signed, err := note.Sign(&note.Note{Text: string(c2sp.Checkpoint{Origin: s.Origin, Size: size, Hash: root}.Text())}, s.Signer)
	if err != nil {
		return b, err
	}
	b.New = LogState{Origin: s.Origin, Size: size, Root: root, Note: signed}
	for _, t := range tlog.NewTiles(c2sp.TileHeight, old, size) {
		if t.W < 1<<c2sp.TileHeight {
			continue // partial tiles are computed when asked for (ReadTile)
		}
		data, err := tlog.ReadTileData(t, hr)
		if err != nil {
			return b, err
		}
		b.Tiles[c2sp.TilePath(t)] = data
	}
	if err := s.bundles(&b, old, size, r); err != nil {
		return b, err
	}
	return b, nil
}

// bundles writes the entry bundles the batch completes, gzip-compressed; partial
// bundles are assembled when asked for (ReadTile).
func (s *Sequencer) bundles(b *Batch, old, size int64, r TreeReader) error {
	const w = 1 << c2sp.TileHeight
	for n := old / w; (n+1)*w <= size; n++ {
		start := n * w
		var entries [][]byte
		if old > start { // integrated by earlier batches
			prior, err := r.ReadEntries(start, old)
			if err != nil {
				return err
			}
			if int64(len(prior)) != old-start {
				return fmt.Errorf("audit log: entries %d..%d are missing", start, old-1)
			}
			entries = prior
		}
		for i := max(old, start); i < start+w; i++ {
			entries = append(entries, b.Entries[i-old].Entry)
		}
		var bundle []byte
		for _, e := range entries {
			var err error
			if bundle, err = c2sp.AppendEntry(bundle, e); err != nil {
				return err
			}
		}
		z, err := Gzip(bundle)
		if err != nil {
			return err
		}
		b.Tiles[c2sp.TilePath(tlog.Tile{H: c2sp.TileHeight, L: -1, N: n, W: w})] = z
	}
	return nil
}

// ReadTile returns a tile or bundle of the log whose checkpoint has the given size: a
// full one as stored, a partial one computed from the stored hashes or entries. A tile
// beyond that size is ENotFound. Bundles come uncompressed.
func ReadTile(ctx context.Context, st LogStore, path string, size int64) ([]byte, error) {
	t, err := c2sp.ParseTilePath(path)
	if err != nil {
		return nil, dx.Errorf(dx.ENotFound, "不是瓦片路径 / not a tile path: %s", path)
	}
	level := max(t.L, 0)
	span := int64(1) << (c2sp.TileHeight * level) // entries under one hash of the tile
	end := (t.N<<c2sp.TileHeight + int64(t.W)) * span
	if end > size {
		return nil, dx.Errorf(dx.ENotFound, "瓦片超出日志大小 / tile %s is beyond the log's size %d", path, size)
	}
	if t.W == 1<<c2sp.TileHeight {
		data, err := st.LogTile(ctx, path)
		if err != nil {
			return nil, err
		}
		if t.L == -1 {
			return Gunzip(data)
		}
		return data, nil
	}
	if t.L == -1 {
		entries, err := st.LogEntries(ctx, t.N<<c2sp.TileHeight, end)
		if err != nil {
			return nil, err
		}
		var bundle []byte
		for _, e := range entries {
			if bundle, err = c2sp.AppendEntry(bundle, e); err != nil {
				return nil, err
			}
		}
		return bundle, nil
	}
	return tlog.ReadTileData(t, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return st.LogHashes(ctx, idx) }))
}

// Gzip compresses a bundle as it is stored and served.
func Gzip(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Gunzip decompresses a stored bundle.
func Gunzip(z []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Receipt is where an event landed in the log.
type Receipt struct {
	EventID string    `json:"event_id"`
	Index   int64     `json:"index"`
	Leaf    tlog.Hash `json:"leaf_hash"`
}

// Await waits until every event in ids is integrated and returns their receipts, or
// returns ctx's error (the events stay pending and will be integrated).
func (s *Sequencer) Await(ctx context.Context, ids []string) ([]Receipt, error) {
	out := make([]Receipt, 0, len(ids))
	for _, id := range ids {
		for {
			advanced := s.advanced()
			idx, leaf, err := s.Store.LogIndex(ctx, id)
			if err == nil {
				out = append(out, Receipt{EventID: id, Index: idx, Leaf: leaf})
				break
			}
			if dx.ErrorCode(err) != dx.ENotFound {
				return out, err
			}
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-advanced:
			case <-time.After(200 * time.Millisecond): // another replica may be sequencing
			}
		}
	}
	return out, nil
}

// hashReader reads stored hashes for proofs.
func (s *Sequencer) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.Store.LogHashes(ctx, idx) })
}

// ProveInclusion returns the inclusion proof of entry index in the tree of size size.
func (s *Sequencer) ProveInclusion(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	head, err := s.Store.LogHead(ctx)
	if err != nil {
		return nil, err
	}
	if size < 1 || size > head.Size || index < 0 || index >= size {
		return nil, dx.Errorf(dx.EInvalid, "需要 0 ≤ index < size ≤ %d / need 0 ≤ index < size ≤ %d (the log's size)", head.Size, head.Size)
	}
	return tlog.ProveRecord(size, index, s.hashReader(ctx))
}

// ProveConsistency returns the proof that the tree of size from is a prefix of the tree
// of size to (empty when from is 0 or equals to).
func (s *Sequencer) ProveConsistency(ctx context.Context, from, to int64) (tlog.TreeProof, error) {
	head, err := s.Store.LogHead(ctx)
	if err != nil {
		return nil, err
	}
	if from < 0 || from > to || to > head.Size {
		return nil, dx.Errorf(dx.EInvalid, "需要 0 ≤ from ≤ to ≤ %d / need 0 ≤ from ≤ to ≤ %d (the log's size)", head.Size, head.Size)
	}
	if from == 0 || from == to {
		return tlog.TreeProof{}, nil
	}
	return tlog.ProveTree(to, from, s.hashReader(ctx))
}

// TreeRoot returns the root of the tree of size n (n ≤ the log's size).
func (s *Sequencer) TreeRoot(ctx context.Context, n int64) (tlog.Hash, error) {
	if n == 0 {
		return c2sp.EmptyRoot, nil
	}
	return tlog.TreeHash(n, s.hashReader(ctx))
}

// ReceiptFor returns an integrated event's receipt (c2sp.org/tlog-proof@v1) against the
// durable head's checkpoint.
func (s *Sequencer) ReceiptFor(ctx context.Context, eventID string) ([]byte, error) {
	idx, _, err := s.Store.LogIndex(ctx, eventID)
	if err != nil {
		return nil, err
	}
	head, err := s.Store.LogHead(ctx)
	if err != nil {
		return nil, err
	}
	size, cp := head.Size, head.Note
	if s.Published != nil {
		psize, pnote, err := s.Published(ctx)
		if err != nil {
			return nil, err
		}
		if pnote != nil && idx < psize {
			size, cp = psize, pnote
		}
	}
	proof, err := tlog.ProveRecord(size, idx, s.hashReader(ctx))
	if err != nil {
		return nil, err
	}
	return c2sp.Proof{Index: idx, Hashes: proof, Checkpoint: cp}.Format(), nil
}
