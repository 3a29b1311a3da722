// Package sqldb implements store.Store on database/sql for any SQL database that a
// Dialect describes. The SQL here is the portable part that both backends share; each
// backend (store/sqlite, store/postgres) supplies its driver, its migrations, its error
// mapping and the parts where the databases differ (full-text search, placeholders).
//
// Business rules stay in the domain packages: this package only stores and loads, and
// maps database failures to dx error codes. Every method is one transaction, and each
// writes the audit events it is given in that same transaction.
package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/store"
)

// Dialect is what differs between databases.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Rebind rewrites a query written with ? placeholders for the database.
	Rebind(q string) string
	// MapError maps a driver error to a *dx.Error (conflict for unique violations,
	// invalid for foreign-key violations), or returns err unchanged.
	MapError(err error) error
	// WriteSearch stores an asset's search document inside tx.
	WriteSearch(ctx context.Context, tx *sql.Tx, assetID, title, body string) error
	// SearchSQL returns how to match assets that contain every one of terms, and with
	// ranked, how to score them; matches is the (capped) count of matching assets.
	SearchSQL(terms []string, ranked bool, matches int) TextSearch
	// CountSQL returns a query counting at most max+1 assets that contain all terms.
	CountSQL(terms []string, max int) (string, []any)
	// Migrations holds NNNN_name.sql files applied in order.
	Migrations() (fs.FS, error)
	// SingleWriter reports whether the database allows one writer at a time (SQLite):
	// then this process queues its own write transactions instead of letting them spin
	// on the database's busy handler.
	SingleWriter() bool
	// LockRow is the clause that locks a selected row until the transaction ends
	// (" FOR UPDATE"), or "" where transactions are serialized anyway.
	LockRow() string
	// SkipLocked is the clause that skips rows another transaction holds (" SKIP LOCKED"),
	// or "" where transactions are serialized anyway.
	SkipLocked() string
	// LeaderLock is the SQL that tries to take, and releases, a lock named by one
	// integer parameter for as long as a connection lives; "" where one process owns
	// the database.
	LeaderLock() (try, release string)
}

// TextSearch is a dialect's full-text match: SELECT …, Score FROM From WHERE Where.
// From must expose the assets table as a; Score is higher for better matches.
type TextSearch struct {
	Score, From, Where   string
	ScoreArgs, WhereArgs []any
}

// DB is store.Store over database/sql.
type DB struct {
	db  *sql.DB
	d   Dialect
	wmu sync.Mutex // held around write transactions when d.SingleWriter()
	// stmts caches prepared statements by query text (a bounded set: the fixed queries
	// of this package; catalog searches, whose shapes vary, are not cached).
	stmts sync.Map

	watch watchers
}

// maxWatched bounds the subjects being watched at once.
const maxWatched = 10000

// watchers wake long-polling readers when an audit event about their subject commits,
// and tell requests which events they committed (for their audit receipts).
type watchers struct {
	mu      sync.Mutex
	subs    map[string]chan struct{} // subject → closed at its next committed event
	pending map[*sql.Tx]*written     // what open transactions wrote
}

// written is what one transaction wrote: the events' subjects and IDs, and the
// collectors of the requests that wrote them.
type written struct {
	subjects []string
	sinks    map[*audit.Collector][]string
}

// Changes returns a channel closed when this process next commits an audit event about
// subject (every state change writes one), or about anything with audit.AnySubject:
// waiters re-read then instead of polling. Writes by other processes sharing the
// database are not seen; waiters re-read on a timer as well.
func (s *DB) Changes(subject string) <-chan struct{} {
	w := &s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil || len(w.subs) >= maxWatched {
		// Waiters that gave up leave their subjects behind: past the bound, wake
		// everyone (they re-read and wait again) and start afresh.
		for _, ch := range w.subs {
			close(ch)
		}
		w.subs = map[string]chan struct{}{}
	}
	ch, ok := w.subs[subject]
	if !ok {
		ch = make(chan struct{})
		w.subs[subject] = ch
	}
	return ch
}

