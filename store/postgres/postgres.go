// Package postgres is dx's production storage backend, through pgx. Several dx
// processes may share one database as stateless API replicas: every piece of state lives
// in the database, and every use case is one transaction. Full-text search uses a
// weighted tsvector column with a GIN index in the 'simple' configuration.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is PostgreSQL's sqldb.Dialect.
type Dialect struct{}

var _ sqldb.Dialect = Dialect{}

// Name returns "postgres".
func (Dialect) Name() string { return "postgres" }

// Rebind turns ? placeholders into $1, $2, … (dx's queries have no ? inside literals).
func (Dialect) Rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// SingleWriter reports whether writes must be queued in-process.
func (Dialect) SingleWriter() bool { return false }

// LockRow returns the row-locking clause.
func (Dialect) LockRow() string { return " FOR UPDATE" }

// SkipLocked returns the clause that skips locked rows.
func (Dialect) SkipLocked() string { return " SKIP LOCKED" }

// LeaderLock is a session-level advisory lock.
func (Dialect) LeaderLock() (try, release string) {
	return `SELECT pg_try_advisory_lock($1)`, `SELECT pg_advisory_unlock($1)`
}

// Migrations returns the embedded migrations.
func (Dialect) Migrations() (fs.FS, error) { return fs.Sub(migrations, "migrations") }

// MapError maps constraint violations and serialization failures to dx codes.
func (Dialect) MapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return dx.Wrap(err, dx.EConflict, "已存在 / already exists")
		case "23503":
			return dx.Wrap(err, dx.EInvalid, "引用的对象不存在 / a referenced record does not exist")
		case "40001", "40P01":
			return dx.Wrap(err, dx.EConflict, "并发冲突，请重试 / concurrent update, try again")
		}
	}
	return err
}

// WriteSearch sets the asset's tsvector: titles weighted A, the rest B.
func (Dialect) WriteSearch(ctx context.Context, tx *sql.Tx, assetID, title, body string) error {
	_, err := tx.ExecContext(ctx, `UPDATE assets SET search = setweight(to_tsvector('simple', $1), 'A') || setweight(to_tsvector('simple', $2), 'B') WHERE id = $3`,
		title, body, assetID)
	return err
}

func tsquery(terms []string) string {
	// Terms hold only letters and digits, so quoting each as a tsquery lexeme is safe.
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = "'" + strings.ReplaceAll(t, "'", "''") + "'"
	}
	return strings.Join(quoted, " & ")
}

// SearchSQL matches all terms; ranked, ts_rank orders the hits.
func (Dialect) SearchSQL(terms []string, ranked bool, matches int) sqldb.TextSearch {
	q := tsquery(terms)
	ts := sqldb.TextSearch{Score: "0.0::float8", From: `assets a`, Where: `a.search @@ to_tsquery('simple', ?)`, WhereArgs: []any{q}}
	if ranked {
		ts.Score, ts.ScoreArgs = `ts_rank(a.search, to_tsquery('simple', ?))::float8`, []any{q}
	}
	return ts
}

// CountSQL counts matches, stopping after max+1 but never counting past
// catalog.RankLimit+1: PostgreSQL's planner handles dense terms by itself (an index walk
// in freshness order), and counting further would cost a scan of the table.
func (Dialect) CountSQL(terms []string, max int) (string, []any) {
	return `SELECT count(*) FROM (SELECT 1 FROM assets WHERE search @@ to_tsquery('simple', ?) LIMIT ?) t`, []any{tsquery(terms), min(max, catalog.RankLimit) + 1}
}

// Open connects to the database at dsn and checks or applies the migrations.
func Open(ctx context.Context, dsn string, migrate bool) (*sqldb.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20) // keep them (and their prepared statements) between bursts
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	// Replicas starting together must not migrate twice at once.
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7274100)`); err != nil {
		db.Close()
		return nil, err
	}
	_, err = sqldb.Migrate(ctx, db, Dialect{}, migrate)
	conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7274100)`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return sqldb.New(db, Dialect{}), nil
}
