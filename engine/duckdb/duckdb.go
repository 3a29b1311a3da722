// Package duckdb implements engine.Engine with an embedded DuckDB. It is the only package
// in dx that links DuckDB (its cgo link step is slow, so nothing else should pay for it).
//
// Each call names its input and output files explicitly and builds its SQL from quoted
// literals; the database is in memory, with a memory limit, a thread count and a scratch
// directory set when it opens.
package duckdb

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/engine"
)

// Config sets the engine's resource limits.
type Config struct {
	Threads     int    // 0: DuckDB's default (one per core)
	MemoryLimit string // e.g. "1GB"; "" for DuckDB's default (80% of RAM)
	TempDir     string // where DuckDB may spill; "" for none
}

// Engine is engine.Engine on DuckDB.
type Engine struct {
	db *sql.DB

	sbMu sync.Mutex
	idle []*sandbox // idle compute sandboxes, oldest first
}

var _ engine.Engine = (*Engine)(nil)

// Open starts an in-memory DuckDB with cfg's limits.
func Open(cfg Config) (*Engine, error) {
	connector, err := duckdb.NewConnector("", func(execer driver.ExecerContext) error {
		var stmts []string
		if cfg.Threads > 0 {
			stmts = append(stmts, fmt.Sprintf("SET threads = %d", cfg.Threads))
		}
		if cfg.MemoryLimit != "" {
			stmts = append(stmts, "SET memory_limit = "+literal(cfg.MemoryLimit))
		}
		if cfg.TempDir != "" {
			stmts = append(stmts, "SET temp_directory = "+literal(cfg.TempDir))
		}
		stmts = append(stmts, "SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false")
		for _, s := range stmts {
			if _, err := execer.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("duckdb: open: %w", err)
	}
	return &Engine{db: sql.OpenDB(connector)}, nil
}

// Close releases the database.
func (e *Engine) Close() error {
	e.closeSandboxes()
	return e.db.Close()
}

// literal quotes s as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ident quotes s as an SQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func listLiteral(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = literal(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// reader returns the table function that reads src.
func reader(src engine.Source, fullSample bool) (string, error) {
	p := literal(src.Path)
	switch src.Format {
	case engine.FormatCSV, engine.FormatTSV:
		delim := ","
		if src.Format == engine.FormatTSV {
			delim = "\t"
		}
		opts := []string{"delim = " + literal(delim), "header = true", "quote = '\"'", "escape = '\"'",
			"strict_mode = true", "null_padding = false", "ignore_errors = false", "encoding = 'utf-8'",
			"comment = ''", "max_line_size = 4194304", "skip = 0"}
		if len(src.Columns) > 0 {
			opts = append(opts, "names = "+listLiteral(src.Columns))
		}
		if fullSample {
			opts = append(opts, "sample_size = -1")
		}
		return fmt.Sprintf("read_csv(%s, %s)", p, strings.Join(opts, ", ")), nil
	case engine.FormatJSON:
		return fmt.Sprintf("read_json(%s, format = 'auto', sample_size = %d)", p, map[bool]int{true: -1, false: 20480}[fullSample]), nil
	case engine.FormatNDJSON:
		return fmt.Sprintf("read_json(%s, format = 'newline_delimited', sample_size = %d)", p, map[bool]int{true: -1, false: 20480}[fullSample]), nil
	case engine.FormatParquet:
		return fmt.Sprintf("read_parquet(%s)", p), nil
	}
	return "", dx.Errorf(dx.EInvalid, "不支持的格式 %q / unsupported format %q", src.Format, src.Format)
}

// Ingest converts src to Parquet at dst and describes the result.
func (e *Engine) Ingest(ctx context.Context, src engine.Source, dst string, sampleRows int) (d engine.Description, err error) {
	defer dx.WrapOp(&err, "duckdb.Ingest")
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return d, err
	}
	defer conn.Close()
	copyTo := func(fullSample bool) error {
		from, err := reader(src, fullSample)
		if err != nil {
			return err
		}
		q := fmt.Sprintf("COPY (SELECT * FROM %s) TO %s (FORMAT parquet)", from, literal(dst))
		_, err = conn.ExecContext(ctx, q)
		return err
	}
	err = copyTo(false)
	if err != nil && isConversionError(err) {
		// The type sniffer saw only a sample; a later row did not fit. Sniff the whole file.
		os.Remove(dst)
		err = copyTo(true)
	}
	if err != nil {
		os.Remove(dst)
		if ctx.Err() != nil {
			return d, ctx.Err()
		}
		if rerr := readError(err); errors.Is(rerr, engine.ErrNotUTF8) {
			return d, rerr
		}
		if src.Format == engine.FormatCSV || src.Format == engine.FormatTSV {
			if perr := findCSVError(src); perr != nil {
				return d, &dx.Error{Code: dx.EUnprocessable, Message: perr.Error(), Err: err}
			}
		}
		return d, readError(err)
	}
	d, err = describe(ctx, conn, dst, sampleRows)
	if err != nil {
		os.Remove(dst)
		return d, err
	}
	if len(src.Columns) > 0 && len(d.Columns) != len(src.Columns) {
		// DuckDB's sniffer read a different shape than the header promises: never keep it.
		os.Remove(dst)
		if perr := findCSVError(src); perr != nil {
			return engine.Description{}, dx.Errorf(dx.EUnprocessable, "%s", perr.Error())
		}
		return engine.Description{}, dx.Errorf(dx.EUnprocessable, "表头有 %d 列，数据有 %d 列 / the header has %d columns but the data has %d", len(src.Columns), len(d.Columns), len(src.Columns), len(d.Columns))
	}
	return d, nil
}

func isConversionError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Could not convert") || strings.Contains(msg, "Conversion Error")
}

