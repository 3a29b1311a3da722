package sourcefile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/dxexchange/dx"
)

func prepare(t *testing.T, name string, content []byte, format string) (Prepared, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "in")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return Prepare(path, name, format, nil, func() (*os.File, error) { return os.CreateTemp(dir, "conv-*") })
}

func read(t *testing.T, p Prepared) string {
	b, err := os.ReadFile(p.Path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEncodings(t *testing.T) {
	const text = "城市,人口\n杭州,1200\n"
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(text))
	gb18030, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text + "𠀀,1\n"))
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
	tests := []struct {
		name    string
		in      []byte
		enc     string
		want    string
		columns []string
	}{
		{"utf8", []byte(text), UTF8, text, []string{"城市", "人口"}},
		{"utf8 bom", append([]byte{0xEF, 0xBB, 0xBF}, text...), UTF8BOM, text, []string{"城市", "人口"}},
		{"gbk", gbk, GB18030, text, []string{"城市", "人口"}},
		{"gb18030 4-byte", gb18030, GB18030, text + "𠀀,1\n", []string{"城市", "人口"}},
		{"utf16le", utf16, UTF16LE, text, []string{"城市", "人口"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := prepare(t, "x.csv", tt.in, "")
			if err != nil {
				t.Fatal(err)
			}
			if p.Encoding != tt.enc || read(t, p) != tt.want || !reflect.DeepEqual(p.Columns, tt.columns) {
				t.Fatalf("got %s %q %q", p.Encoding, read(t, p), p.Columns)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name, file string
		in         []byte
		format     string
		want       string
	}{
		{"empty", "x.csv", nil, "", "empty"},
		{"zip pretending to be csv", "x.csv", []byte("PK\x03\x04 rest of an xlsx"), "", "xlsx"},
		{"binary junk", "x.csv", []byte("abc\x00\x01\x02def"), "", "binary"},
		{"not parquet", "x.parquet", []byte("a,b\n1,2\n"), "", "PAR1"},
		{"only blank lines", "x.csv", []byte("\n\n\n"), "", "header"},
		{"unknown encoding", "x.csv", []byte("a,b\n\xff\xfe\xff\xfe\xff\xff,\x80\x80\x80\x80\n"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := prepare(t, tt.file, tt.in, tt.format)
			if dx.ErrorCode(err) != dx.EUnprocessable || !strings.Contains(dx.ErrorMessage(err), tt.want) {
				t.Fatalf("got %v, want unprocessable mentioning %q", err, tt.want)
			}
		})
	}
}

func TestCleanNames(t *testing.T) {
	names, warnings := CleanNames([]string{" id ", "", "Name", "name", "name", "  "})
	want := []string{"id", "column_2", "Name", "name_2", "name_3", "column_6"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	if len(warnings) != 4 {
		t.Fatalf("warnings = %q", warnings)
	}
}

func TestFormatGuess(t *testing.T) {
	p, err := prepare(t, "upload", []byte("PAR1xxxxPAR1"), "")
	if err != nil || p.Format != "parquet" {
		t.Fatalf("got %+v, %v", p, err)
	}
	p, err = prepare(t, "data.TSV", []byte("a\tb\n1\t2\n"), "")
	if err != nil || p.Format != "tsv" || !reflect.DeepEqual(p.Columns, []string{"a", "b"}) {
		t.Fatalf("got %+v, %v", p, err)
	}
}
