package sqldb

import (
	"context"
	"database/sql"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
)

// pendEntry writes an event's pending log entry and its private salt.
func (s *DB) pendEntry(ctx context.Context, tx *sql.Tx, e dx.Event) error {
	salt := audit.NewSalt()
	entry, leaf, err := audit.NewEntry(e, salt)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, s.q(`INSERT INTO audit_pending (event_id, entry, leaf) VALUES (?, ?, ?)`), e.ID, entry, leaf[:]); err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, s.q(`INSERT INTO audit_salts (event_id, salt) VALUES (?, ?)`), e.ID, salt)
	return err
}

// BackfillAudit gives the events written before the audit log existed their pending
// entries, in batches, then forgets the mark the migration left.
func (s *DB) BackfillAudit(ctx context.Context) (int, error) {
	total := 0
	for {
		var upto int64
		err := s.conn(ctx).QueryRowContext(ctx, `SELECT upto FROM audit_backfill`).Scan(&upto)
		if err == sql.ErrNoRows {
			return total, nil
		}
		if err != nil {
			return total, s.mapErr(err)
		}
		n := 0
		err = s.tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, s.q(`SELECT id, time, actor, token_id, action, subject, payload FROM events e
				WHERE seq <= ? AND NOT EXISTS (SELECT 1 FROM audit_salts a WHERE a.event_id = e.id) ORDER BY seq LIMIT 1000`), upto)
			if err != nil {
				return err
			}
			var events []dx.Event
			for rows.Next() {
				var e dx.Event
				var t int64
				var payload string
				if err := rows.Scan(&e.ID, &t, &e.Actor, &e.TokenID, &e.Action, &e.Subject, &payload); err != nil {
					rows.Close()
					return err
				}
				e.Time, e.Payload = fromMicros(t), []byte(payload)
				events = append(events, e)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, e := range events {
				if err := s.pendEntry(ctx, tx, e); err != nil {
					return err
				}
			}
			n = len(events)
			if n == 0 {
				_, err = tx.ExecContext(ctx, `DELETE FROM audit_backfill`)
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

func (s *DB) logHead(ctx context.Context, q querier) (audit.LogState, error) {
	var h audit.LogState
	var root []byte
	err := s.queryRow(ctx, q, s.q(`SELECT origin, size, root, note FROM audit_head WHERE id = 1`)).Scan(&h.Origin, &h.Size, &root, &h.Note)
	if err == sql.ErrNoRows {
		return audit.LogState{}, nil
	}
	copy(h.Root[:], root)
	return h, s.mapErr(err)
}

// LogHead returns the durable head of the audit log.
func (s *DB) LogHead(ctx context.Context) (audit.LogState, error) { return s.logHead(ctx, s.conn(ctx)) }

func (s *DB) readHashes(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	args := make([]any, len(indexes))
	for i, x := range indexes {
		args[i] = x
	}
	rows, err := q.QueryContext(ctx, s.q(`SELECT id, hash FROM audit_hashes WHERE id IN (?`+strings.Repeat(", ?", len(indexes)-1)+`)`), args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	got := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var id int64
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return nil, s.mapErr(err)
		}
		var hh tlog.Hash
		copy(hh[:], h)
		got[id] = hh
	}
	if err := rows.Err(); err != nil {
		return nil, s.mapErr(err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := got[x]
		if !ok {
			return nil, dx.Errorf(dx.EInternal, "审计日志缺少哈希 %d / the audit log lacks stored hash %d", x, x)
		}
		out[i] = h
	}
	return out, nil
}

// LogHashes reads stored hashes of the audit log.
func (s *DB) LogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return s.readHashes(ctx, s.conn(ctx), indexes)
}

// LogTile returns a stored full tile or bundle of the audit log.
func (s *DB) LogTile(ctx context.Context, path string) ([]byte, error) {
	var data []byte
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT data FROM audit_tiles WHERE path = ?`), path).Scan(&data)
	return data, s.mapErr(err)
}

// LogIndex returns where an event landed in the audit log.
func (s *DB) LogIndex(ctx context.Context, eventID string) (int64, tlog.Hash, error) {
	var idx int64
	var leaf []byte
	var h tlog.Hash
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT idx, leaf FROM audit_entries WHERE event_id = ?`), eventID).Scan(&idx, &leaf)
	copy(h[:], leaf)
	return idx, h, s.mapErr(err)
}

// txTree reads the tree inside a sequencing transaction.
type txTree struct {
	s   *DB
	ctx context.Context
	tx  *sql.Tx
}

func (r txTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return r.s.readHashes(r.ctx, r.tx, indexes)
}

func (r txTree) ReadEntries(start, end int64) ([][]byte, error) {
	return r.s.readEntries(r.ctx, r.tx, start, end)
}

func (s *DB) readEntries(ctx context.Context, q querier, start, end int64) ([][]byte, error) {
	rows, err := s.query(ctx, q, s.q(`SELECT entry FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx`), start, end)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var e []byte
		if err := rows.Scan(&e); err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, e)
	}
	return out, s.mapErr(rows.Err())
}

// LogEntries returns integrated audit-log entries by index range.
func (s *DB) LogEntries(ctx context.Context, start, end int64) ([][]byte, error) {
	return s.readEntries(ctx, s.conn(ctx), start, end)
}