var lineRE = regexp.MustCompile(`on [Ll]ine:? (\d+)`)

// readError turns a DuckDB error while reading a source into a user-facing error.
func readError(err error) error {
	msg := err.Error()
	var de *duckdb.Error
	if errors.As(err, &de) {
		msg = de.Msg
	}
	first := msg
	if i := strings.Index(first, "\n"); i > 0 {
		first = first[:i]
	}
	if len(first) > 300 {
		first = first[:300] + "…"
	}
	where := ""
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		where = fmt.Sprintf("第 %s 行 / line %s: ", m[1], m[1])
	}
	if strings.Contains(msg, "Out of Memory") || strings.Contains(msg, "IO Error") && strings.Contains(msg, "temp") {
		return dx.Wrap(err, dx.EInternal, "分析引擎资源不足，请稍后重试 / the analytic engine ran out of memory or scratch space; try again later")
	}
	var hint string
	switch {
	case strings.Contains(msg, "Expected Number of Columns"), strings.Contains(msg, "too many columns"), strings.Contains(msg, "less columns"):
		hint = "列数与表头不一致 / the row's number of columns differs from the header"
	case strings.Contains(msg, "Invalid unicode"), strings.Contains(msg, "invalid UTF"), strings.Contains(msg, "UTF-8"), strings.Contains(msg, "UTF8"):
		return &dx.Error{Code: dx.EUnprocessable, Message: where + "含有无效字符编码 / invalid character encoding (" + first + ")", Err: fmt.Errorf("%w: %w", engine.ErrNotUTF8, err)}
	case strings.Contains(msg, "Malformed JSON"), strings.Contains(msg, "JSON"):
		hint = "JSON 格式错误 / malformed JSON"
	case strings.Contains(msg, "parquet"), strings.Contains(msg, "Parquet"):
		hint = "Parquet 文件损坏 / corrupt Parquet file"
	default:
		hint = "文件无法解析 / the file cannot be parsed"
	}
	return &dx.Error{Code: dx.EUnprocessable, Message: where + hint + " (" + first + ")", Err: err}
}

type colInfo struct{ name, typ string }

// distinctSample is how many rows the distinct-count estimate reads. Min, max and null
// counts come exactly from the Parquet footer at no scan cost; an approximate distinct
// count over the whole of a 10M-row file would cost a third of its ingestion.
const distinctSample = 200_000