func (w *watchers) note(ctx context.Context, tx *sql.Tx, events []dx.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		w.pending = map[*sql.Tx]*written{}
	}
	wr := w.pending[tx]
	if wr == nil {
		wr = &written{subjects: []string{audit.AnySubject}}
		w.pending[tx] = wr
	}
	sink := audit.CollectorFrom(ctx)
	for _, e := range events {
		wr.subjects = append(wr.subjects, e.Subject)
		if sink != nil {
			if wr.sinks == nil {
				wr.sinks = map[*audit.Collector][]string{}
			}
			wr.sinks[sink] = append(wr.sinks[sink], e.ID)
		}
	}
}

// ended wakes the waiters of what tx wrote and tells the collectors if it committed, and
// forgets tx.
func (w *watchers) ended(tx *sql.Tx, committed bool) {
	w.mu.Lock()
	wr := w.pending[tx]
	delete(w.pending, tx)
	if committed && wr != nil {
		for _, subject := range wr.subjects {
			if ch, ok := w.subs[subject]; ok {
				close(ch)
				delete(w.subs, subject)
			}
		}
	}
	w.mu.Unlock()
	if committed && wr != nil {
		for sink, ids := range wr.sinks {
			sink.Add(ids...)
		}
	}
}

var _ store.Store = (*DB)(nil)

// New wraps an open database. Call Migrate before use.
func New(db *sql.DB, d Dialect) *DB { return &DB{db: db, d: d} }

// Close closes the database.
func (s *DB) Close() error {
	s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	return s.db.Close()
}

// SQL returns the underlying database (for tests and benchmarks).
func (s *DB) SQL() *sql.DB { return s.db }

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func (s *DB) q(query string) string { return s.d.Rebind(query) }

// unitKey carries, in a context, the transaction of a unit of work of this DB.
type unitKey struct{ db *DB }

// Atomically runs fn as one unit of work: every store method called with the context fn
// receives joins one transaction (reads included, so they see the unit's own writes),
// which commits if fn returns nil and rolls back otherwise. A state change and the
// outbound message announcing it are stored together this way, or not at all.
func (s *DB) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(unitKey{s}).(*sql.Tx); ok {
		return fn(ctx) // already inside a unit: join it
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(context.WithValue(ctx, unitKey{s}, tx)) })
}

// querier is what *sql.DB and *sql.Tx both offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// conn is where a read runs: the unit of work's transaction if ctx is inside one, else
// the pool.
func (s *DB) conn(ctx context.Context) querier {
	if tx, ok := ctx.Value(unitKey{s}).(*sql.Tx); ok {
		return tx
	}
	return s.db
}

// prepared returns the cached prepared statement for query (SQLite re-parses a query on
// every call otherwise: a sixth of a write-heavy node's CPU). database/sql prepares it
// once per pooled connection and reuses it inside transactions on that connection.
func (s *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prior, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prior.(*sql.Stmt), nil
	}
	return st, nil
}

// stmt returns query's prepared statement for q (the pool or a transaction), or nil if
// it cannot be prepared (the caller then runs the query unprepared and gets the error).
func (s *DB) stmt(ctx context.Context, q querier, query string) *sql.Stmt {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil
	}
	if tx, ok := q.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st)
	}
	return st
}

func (s *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, q, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, query, args...)
}

func (s *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, q, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.QueryContext(ctx, query, args...)
}

func (s *DB) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, q, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

// tx runs fn in a transaction, mapping errors; it commits only if fn returns nil. Inside
// a unit of work (Atomically) fn runs under a savepoint of the unit's transaction: a
// failure undoes fn's writes alone (as a transaction of its own would, and PostgreSQL
// can go on after it), and the unit commits the rest later.
func (s *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if tx, ok := ctx.Value(unitKey{s}).(*sql.Tx); ok {
		// prepared once per connection like every other statement (a unit runs several
		// steps, and SQLite would parse these on each)
		if _, err := s.exec(ctx, tx, "SAVEPOINT dx_step"); err != nil {
			return s.mapErr(err)
		}
		if err := fn(tx); err != nil {
			if _, rerr := s.exec(ctx, tx, "ROLLBACK TO SAVEPOINT dx_step"); rerr != nil {
				return s.mapErr(errors.Join(err, rerr))
			}
			return s.mapErr(err)
		}
		_, err := s.exec(ctx, tx, "RELEASE SAVEPOINT dx_step")
		return s.mapErr(err)
	}
	if s.d.SingleWriter() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		s.watch.ended(tx, false)
		return s.mapErr(err)
	}
	err = tx.Commit()
	s.watch.ended(tx, err == nil)
	return s.mapErr(err)
}

