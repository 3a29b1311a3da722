package duckdb

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/classify"
	"github.com/dxexchange/dx/engine"
)

func open(t *testing.T) *Engine {
	t.Helper()
	e, err := Open(Config{Threads: 2, MemoryLimit: "512MB", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFooterStatsMatchAScan checks the statistics read from the Parquet footer against an
// exact aggregation over the data, on a file with several row groups, negative numbers
// (whose text order differs from their numeric order), dates, nulls and text.
func TestFooterStatsMatchAScan(t *testing.T) {
	e := open(t)
	dst := filepath.Join(t.TempDir(), "x.parquet")
	q := fmt.Sprintf(`COPY (SELECT i AS id, (i %% 1000) - 500 AS signed, CASE WHEN i %% 7 = 0 THEN NULL ELSE i * 1.5 END AS amount,
		DATE '2024-01-01' + (i %% 400)::INTEGER AS day, 'name-' || (i %% 97) AS label, i %% 2 = 0 AS flag
		FROM range(300000) t(i)) TO %s (FORMAT parquet, ROW_GROUP_SIZE 50000)`, literal(dst))
	if _, err := e.db.Exec(q); err != nil {
		t.Fatal(err)
	}
	conn, _ := e.db.Conn(context.Background())
	defer conn.Close()
	d, err := describe(context.Background(), conn, dst, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d.RowCount != 300000 || len(d.Columns) != 6 || len(d.Sample) != 3 {
		t.Fatalf("description = %+v", d)
	}
	for _, c := range d.Columns {
		var mn, mx sql.NullString
		var nulls int64
		id := ident(c.Name)
		err := e.db.QueryRow(fmt.Sprintf("SELECT min(%s)::VARCHAR, max(%s)::VARCHAR, count(*) - count(%s) FROM read_parquet(%s)", id, id, id, literal(dst))).Scan(&mn, &mx, &nulls)
		if err != nil {
			t.Fatal(err)
		}
		if c.Min != mn.String || c.Max != mx.String || c.NullCount != nulls {
			t.Errorf("%s: footer says min %q max %q nulls %d; a scan says %q %q %d", c.Name, c.Min, c.Max, c.NullCount, mn.String, mx.String, nulls)
		}
		if c.Distinct <= 0 {
			t.Errorf("%s: distinct %d", c.Name, c.Distinct)
		}
	}
}

func TestIngestErrorsNameTheLine(t *testing.T) {
	e := open(t)
	tests := []struct {
		name, content, format string
		columns               []string
		want                  string
	}{
		{"short row", "a,b,c\n1,2,3\n4,5\n", engine.FormatCSV, []string{"a", "b", "c"}, "line 3"},
		{"long row deep in the file", "a,b\n" + strings.Repeat("1,2\n", 60000) + "1,2,3\n", engine.FormatCSV, []string{"a", "b"}, "line 60002"},
		{"tsv", "a\tb\n1\t2\t3\n", engine.FormatTSV, []string{"a", "b"}, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := engine.Source{Path: write(t, "in", tt.content), Format: tt.format, Columns: tt.columns}
			dst := filepath.Join(t.TempDir(), "out.parquet")
			_, err := e.Ingest(context.Background(), src, dst, 5)
			if dx.ErrorCode(err) != dx.EUnprocessable || !strings.Contains(dx.ErrorMessage(err), tt.want) {
				t.Fatalf("got %v, want unprocessable naming %q", err, tt.want)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Fatal("a failed ingestion left its output")
			}
		})
	}
}

func TestLateTypeChangeRetriesWithFullSniff(t *testing.T) {
	e := open(t)
	content := "id,v\n" + strings.Repeat("1,2\n", 200000) + "x,N/A\n"
	d, err := e.Ingest(context.Background(), engine.Source{Path: write(t, "in.csv", content), Format: engine.FormatCSV}, filepath.Join(t.TempDir(), "o.parquet"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.RowCount != 200001 || d.Columns[0].Type != "VARCHAR" || d.Columns[1].Max != "N/A" {
		t.Fatalf("description = %+v", d.Columns)
	}
}

func TestExportNeutralisesFormulas(t *testing.T) {
	e := open(t)
	dst := filepath.Join(t.TempDir(), "x.parquet")
	src := write(t, "in.csv", "n,text\n-5,=1+1\n2,+SUM(A1)\n3,@cmd\n4,-2\n5,safe\n6,\"\ttab\"\n")
	if _, err := e.Ingest(context.Background(), engine.Source{Path: src, Format: engine.FormatCSV}, dst, 0); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.csv")
	if err := e.Export(context.Background(), dst, out, engine.FormatCSV); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	want := "n,text\n-5,'=1+1\n2,'+SUM(A1)\n3,'@cmd\n4,'-2\n5,safe\n6,'\ttab\n"
	if string(b) != want {
		t.Fatalf("export =\n%q\nwant\n%q", b, want)
	}
	if err := e.Export(context.Background(), dst, out+"2", "xlsx"); dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("xlsx export: %v", err)
	}
}

// TestSampleIsUniformAndRepeatable: the sample reaches rows far into the file, NULLs come
// back as "", and the same file gives the same sample.
func TestSampleIsUniformAndRepeatable(t *testing.T) {
	e := open(t)
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range 100000 {
		if i%10 == 0 {
			fmt.Fprintf(&b, "%d,\n", i)
		} else {
			fmt.Fprintf(&b, "%d,n%d\n", i, i)
		}
	}
	dst := filepath.Join(t.TempDir(), "o.parquet")
	if _, err := e.Ingest(context.Background(), engine.Source{Path: write(t, "in.csv", b.String()), Format: engine.FormatCSV}, dst, 1); err != nil {
		t.Fatal(err)
	}
	names, values, err := e.Sample(context.Background(), dst, 1000)
	if err != nil || len(names) != 2 || names[1] != "name" || len(values[0]) != 1000 {
		t.Fatalf("sample: %v %d %v", names, len(values[0]), err)
	}
	late, empty := 0, 0
	for i, id := range values[0] {
		var n int
		fmt.Sscan(id, &n)
		if n >= 50000 {
			late++
		}
		if values[1][i] == "" {
			empty++
		}
	}
	if late < 400 || late > 600 || empty == 0 {
		t.Fatalf("not uniform: %d of 1000 from the second half, %d empty", late, empty)
	}
	_, again, _ := e.Sample(context.Background(), dst, 1000)
	if strings.Join(again[0], ",") != strings.Join(values[0], ",") {
		t.Fatal("the sample is not repeatable")
	}
}

// TestMasksAgreeWithClassify: the SQL masks applied at egress give exactly what
// classify.Mask shows on the asset page, column by column; NULLs and empty cells stay.
func TestMasksAgreeWithClassify(t *testing.T) {
	e := open(t)
	cols := []struct {
		typ    classify.Type
		values []string
	}{
		{classify.IDCardType, []string{"11010519491231002X", "440524188001010014"}},
		{classify.MobileType, []string{"13812345678", "19912345678"}},
		{classify.BankCardType, []string{"6222021234567894", "6228484848240124626"}},
		{classify.NameType, []string{"张三", "欧阳娜娜"}},
		{classify.AddressType, []string{"北京市海淀区中关村大街1号", "上海市黄浦路1号"}},
		{classify.EmailType, []string{"zhang.san@example.com", "x@y.cn"}},
		{classify.IPType, []string{"192.0.2.10", "2001:db8::1"}},
		{classify.PlateType, []string{"苏D12340", "京A12345"}},
		{classify.CredentialTyp, []string{"hunter2", "s3cr3t"}},
		{classify.FreeTextType, []string{"客户张三身份证11010519491231002X；电话13812345678 邮箱zhang.san@example.com 已回访", "订单 2024 金额 88.5 元；卡号6222021234567894"}},
	}
	var b strings.Builder
	masks := map[string]engine.Mask{}
	for i, c := range cols {
		if i > 0 {
			b.WriteString(",")
		}
		name := fmt.Sprintf("c%d", i)
		b.WriteString(name)
		kind, first, last := classify.MaskSpec(c.typ)
		masks[name] = engine.Mask{Kind: kind, First: first, Last: last}
	}
	b.WriteString(",amount\n")
	for row := range 3 {
		for i, c := range cols {
			if i > 0 {
				b.WriteString(",")
			}
			if row < 2 {
				b.WriteString(c.values[row])
			}
		}
		fmt.Fprintf(&b, ",%d\n", row*10)
	}
	src := filepath.Join(t.TempDir(), "o.parquet")
	if _, err := e.Ingest(context.Background(), engine.Source{Path: write(t, "in.csv", b.String()), Format: engine.FormatCSV}, src, 1); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "masked.csv")
	if err := e.ExportMasked(context.Background(), src, dst, engine.FormatCSV, masks); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(dst)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for row := range 2 {
		cells := strings.Split(lines[1+row], ",")
		for i, c := range cols {
			if want := classify.Mask(c.typ, c.values[row]); cells[i] != want {
				t.Errorf("%s %q: SQL mask %q, classify.Mask %q", c.typ, c.values[row], cells[i], want)
			}
		}
		if cells[len(cols)] != fmt.Sprint(row*10) {
			t.Errorf("an unmasked column changed: %q", cells[len(cols)])
		}
	}
	if empty := strings.Split(lines[3], ","); empty[0] != "" {
		t.Errorf("an empty cell was masked: %q", lines[3])
	}
}

// TestHMACPseudonymsMatchGo: the SQL pseudonyms are HMAC-SHA256 as crypto/hmac computes
// it, over the canonical value, and differ between keys.
func TestHMACPseudonymsMatchGo(t *testing.T) {
	e := open(t)
	src := filepath.Join(t.TempDir(), "o.parquet")
	values := []string{"11010519491231002X", "139-1234 5678", "zhang.san@example.com", "张三"}
	if _, err := e.Ingest(context.Background(), engine.Source{Path: write(t, "in.csv", "v\n"+strings.Join(values, "\n")+"\n"), Format: engine.FormatCSV}, src, 1); err != nil {
		t.Fatal(err)
	}
	pseudonyms := func(key []byte) []string {
		dst := filepath.Join(t.TempDir(), "p.csv")
		if err := e.ExportMasked(context.Background(), src, dst, engine.FormatCSV, map[string]engine.Mask{"v": {Kind: engine.MaskHMAC, Key: key}}); err != nil {
			t.Fatal(err)
		}
		out, _ := os.ReadFile(dst)
		return strings.Split(strings.TrimSpace(string(out)), "\n")[1:]
	}
	key := []byte("recipient key of 32 bytes here!!")
	got := pseudonyms(key)
	for i, v := range values {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(v))))
		if want := "dxp1_" + hex.EncodeToString(mac.Sum(nil))[:32]; got[i] != want {
			t.Errorf("%s: SQL %s, Go %s", v, got[i], want)
		}
	}
	if other := pseudonyms([]byte("another recipient")); other[0] == got[0] {
		t.Fatal("two keys gave the same pseudonym")
	}
}