// footerStats returns the row count and per-column statistics of a Parquet file: min,
// max and null count aggregated over the row groups' footer statistics (falling back to
// a scan for columns the footer lacks), and a distinct count estimated over the first
// distinctSample rows (exact for smaller files up to HyperLogLog error).
func footerStats(ctx context.Context, conn *sql.Conn, path string, cols []colInfo) (int64, []engine.Column, error) {
	lit := literal(path)
	var rows int64
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(sum(num_rows), 0)::BIGINT FROM parquet_file_metadata("+lit+")").Scan(&rows); err != nil {
		return 0, nil, err
	}
	out := make([]engine.Column, len(cols))
	index := map[string]int{}
	for i, c := range cols {
		out[i] = engine.Column{Name: c.name, Type: c.typ, NullCount: -1}
		index[c.name] = i
	}
	// The footer's statistics, one row per column chunk, aggregated here by column type
	// so that numbers compare as numbers.
	r, err := conn.QueryContext(ctx, "SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata("+lit+")")
	if err != nil {
		return 0, nil, err
	}
	seen := make([]bool, len(cols))
	for r.Next() {
		var name string
		var mn, mx sql.NullString
		var nulls sql.NullInt64
		if err := r.Scan(&name, &mn, &mx, &nulls); err != nil {
			r.Close()
			return 0, nil, err
		}
		i, ok := index[name]
		if !ok || !scalar(cols[i].typ) {
			continue // a nested column's leaf
		}
		c := &out[i]
		if !seen[i] {
			seen[i] = true
			c.NullCount = 0
		}
		if nulls.Valid && c.NullCount >= 0 {
			c.NullCount += nulls.Int64
		} else {
			c.NullCount = -1
		}
		if mn.Valid && (c.Min == "" || less(c.Type, mn.String, c.Min)) {
			c.Min = mn.String
		}
		if mx.Valid && (c.Max == "" || less(c.Type, c.Max, mx.String)) {
			c.Max = mx.String
		}
	}
	r.Close()
	if err := r.Err(); err != nil {
		return 0, nil, err
	}
	for i := range out {
		out[i].Min, out[i].Max = clip(out[i].Min), clip(out[i].Max)
	}
	var missing []int
	scan := []string{}
	for i, c := range cols {
		id := ident(c.name)
		scan = append(scan, "approx_count_distinct("+id+")")
		if out[i].NullCount < 0 {
			missing = append(missing, i)
			scan = append(scan, "count(*) - count("+id+")")
		}
	}
	vals := make([]any, 0, len(scan))
	for i := range cols {
		vals = append(vals, &out[i].Distinct)
		if out[i].NullCount < 0 {
			vals = append(vals, &out[i].NullCount)
		}
	}
	if len(scan) > 0 {
		q := fmt.Sprintf("SELECT %s FROM (SELECT * FROM read_parquet(%s) LIMIT %d)", strings.Join(scan, ", "), lit, distinctSample)
		if err := conn.QueryRowContext(ctx, q).Scan(vals...); err != nil {
			return 0, nil, err
		}
	}
	if len(missing) > 0 && rows > distinctSample {
		// The sample's null counts are not the file's: count the missing ones exactly.
		var exact []string
		for _, i := range missing {
			exact = append(exact, "count(*) - count("+ident(cols[i].name)+")")
		}
		vals = vals[:0]
		for _, i := range missing {
			vals = append(vals, &out[i].NullCount)
		}
		if err := conn.QueryRowContext(ctx, "SELECT "+strings.Join(exact, ", ")+" FROM read_parquet("+lit+")").Scan(vals...); err != nil {
			return 0, nil, err
		}
	}
	return rows, out, nil
}

