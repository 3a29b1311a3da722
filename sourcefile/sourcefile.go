// Package sourcefile inspects an uploaded data file before the engine reads it: it
// decides the format, refuses files that are empty or really binary, detects the text
// encoding (UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK) and converts to
// UTF-8 when needed, and reads the CSV/TSV header to give every column a usable,
// unique name.
//
// Real Chinese files arrive in GBK from Excel, with BOMs, blank or repeated header
// cells: this package makes them regular, and says what it changed.
package sourcefile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/engine"
)

// Encodings reported in Prepared.Encoding.
const (
	UTF8     = "utf-8"
	UTF8BOM  = "utf-8-bom"
	UTF16LE  = "utf-16le"
	UTF16BE  = "utf-16be"
	GB18030  = "gb18030" // a superset of GBK and GB2312
	Binary   = "binary"  // Parquet
	headSize = 64 << 10
)

// Prepared is a file ready for the engine.
type Prepared struct {
	Path     string   // UTF-8 file to read (the input itself, or a converted copy)
	Format   string   // engine.Format…
	Encoding string   // the encoding found in the input
	Columns  []string // CSV/TSV: cleaned header names
	Warnings []string // what was changed, in Chinese and English
}

// FormatFromName guesses a format from a file name's extension, or returns "".
func FormatFromName(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv", ".txt":
		return engine.FormatCSV
	case ".tsv", ".tab":
		return engine.FormatTSV
	case ".json":
		return engine.FormatJSON
	case ".ndjson", ".jsonl":
		return engine.FormatNDJSON
	case ".parquet", ".pq":
		return engine.FormatParquet
	}
	return ""
}

func unprocessable(format string, args ...any) error {
	return dx.Errorf(dx.EUnprocessable, format, args...)
}

// sniffBinary names the kind of a binary file from its first bytes, or returns "".
func sniffBinary(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "ZIP/Excel (xlsx)"
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return "Excel 97-2003 (xls)"
	case bytes.HasPrefix(head, []byte("%PDF")):
		return "PDF"
	case bytes.HasPrefix(head, []byte{0x1F, 0x8B}):
		return "gzip"
	case bytes.HasPrefix(head, []byte("\x89PNG")), bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "image"
	case bytes.HasPrefix(head, []byte("\x7FELF")):
		return "executable"
	case bytes.IndexByte(head, 0) >= 0:
		return "binary"
	}
	return ""
}

// Prepare inspects the file at path (a scratch file), declared to have format ("" to
// guess from name and content). isUTF8, if not nil, is what a Spool found out about the
// whole file; nil makes Prepare read the file to find out. When the file must be
// converted, newScratch makes the UTF-8 copy; the caller removes Prepared.Path if it
// differs from path.
func Prepare(path, name, format string, isUTF8 *bool, newScratch func() (*os.File, error)) (p Prepared, err error) {
	defer dx.WrapOp(&err, "sourcefile.Prepare")
	f, err := os.Open(path)
	if err != nil {
		return Prepared{}, err
	}
	defer f.Close()
	head := make([]byte, headSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Prepared{}, err
	}
	head = head[:n]
	if n == 0 {
		return Prepared{}, unprocessable("文件为空 / the file is empty (0 bytes)")
	}
	if format == "" {
		format = FormatFromName(name)
	}
	if format == "" && bytes.HasPrefix(head, []byte("PAR1")) {
		format = engine.FormatParquet
	}
	if format == "" {
		format = engine.FormatCSV
	}
	p = Prepared{Path: path, Format: format}
	if format == engine.FormatParquet {
		if !bytes.HasPrefix(head, []byte("PAR1")) {
			return Prepared{}, unprocessable("不是 Parquet 文件（缺少 PAR1 标记）/ not a Parquet file (no PAR1 magic)")
		}
		p.Encoding = Binary
		return p, nil
	}

	var dec *encoding.Decoder
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		p.Encoding = UTF8BOM
		dec = unicode.UTF8BOM.NewDecoder()
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		p.Encoding = UTF16LE
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		p.Encoding = UTF16BE
		dec = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	default:
		if kind := sniffBinary(head); kind != "" {
			return Prepared{}, unprocessable("文件是二进制（%s），不是 %s 文本；请导出为 CSV / the file is binary (%s), not %s text; export it as CSV", kind, format, kind, format)
		}
		var valid bool
		if isUTF8 != nil {
			valid = *isUTF8
		} else if valid, err = validUTF8(f); err != nil {
			return Prepared{}, err
		}
		if valid {
			p.Encoding = UTF8
		} else {
			p.Encoding = GB18030
			dec = simplifiedchinese.GB18030.NewDecoder()
		}
	}
	if dec != nil {
		if p.Path, err = convert(path, dec, p.Encoding, newScratch); err != nil {
			return Prepared{}, err
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("已从 %s 转换为 UTF-8 / converted from %s to UTF-8", p.Encoding, p.Encoding))
	}
	if format == engine.FormatCSV || format == engine.FormatTSV {
		if err := p.readHeader(); err != nil {
			if p.Path != path {
				os.Remove(p.Path)
			}
			return Prepared{}, err
		}
	}
	return p, nil
}

