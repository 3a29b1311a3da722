package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/engine"
)

var _ engine.Sandbox = (*Engine)(nil)

// Compute runs query in an in-memory DuckDB that may read only src: external access
// off (with src the one allowed path), no extension install or load, memory and thread
// limits, no spilling, and the configuration locked last, so no statement can undo any
// of it. Sandboxes are kept per (src, limits) for reuse — opening one costs more than a
// small query — a few at a time, one query at a time each.
func (e *Engine) Compute(ctx context.Context, src, query string, limits engine.Limits) (rows [][]any, err error) {
	defer dx.WrapOp(&err, "duckdb.Compute")
	sb, err := e.sandbox(src, limits)
	if err != nil {
		return nil, err
	}
	defer sb.release()
	res, err := sb.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	cols, err := res.Columns()
	if err != nil {
		return nil, err
	}
	for res.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := res.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			switch m := v.(type) {
			case duckdb.Map:
				vals[i] = map[any]any(m)
			case duckdb.OrderedMap:
				out := map[any]any{}
				for j, k := range m.Keys() {
					out[k] = m.Values()[j]
				}
				vals[i] = out
			}
		}
		rows = append(rows, vals)
	}
	return rows, res.Err()
}

// maxSandboxes is how many idle sandboxes are kept.
const maxSandboxes = 4

// sandbox is one locked DuckDB instance over one file.
type sandbox struct {
	key  string
	db   *sql.DB
	e    *Engine
	used time.Time
}

// sandbox returns an idle sandbox for (src, limits), or opens one.
func (e *Engine) sandbox(src string, limits engine.Limits) (*sandbox, error) {
	key := fmt.Sprintf("%s|%d|%s", src, limits.Threads, limits.MemoryLimit)
	e.sbMu.Lock()
	for i, sb := range e.idle {
		if sb.key == key {
			e.idle = append(e.idle[:i], e.idle[i+1:]...)
			e.sbMu.Unlock()
			return sb, nil
		}
	}
	e.sbMu.Unlock()
	threads := max(limits.Threads, 1)
	mem := limits.MemoryLimit
	if mem == "" {
		mem = "1GB"
	}
	setup := []string{
		fmt.Sprintf("SET threads = %d", threads),
		"SET memory_limit = " + literal(mem),
		"SET max_temp_directory_size = '0B'",
		"SET preserve_insertion_order = false",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"CREATE VIEW source AS SELECT * FROM read_parquet(" + literal(src) + ")",
		"SET allowed_paths = [" + literal(src) + "]",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	}
	connector, err := duckdb.NewConnector("", func(execer driver.ExecerContext) error {
		for _, s := range setup {
			if _, err := execer.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("sandbox setup: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return &sandbox{key: key, db: db, e: e}, nil
}

// release returns a sandbox to the idle list, closing the oldest beyond the limit.
func (sb *sandbox) release() {
	e := sb.e
	sb.used = time.Now()
	e.sbMu.Lock()
	e.idle = append(e.idle, sb)
	var drop *sandbox
	if len(e.idle) > maxSandboxes {
		drop, e.idle = e.idle[0], e.idle[1:]
	}
	e.sbMu.Unlock()
	if drop != nil {
		drop.db.Close()
	}
}

// closeSandboxes closes the idle sandboxes.
func (e *Engine) closeSandboxes() {
	e.sbMu.Lock()
	idle := e.idle
	e.idle = nil
	e.sbMu.Unlock()
	for _, sb := range idle {
		sb.db.Close()
	}
}

// Snapshot materialises a bounded snapshot: ≤ k rows per unit, NULL units dropped.
func (e *Engine) Snapshot(ctx context.Context, src, dst, unit string, k int, seed uint64) (n int64, err error) {
	defer dx.WrapOp(&err, "duckdb.Snapshot")
	if _, err := os.Lstat(dst); !os.IsNotExist(err) {
		return 0, fmt.Errorf("%s exists", dst)
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	// Units are partitioned by a 64-bit hash of their ID (twice as fast as by strings; a
	// collision keeps k rows of two units together, which only drops rows), and rows
	// chosen by a keyed hash of their position in the file.
	q := fmt.Sprintf(`COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(%s, file_row_number = true) WHERE %s IS NOT NULL
		QUALIFY row_number() OVER (PARTITION BY hash(%s) ORDER BY hash(file_row_number, %d::UBIGINT)) <= %d) TO %s (FORMAT parquet)`,
		literal(src), ident(unit), ident(unit), seed, k, literal(dst))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		os.Remove(dst)
		return 0, err
	}
	err = conn.QueryRowContext(ctx, "SELECT coalesce(sum(num_rows), 0)::BIGINT FROM parquet_file_metadata("+literal(dst)+")").Scan(&n)
	return n, err
}

// MinHashes computes the per-bucket minima of salted 64-bit hashes of a column's values.
func (e *Engine) MinHashes(ctx context.Context, src, column string, salt uint64, bits int) (out map[uint64]uint64, err error) {
	defer dx.WrapOp(&err, "duckdb.MinHashes")
	if bits < 1 || bits > 20 {
		return nil, fmt.Errorf("bucket bits %d out of range", bits)
	}
	from := "read_parquet(" + literal(src) + ")"
	h := fmt.Sprintf("hash(upper(trim(CAST(%s AS VARCHAR))), %d::UBIGINT)", ident(column), salt)
	where := fmt.Sprintf("WHERE %s IS NOT NULL AND trim(CAST(%s AS VARCHAR)) <> ''", ident(column), ident(column))
	if column == "" {
		from = "read_parquet(" + literal(src) + ", file_row_number = true)"
		h = fmt.Sprintf("hash(file_row_number, %d::UBIGINT)", salt)
		where = ""
	}
	low := uint64(1)<<(64-bits) - 1
	q := fmt.Sprintf("SELECT h >> %d AS b, min(h & %d::UBIGINT) FROM (SELECT %s AS h FROM %s %s) GROUP BY b", 64-bits, low, h, from, where)
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = map[uint64]uint64{}
	for rows.Next() {
		var b, m uint64
		if err := rows.Scan(&b, &m); err != nil {
			return nil, err
		}
		out[b] = m
	}
	return out, rows.Err()
}