func describe(ctx context.Context, conn *sql.Conn, path string, sampleRows int) (d engine.Description, err error) {
	from := "read_parquet(" + literal(path) + ")"
	rows, err := conn.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+from+")")
	if err != nil {
		return d, err
	}
	var cols []colInfo
	for rows.Next() {
		var c colInfo
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			rows.Close()
			return d, err
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d, err
	}
	var err2 error
	d.RowCount, d.Columns, err2 = footerStats(ctx, conn, path, cols)
	if err2 != nil {
		return d, err2
	}
	if sampleRows > 0 && len(cols) > 0 {
		casts := make([]string, len(cols))
		for i, c := range cols {
			casts[i] = ident(c.name) + "::VARCHAR"
		}
		d.Sample, err = textRows(ctx, conn, fmt.Sprintf("SELECT %s FROM %s LIMIT %d", strings.Join(casts, ", "), from, sampleRows), len(cols))
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

// less compares two footer statistics of a column of type typ.
func less(typ, a, b string) bool {
	switch {
	case strings.Contains(typ, "INT") && !strings.Contains(typ, "INTERVAL"):
		x, errx := strconv.ParseInt(a, 10, 64)
		y, erry := strconv.ParseInt(b, 10, 64)
		if errx == nil && erry == nil {
			return x < y
		}
		bx, okx := new(big.Int).SetString(a, 10)
		by, oky := new(big.Int).SetString(b, 10)
		if okx && oky {
			return bx.Cmp(by) < 0
		}
	case typ == "FLOAT" || typ == "DOUBLE" || strings.HasPrefix(typ, "DECIMAL"):
		x, errx := strconv.ParseFloat(a, 64)
		y, erry := strconv.ParseFloat(b, 64)
		if errx == nil && erry == nil {
			return x < y
		}
	}
	return a < b // text, dates and timestamps in ISO form, booleans
}

func scalar(typ string) bool {
	return !strings.ContainsAny(typ, "[(") || strings.HasPrefix(typ, "DECIMAL")
}

// clip bounds a statistic's text so one huge cell cannot bloat an asset's record.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func textRows(ctx context.Context, conn *sql.Conn, q string, n int) ([][]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := [][]string{}
	cells := make([]sql.NullString, n)
	ptrs := make([]any, n)
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, n)
		for i, c := range cells {
			row[i] = clip(c.String)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// Export writes the Parquet file src to dst as CSV (with formula cells neutralised) or
// as Parquet.
func (e *Engine) Export(ctx context.Context, src, dst, format string) (err error) {
	defer dx.WrapOp(&err, "duckdb.Export")
	return e.export(ctx, src, dst, format, nil)
}

// ExportMasked exports with the named columns masked.
func (e *Engine) ExportMasked(ctx context.Context, src, dst, format string, masks map[string]engine.Mask) (err error) {
	defer dx.WrapOp(&err, "duckdb.ExportMasked")
	return e.export(ctx, src, dst, format, masks)
}

// maskSQL is the SQL expression masking column id (as text) the way m says; it must
// agree with classify.Mask.
func maskSQL(id string, m engine.Mask) string {
	v := "CAST(" + id + " AS VARCHAR)"
	keep := func(first, last int) string {
		return fmt.Sprintf("CASE WHEN length(%[1]s) <= %[2]d THEN repeat('*', length(%[1]s)) ELSE left(%[1]s, %[3]d) || repeat('*', length(%[1]s) - %[2]d) || right(%[1]s, %[4]d) END",
			v, first+last, first, last)
	}
	var expr string
	switch m.Kind {
	case engine.MaskKeep:
		expr = keep(m.First, m.Last)
	case engine.MaskName:
		expr = fmt.Sprintf("CASE WHEN left(%[1]s, 2) IN ('欧阳','司马','上官','诸葛','东方','皇甫','令狐','慕容','尉迟','长孙','宇文','司徒','夏侯','公孙','轩辕','澹台','端木','西门','南宫','独孤') "+
			"THEN left(%[1]s, 2) || repeat('*', greatest(1, length(%[1]s) - 2)) ELSE %[2]s END", v, keep(1, 0))
	case engine.MaskAddress:
		expr = fmt.Sprintf("CASE WHEN regexp_matches(%[1]s, '[区县旗]') THEN regexp_extract(%[1]s, '^.*?[区县旗]') || '********' "+
			"WHEN regexp_matches(%[1]s, '市') THEN regexp_extract(%[1]s, '^.*?市') || '********' ELSE %[2]s END", v, keep(3, 0))
	case engine.MaskEmail:
		expr = fmt.Sprintf("CASE WHEN strpos(%[1]s, '@') > 1 THEN left(%[1]s, 1) || '***' || substr(%[1]s, strpos(%[1]s, '@')) ELSE %[2]s END", v, keep(1, 1))
	case engine.MaskIP:
		expr = fmt.Sprintf(`CASE WHEN regexp_matches(%[1]s, '^\d+\.\d+\.\d+\.\d+$') THEN regexp_replace(%[1]s, '\.\d+$', '.*') ELSE %[2]s END`, v, keep(4, 0))
	case engine.MaskText:
		expr = fmt.Sprintf(`regexp_replace(regexp_replace(%s, '([0-9]{3})[0-9]{4,12}([0-9Xx]{4})', '\1****\2', 'g'), '([A-Za-z0-9._%%+-])[A-Za-z0-9._%%+-]*@', '\1***@', 'g')`, v)
	case engine.MaskHMAC:
		// HMAC-SHA256(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), with K padded to 64 bytes.
		k := make([]byte, 64)
		copy(k, m.Key)
		ipad, opad := make([]byte, 64), make([]byte, 64)
		for i := range k {
			ipad[i], opad[i] = k[i]^0x36, k[i]^0x5c
		}
		canon := fmt.Sprintf(`upper(regexp_replace(%s, '[\s-]', '', 'g'))`, v)
		expr = fmt.Sprintf("'dxp1_' || left(sha256(unhex('%x') || unhex(sha256(unhex('%x') || encode(%s)))), 32)", opad, ipad, canon)
	default: // hide
		expr = "'******'"
	}
	return fmt.Sprintf("CASE WHEN %s IS NULL OR %s = '' THEN %s ELSE %s END AS %s", id, v, v, expr, id)
}

func (e *Engine) export(ctx context.Context, src, dst, format string, masks map[string]engine.Mask) (err error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	from := "read_parquet(" + literal(src) + ")"
	var q string
	switch format {
	case engine.FormatParquet:
		sel := "*"
		if len(masks) > 0 {
			if sel, err = maskedSelect(ctx, conn, from, masks); err != nil {
				return err
			}
		}
		q = fmt.Sprintf("COPY (SELECT %s FROM %s) TO %s (FORMAT parquet, COMPRESSION zstd)", sel, from, literal(dst))
	case engine.FormatCSV:
		rows, err := conn.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+from+")")
		if err != nil {
			return err
		}
		var exprs []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				rows.Close()
				return err
			}
			id := ident(name)
			if m, ok := masks[name]; ok {
				exprs = append(exprs, maskSQL(id, m)) // masked text never starts a formula
			} else if typ == "VARCHAR" {
				// A cell a spreadsheet would evaluate gets a leading apostrophe (OWASP).
				exprs = append(exprs, fmt.Sprintf(`CASE WHEN regexp_matches(%s, '^[=+\-@\t\r]') THEN '''' || %s ELSE %s END AS %s`, id, id, id, id))
			} else {
				exprs = append(exprs, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(exprs) == 0 {
			exprs = []string{"*"}
		}
		q = fmt.Sprintf("COPY (SELECT %s FROM %s) TO %s (FORMAT csv, HEADER true)", strings.Join(exprs, ", "), from, literal(dst))
	default:
		return dx.Errorf(dx.EInvalid, "不支持的导出格式 %q / unsupported export format %q (want csv or parquet)", format, format)
	}
	if _, err := conn.ExecContext(ctx, q); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

// findCSVError scans a CSV/TSV file that DuckDB refused for its first structural error
// (wrong number of fields, a bad quote) so the user learns the line. It runs only on the
// error path; nil means the scan found nothing to blame.
func findCSVError(src engine.Source) error {
	f, err := os.Open(src.Path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	if src.Format == engine.FormatTSV {
		r.Comma = '\t'
	}
	r.ReuseRecord = true
	if len(src.Columns) > 0 {
		r.FieldsPerRecord = len(src.Columns)
	}
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return fmt.Errorf("第 %d 行的列数与表头（%d 列）不一致 / line %d: the number of fields differs from the header's %d", pe.StartLine, r.FieldsPerRecord, pe.StartLine, r.FieldsPerRecord)
			}
			return fmt.Errorf("第 %d 行格式错误 / line %d: malformed CSV (%v)", pe.StartLine, pe.StartLine, pe.Err)
		}
		if err != nil {
			return nil
		}
	}
}