// validUTF8 reports whether the whole of f (from its start) is valid UTF-8.
func validUTF8(f *os.File) (bool, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	sp := NewSpool(io.Discard, true)
	_, err := sp.ReadFrom(f)
	_, _, ok := sp.Finish()
	return ok, err
}

// maxBadRatio is the share of undecodable characters above which a file's encoding is
// declared unknown rather than converted with replacement characters.
const maxBadRatio = 0.001

// convert writes a UTF-8 copy of path decoded with dec to a new scratch file.
func convert(path string, dec *encoding.Decoder, enc string, newScratch func() (*os.File, error)) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := newScratch()
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	r := bufio.NewReaderSize(transform.NewReader(in, dec), 1<<20)
	var runes, bad int64
	for {
		c, size, err := r.ReadRune()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Close()
			os.Remove(out.Name())
			return "", err
		}
		runes++
		if c == utf8.RuneError && size == 3 {
			bad++
		}
		w.WriteRune(c)
	}
	if err := w.Flush(); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	out.Close()
	if bad > 0 && float64(bad) > maxBadRatio*float64(runes) {
		os.Remove(out.Name())
		return "", unprocessable("无法识别文件编码（按 %s 解码有 %d 处错误）；请转存为 UTF-8 / cannot determine the file's encoding (%d errors decoding as %s); save it as UTF-8", enc, bad, bad, enc)
	}
	return out.Name(), nil
}

// readHeader reads the first record of a CSV/TSV file and cleans its names.
func (p *Prepared) readHeader() error {
	f, err := os.Open(p.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	if p.Format == engine.FormatTSV {
		r.Comma = '\t'
	}
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return unprocessable("文件没有表头行 / the file has no header line")
	}
	if err != nil {
		return unprocessable("表头无法解析 / cannot parse the header line: %v", err)
	}
	if len(header) == 1 && strings.TrimSpace(header[0]) == "" {
		return unprocessable("表头为空 / the header line is empty")
	}
	names, warnings := CleanNames(header)
	p.Columns = names
	p.Warnings = append(p.Warnings, warnings...)
	return nil
}

// CleanNames trims header names, names blank ones column_N (1-based position) and makes
// repeated ones unique with a _2, _3 … suffix, comparing without regard to case.
func CleanNames(header []string) (names, warnings []string) {
	names = make([]string, len(header))
	used := map[string]bool{}
	for i, h := range header {
		n := strings.TrimSpace(strings.ToValidUTF8(h, "\uFFFD"))
		if n == "" {
			n = fmt.Sprintf("column_%d", i+1)
			warnings = append(warnings, fmt.Sprintf("第 %d 列表头为空，命名为 %s / column %d has a blank header, named %s", i+1, n, i+1, n))
		}
		base := n
		for k := 2; used[strings.ToLower(n)]; k++ {
			n = fmt.Sprintf("%s_%d", base, k)
		}
		if n != base {
			warnings = append(warnings, fmt.Sprintf("第 %d 列表头 %q 重复，改名为 %s / column %d repeats the header %q, renamed %s", i+1, base, n, i+1, base, n))
		}
		used[strings.ToLower(n)] = true
		names[i] = n
	}
	return names, warnings
}
