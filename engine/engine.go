// Package engine defines the analytic engine that dx uses to read data files, convert
// them to Parquet, describe them and export them. Its one implementation, engine/duckdb,
// is the only package that links DuckDB; everything else sees only this interface.
package engine

import (
	"context"
	"errors"
)

// ErrNotUTF8 is in the chain of an Ingest error when the source is not valid UTF-8.
var ErrNotUTF8 = errors.New("source is not valid UTF-8")

// Formats a source file can have.
const (
	FormatCSV     = "csv"
	FormatTSV     = "tsv"
	FormatJSON    = "json"    // a JSON array of objects, or one object
	FormatNDJSON  = "ndjson"  // one JSON object per line
	FormatParquet = "parquet" // Apache Parquet
)

// Source is a file to ingest. Path names a local file in UTF-8 (the caller converts
// other encodings first). For CSV and TSV, Columns are the header's names as dx cleaned
// them; the engine uses them instead of the file's own header line, which it skips.
type Source struct {
	Path    string
	Format  string
	Columns []string
}

// Column describes one column of a dataset with its statistics.
type Column struct {
	Name      string `json:"name"`
	Type      string `json:"type"` // the engine's SQL type, e.g. BIGINT, VARCHAR, DATE
	NullCount int64  `json:"null_count"`
	Distinct  int64  `json:"distinct_approx"`
	Min       string `json:"min,omitempty"`
	Max       string `json:"max,omitempty"`
}

// Description is what ingestion learns about a dataset.
type Description struct {
	RowCount int64      `json:"row_count"`
	Columns  []Column   `json:"columns"`
	Sample   [][]string `json:"sample"` // the first rows, as text; nil values as ""
}

// Engine reads, converts and exports datasets. Implementations must be safe for
// concurrent use and must never read or write files other than those named in a call.
type Engine interface {
	// Ingest reads src and writes it as one Parquet file to dst (which must not exist),
	// then describes it with up to sampleRows sample rows. Malformed input gives an
	// EUnprocessable error whose message names the problem and, where known, the line.
	Ingest(ctx context.Context, src Source, dst string, sampleRows int) (Description, error)
	// Export writes the Parquet file at src to dst (which must not exist) in format
	// (FormatCSV or FormatParquet). CSV text cells that a spreadsheet would run as a
	// formula (starting with = + - @, tab or carriage return) are prefixed with a quote.
	Export(ctx context.Context, src, dst, format string) error
	// ExportMasked is Export with the named columns masked as they leave (every other
	// column as it is).
	ExportMasked(ctx context.Context, src, dst, format string, masks map[string]Mask) error
	// ParseSQL parses one consumer query with the engine's own parser (on a data-less
	// instance) and returns its syntax tree as JSON, or the parser's error as JSON.
	ParseSQL(ctx context.Context, query string) ([]byte, error)
	// MinHashes hashes, with salt, every value of column in the Parquet file at src (as
	// trimmed upper-case text; NULL and empty values skipped) — or every row, when column
	// is "" — to 64 bits, and returns per bucket (the top `bits` bits of a hash) the
	// minimum of the remaining bits: what a HyperLogLog sketch needs, computed in the
	// engine so no identifier leaves it.
	MinHashes(ctx context.Context, src, column string, salt uint64, bits int) (map[uint64]uint64, error)
	// Sample returns up to n rows of the Parquet file at src, drawn uniformly over the
	// whole file (a seeded reservoir sample, so the same file gives the same rows), with
	// every value as text ("" for NULL), column by column.
	Sample(ctx context.Context, src string, n int) (Columns []string, values [][]string, err error)
}

// Mask is how a column's values are masked at egress.
type Mask struct {
	Kind  string // MaskKeep, MaskName, MaskAddress, MaskEmail, MaskIP, MaskHide, MaskText or MaskHMAC
	First int    // MaskKeep: characters kept at the start
	Last  int    // MaskKeep: characters kept at the end
	Key   []byte // MaskHMAC: the recipient's pseudonym key (at most 64 bytes)
}

// The mask kinds.
const (
	MaskKeep    = "keep"    // first and last characters kept, the rest '*'
	MaskName    = "name"    // the surname kept (compound surnames whole)
	MaskAddress = "address" // kept up to the district (区/县/旗/市), then ********
	MaskEmail   = "email"   // the first character and the domain
	MaskIP      = "ip"      // the last IPv4 octet hidden
	MaskHide    = "hide"    // ******
	// MaskText masks identifiers inside free text: digit runs of 11–19 keep their first
	// 3 and last 4 around ****, e-mail local parts their first character (the same RE2
	// expressions as classify.MaskText).
	MaskText = "text"
	// MaskHMAC replaces a value by a keyed pseudonym: "dxp1_" and the first 128 bits of
	// HMAC-SHA256(Key, value upper-cased without spaces or hyphens), in hex.
	MaskHMAC = "hmac"
)

// Limits bound one sandboxed computation.
type Limits struct {
	Threads     int    // worker threads (≥ 1)
	MemoryLimit string // e.g. "1GB"
}

// Sandbox runs analytic queries that dx itself built over one dataset, never a
// consumer's text: the compute package rewrites a validated query into such SQL.
type Sandbox interface {
	// Compute runs query over the Parquet file at src, which it sees as the table
	// "source" and nothing else: no other file, no network, no extension, no change of
	// settings, bounded memory and threads, cancelled with ctx. Integers come back as
	// int64, uint64 or *big.Int, text as string, maps as map[any]any, NULL as nil.
	Compute(ctx context.Context, src, query string, limits Limits) ([][]any, error)
	// Snapshot writes to dst (which must not exist) the rows of the Parquet file at src
	// whose unit column is not NULL, at most k per unit, chosen by a hash of the whole row
	// keyed with seed (so the choice depends on the unit's own rows only), and returns
	// how many rows it wrote.
	Snapshot(ctx context.Context, src, dst, unit string, k int, seed uint64) (int64, error)
}