// Sample draws a seeded reservoir sample of up to n rows of a Parquet file, as text,
// column by column.
func (e *Engine) Sample(ctx context.Context, src string, n int) (names []string, values [][]string, err error) {
	defer dx.WrapOp(&err, "duckdb.Sample")
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT COLUMNS(*)::VARCHAR FROM read_parquet(%s) USING SAMPLE reservoir(%d ROWS) REPEATABLE (7)", literal(src), n))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	if names, err = rows.Columns(); err != nil {
		return nil, nil, err
	}
	values = make([][]string, len(names))
	cells := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		for i, c := range cells {
			values[i] = append(values[i], c.String)
		}
	}
	return names, values, rows.Err()
}

// maskedSelect is the select list of a file with the named columns masked.
func maskedSelect(ctx context.Context, conn *sql.Conn, from string, masks map[string]engine.Mask) (string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM "+from+")")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var exprs []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", err
		}
		if m, ok := masks[name]; ok {
			exprs = append(exprs, maskSQL(ident(name), m))
		} else {
			exprs = append(exprs, ident(name))
		}
	}
	return strings.Join(exprs, ", "), rows.Err()
}

// parser is a data-less, locked in-memory DuckDB used only to parse consumer queries.
var parser struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// ParseSQL returns DuckDB's syntax tree of a query as JSON (null fields skipped); the
// query is a bound parameter, never executed.
func (e *Engine) ParseSQL(ctx context.Context, query string) (tree []byte, err error) {
	defer dx.WrapOp(&err, "duckdb.ParseSQL")
	parser.once.Do(func() {
		db, err := sql.Open("duckdb", "")
		if err == nil {
			_, err = db.Exec("SET enable_external_access = false; SET autoinstall_known_extensions = false; SET autoload_known_extensions = false; SET lock_configuration = true")
		}
		parser.db, parser.err = db, err
	})
	if parser.err != nil {
		return nil, parser.err
	}
	var out string
	// skip_empty would hide ROLLUP's empty grouping set; only nulls are skipped.
	err = parser.db.QueryRowContext(ctx, "SELECT json_serialize_sql(?::VARCHAR, skip_null := true)::VARCHAR", query).Scan(&out)
	return []byte(out), err
}