// Integrate runs one sequencing step of the audit log in one transaction.
func (s *DB) Integrate(ctx context.Context, origin string, max int, build func(audit.LogState, []audit.Pending, audit.TreeReader) (audit.Batch, error)) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		head, err := s.logHead(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, s.q(`SELECT id, event_id, entry, leaf FROM audit_pending ORDER BY id LIMIT ?`), max)
		if err != nil {
			return err
		}
		var pending []audit.Pending
		for rows.Next() {
			var p audit.Pending
			var leaf []byte
			if err := rows.Scan(&p.ID, &p.EventID, &p.Entry, &leaf); err != nil {
				rows.Close()
				return err
			}
			copy(p.Leaf[:], leaf)
			pending = append(pending, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(pending) == 0 {
			return err
		}
		b, err := build(head, pending, txTree{s, ctx, tx})
		if err != nil {
			return err
		}
		for _, e := range b.Entries {
			if _, err := s.exec(ctx, tx, s.q(`INSERT INTO audit_entries (idx, event_id, entry, leaf) VALUES (?, ?, ?, ?)`), e.Index, e.EventID, e.Entry, e.Leaf[:]); err != nil {
				return err
			}
		}
		ids := make([]int64, 0, len(b.Hashes))
		for id := range b.Hashes {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			h := b.Hashes[id]
			if _, err := s.exec(ctx, tx, s.q(`INSERT INTO audit_hashes (id, hash) VALUES (?, ?)`), id, h[:]); err != nil {
				return err
			}
		}
		for path, data := range b.Tiles {
			if _, err := s.exec(ctx, tx, s.q(`INSERT INTO audit_tiles (path, data) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET data = excluded.data`), path, data); err != nil {
				return err
			}
		}
		for _, id := range b.Pending {
			if _, err := s.exec(ctx, tx, s.q(`DELETE FROM audit_pending WHERE id = ?`), id); err != nil {
				return err
			}
		}
		if head.Note == nil {
			_, err = s.exec(ctx, tx, s.q(`INSERT INTO audit_head (id, origin, size, root, note) VALUES (1, ?, ?, ?, ?)`), b.New.Origin, b.New.Size, b.New.Root[:], b.New.Note)
			if dx.ErrorCode(s.mapErr(err)) == dx.EConflict {
				return dx.Errorf(dx.EConflict, "另一个定序器已写入日志头 / another sequencer wrote the log head")
			}
			if err != nil {
				return err
			}
		} else {
			res, err := s.exec(ctx, tx, s.q(`UPDATE audit_head SET size = ?, root = ?, note = ? WHERE id = 1 AND size = ? AND root = ?`),
				b.New.Size, b.New.Root[:], b.New.Note, b.Old.Size, b.Old.Root[:])
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return dx.Errorf(dx.EConflict, "日志头已被移动 / the log head moved under this sequencer (size %d)", b.Old.Size)
			}
		}
		n = len(pending)
		return nil
	})
	return n, err
}

// TryLead takes the lock that makes this process the one running a singleton task (the
// audit log's sequencer) among replicas sharing the database; ok is false while another
// holds it. The lock lasts until release (or the connection's end). Where one process
// owns the database it is always granted.
func (s *DB) TryLead(ctx context.Context, key int64) (release func(), ok bool, err error) {
	try, unlock := s.d.LeaderLock()
	if try == "" {
		return func() {}, true, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, s.mapErr(err)
	}
	if err := conn.QueryRowContext(ctx, try, key).Scan(&ok); err != nil || !ok {
		conn.Close()
		return nil, false, s.mapErr(err)
	}
	return func() {
		conn.ExecContext(context.Background(), unlock, key)
		conn.Close()
	}, true, nil
}

// WitnessLatest returns what this witness last cosigned for a log.
func (s *DB) WitnessLatest(ctx context.Context, origin string) (int64, tlog.Hash, error) {
	var size int64
	var root []byte
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT size, root FROM witness_state WHERE origin = ?`), origin).Scan(&size, &root)
	if err == sql.ErrNoRows {
		return 0, c2sp.EmptyRoot, nil
	}
	var h tlog.Hash
	copy(h[:], root)
	return size, h, s.mapErr(err)
}

// WitnessAdvance moves a log's witnessed state by compare-and-set.
func (s *DB) WitnessAdvance(ctx context.Context, origin string, old int64, oldRoot tlog.Hash, size int64, root tlog.Hash, cosigned []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if old == 0 {
			res, err := s.exec(ctx, tx, s.q(`INSERT INTO witness_state (origin, size, root, note) VALUES (?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note WHERE witness_state.size = 0`),
				origin, size, root[:], cosigned)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return dx.Errorf(dx.EConflict, "见证状态已变化 / the witness state moved")
			}
			return nil
		}
		res, err := s.exec(ctx, tx, s.q(`UPDATE witness_state SET size = ?, root = ?, note = ? WHERE origin = ? AND size = ? AND root = ?`), size, root[:], cosigned, origin, old, oldRoot[:])
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return dx.Errorf(dx.EConflict, "见证状态已变化 / the witness state moved")
		}
		return nil
	})
}

// Publish stores the latest cosigned checkpoint if it is newer than the one stored.
func (s *DB) Publish(ctx context.Context, size int64, cosigned []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO audit_published (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note WHERE audit_published.size <= excluded.size`), size, cosigned)
		return err
	})
}

// Published returns the latest cosigned checkpoint (nil if none).
func (s *DB) Published(ctx context.Context) (int64, []byte, error) {
	var size int64
	var note []byte
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT size, note FROM audit_published WHERE id = 1`)).Scan(&size, &note)
	if err == sql.ErrNoRows {
		return 0, nil, nil
	}
	return size, note, s.mapErr(err)
}
