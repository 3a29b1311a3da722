// Package sqlite is dx's embedded storage backend: one SQLite file in the data directory,
// in WAL mode with foreign keys on, through the pure-Go modernc.org/sqlite driver.
// Full-text search uses an FTS5 table ranked by BM25 with titles weighted above bodies.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's sqldb.Dialect.
type Dialect struct{}

var _ sqldb.Dialect = Dialect{}

// Name returns "sqlite".
func (Dialect) Name() string { return "sqlite" }

// Rebind keeps ? placeholders.
func (Dialect) Rebind(q string) string { return q }

// SingleWriter reports whether writes must be queued in-process.
func (Dialect) SingleWriter() bool { return true }

// LockRow returns the row-locking clause.
func (Dialect) LockRow() string { return "" }

// SkipLocked returns the clause that skips locked rows.
func (Dialect) SkipLocked() string { return "" }

// LeaderLock is empty: one process owns a SQLite database.
func (Dialect) LeaderLock() (try, release string) { return "", "" }

// Migrations returns the embedded migrations.
func (Dialect) Migrations() (fs.FS, error) { return fs.Sub(migrations, "migrations") }

// MapError maps constraint violations to dx codes.
func (Dialect) MapError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return dx.Wrap(err, dx.EConflict, "已存在 / already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return dx.Wrap(err, dx.EInvalid, "引用的对象不存在 / a referenced record does not exist")
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return dx.Wrap(err, dx.EConflict, "数据库忙，请重试 / the database is busy, try again")
		}
	}
	return err
}

// WriteSearch replaces the asset's row in the FTS5 table.
func (Dialect) WriteSearch(ctx context.Context, tx *sql.Tx, assetID, title, body string) error {
	var rowid int64
	if err := tx.QueryRowContext(ctx, `SELECT rowid FROM assets WHERE id = ?`, assetID).Scan(&rowid); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM asset_search WHERE rowid = ?`, rowid); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO asset_search (rowid, title, body) VALUES (?, ?, ?)`, rowid, title, body)
	return err
}

func matchExpr(terms []string) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(quoted, " AND ")
}

// SearchSQL matches every term as a quoted FTS5 string; ranked, by BM25 (negated so
// higher is better) with titles weighted five times the rest.
func (Dialect) SearchSQL(terms []string, ranked bool, matches int) sqldb.TextSearch {
	if !ranked && matches > catalog.DenseMatches {
		// Most assets match: walk assets newest first and probe each (a handful of
		// probes per hit) instead of first listing every match.
		return sqldb.TextSearch{Score: "0.0", From: "assets a",
			Where: `EXISTS (SELECT 1 FROM asset_search s WHERE s.rowid = a.rowid AND asset_search MATCH ?)`, WhereArgs: []any{matchExpr(terms)}}
	}
	if !ranked {
		// The unary + keeps SQLite from driving the query by the match list: it walks
		// an updated_at index instead and stops after one page.
		return sqldb.TextSearch{Score: "0.0", From: "assets a",
			Where: `+a.rowid IN (SELECT rowid FROM asset_search WHERE asset_search MATCH ?)`, WhereArgs: []any{matchExpr(terms)}}
	}
	return sqldb.TextSearch{
		Score:     `-bm25(asset_search, 5.0, 1.0)`,
		From:      `asset_search JOIN assets a ON a.rowid = asset_search.rowid`,
		Where:     `asset_search MATCH ?`,
		WhereArgs: []any{matchExpr(terms)},
	}
}

// CountSQL counts matches without ranking them.
func (Dialect) CountSQL(terms []string, max int) (string, []any) {
	return `SELECT count(*) FROM (SELECT rowid FROM asset_search WHERE asset_search MATCH ? LIMIT ?)`, []any{matchExpr(terms), max + 1}
}

// Open opens (creating if needed) the database file at path and checks or applies the
// migrations (see sqldb.Migrate). path ":memory:" gives a private in-memory database.
func Open(ctx context.Context, path string, migrate bool) (*sqldb.DB, error) {
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if path == ":memory:" {
		dsn = "file:mem-" + dx.NewID("db", dx.SystemClock{}.Now()) + "?mode=memory&cache=shared&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Keep the connections: database/sql closes all but two idle ones by default, and a
	// new SQLite connection re-runs its pragmas and re-prepares every statement.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if _, err := sqldb.Migrate(ctx, db, Dialect{}, migrate); err != nil {
		db.Close()
		return nil, err
	}
	return sqldb.New(db, Dialect{}), nil
}