func (s *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	var de *dx.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return dx.Wrap(err, dx.ENotFound, "记录不存在 / not found")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return s.d.MapError(err)
}

// insertEvents writes events with their pending audit-log entries and private salts.
func (s *DB) insertEvents(ctx context.Context, tx *sql.Tx, events []dx.Event) error {
	s.watch.note(ctx, tx, events)
	for _, e := range events {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO events (id, time, actor, token_id, action, subject, payload) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			e.ID, micros(e.Time), e.Actor, e.TokenID, e.Action, e.Subject, string(e.Payload))
		if err != nil {
			return err
		}
		if err := s.pendEntry(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// RecordEvents stores events on their own.
func (s *DB) RecordEvents(ctx context.Context, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertEvents(ctx, tx, events) })
}

// Events returns events after seq, in order.
func (s *DB) Events(ctx context.Context, after int64, limit int) ([]dx.Event, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT seq, id, time, actor, token_id, action, subject, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?`), after, limit)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []dx.Event{}
	for rows.Next() {
		var e dx.Event
		var t int64
		var payload string
		if err := rows.Scan(&e.Seq, &e.ID, &t, &e.Actor, &e.TokenID, &e.Action, &e.Subject, &payload); err != nil {
			return nil, s.mapErr(err)
		}
		e.Time, e.Payload = fromMicros(t), []byte(payload)
		out = append(out, e)
	}
	return out, s.mapErr(rows.Err())
}

// Migrate applies the dialect's migrations that the database lacks, each in its own
// transaction. With apply false it only reports whether the schema is current: a fresh
// database is always initialised, but an older schema is an error until asked.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, apply bool) (applied []string, err error) {
	defer dx.WrapOp(&err, "sqldb.Migrate")
	mfs, err := d.Migrations()
	if err != nil {
		return nil, err
	}
	names, err := MigrationNames(mfs)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, err
	}
	done := map[int]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		done[v] = true
	}
	rows.Close()
	if len(done) > 0 && !apply {
		for _, n := range names {
			if v, _ := migrationNumber(n); !done[v] {
				return nil, dx.Errorf(dx.EConflict, "数据库结构版本较旧，请运行 dx migrate / the database schema is old: run `dx migrate` (missing %s)", n)
			}
		}
		return nil, nil
	}
	for _, n := range names {
		v, _ := migrationNumber(n)
		if done[v] {
			continue
		}
		body, err := fs.ReadFile(mfs, n)
		if err != nil {
			return applied, err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return applied, err
		}
		for _, stmt := range splitStatements(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return applied, fmt.Errorf("%s: %w", n, err)
			}
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), v, n, time.Now().UnixMicro()); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("%s: %w", n, d.MapError(err))
		}
		if err := tx.Commit(); err != nil {
			if dx.ErrorCode(d.MapError(err)) == dx.EConflict {
				continue // another process applied it at the same time
			}
			return applied, err
		}
		applied = append(applied, n)
	}
	return applied, nil
}

// MigrationNames lists the NNNN_name.sql files of mfs in order.
func MigrationNames(mfs fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(mfs, ".")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			if _, err := migrationNumber(e.Name()); err != nil {
				return nil, err
			}
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func migrationNumber(name string) (int, error) {
	num, _, ok := strings.Cut(name, "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil || len(num) != 4 {
		return 0, fmt.Errorf("migration %q is not named NNNN_name.sql", name)
	}
	return v, nil
}

// splitStatements splits a migration on lines that end with ";" (statements in dx's
// migrations never end a line with a semicolon inside a literal or a trigger body).
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSpace(cur.String()); s != ";" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Embedded is a helper for backends: the migrations directory of an embed.FS.
func Embedded(efs embed.FS, dir string) (fs.FS, error) { return fs.Sub(efs, dir) }
