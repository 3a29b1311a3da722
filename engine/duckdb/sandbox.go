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

// Compute runs query in a fresh in-memory DuckDB that may read only src: external
// access off (with src the one allowed path), no extension install or load, memory and
// thread limits, no spilling, and the configuration locked last, so no statement can
// undo any of it. The instance lives for this one query.
func (e *Engine) Compute(ctx context.Context, src, query string, limits engine.Limits) (rows [][]any, err error) {
	defer dx.WrapOp(&err, "duckdb.Compute")
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
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	res, err := db.QueryContext(ctx, query)
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
		rows = append(rows, vals)
	}
	return rows, res.Err()
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
	q := fmt.Sprintf(`COPY (SELECT * FROM read_parquet(%s) AS t WHERE %s IS NOT NULL
		QUALIFY row_number() OVER (PARTITION BY %s ORDER BY hash(t, %d::UBIGINT)) <= %d) TO %s (FORMAT parquet)`,
		literal(src), ident(unit), ident(unit), seed, k, literal(dst))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		os.Remove(dst)
		return 0, err
	}
	err = conn.QueryRowContext(ctx, "SELECT coalesce(sum(num_rows), 0)::BIGINT FROM parquet_file_metadata("+literal(dst)+")").Scan(&n)
	return n, err
}
