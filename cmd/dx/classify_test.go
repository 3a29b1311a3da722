package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/classify"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/party"
)

// TestRegistrationClassifies registers a file of customer records as a new user would:
// the version shows which columns hold what and why, the proposed grade (4级: one
// customer is a minor), and a sample and column statistics with personal data masked.
func TestRegistrationClassifies(t *testing.T) {
	te := startExchange(t, nil)
	prov, _ := te.org(t, "零售公司", "provider")
	var b strings.Builder
	b.WriteString("姓名,身份证号,手机号,地址,消费金额\n")
	names := []string{"张三", "李小明", "王芳", "欧阳娜娜", "陈建国"}
	ids := []string{"11010519491231002X", "440524188001010014", "310104198504121237", "510107197706010019", "110105201512313603"}
	for i := range 200 {
		fmt.Fprintf(&b, "%s,%s,1%d%08d,浙江省杭州市西湖区文三路%d号,%d.%02d\n", names[i%5], ids[i%5], []int{39, 86, 50, 88, 99}[i%5], 12345678+i*7919, i+1, i*3, i%100)
	}
	res, err := prov.Register(context.Background(), asset.Register{Name: "customers", FileName: "customers.csv",
		Meta: asset.Meta{Title: asset.Text{Zh: "客户档案"}, Industry: "F"}}, strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Version.Classification
	if p == nil {
		t.Fatal("no classification")
	}
	found := map[string]classify.Type{}
	for _, c := range p.Columns {
		for _, f := range c.Findings {
			found[c.Name] = f.Type
			if f.Reason == "" {
				t.Errorf("%s: a finding without a reason", c.Name)
			}
		}
	}
	want := map[string]classify.Type{"姓名": classify.NameType, "身份证号": classify.IDCardType, "手机号": classify.MobileType, "地址": classify.AddressType}
	for col, typ := range want {
		if found[col] != typ {
			t.Errorf("column %s: found %q, want %s (%+v)", col, found[col], typ, p.Columns)
		}
	}
	if _, ok := found["消费金额"]; ok {
		t.Errorf("amounts classified as %s", found["消费金额"])
	}
	if p.Level != 4 || !p.Minors || !p.Sensitive {
		t.Fatalf("proposal: level %d minors %v sensitive %v\n%v", p.Level, p.Minors, p.Sensitive, p.Reasons)
	}
	page := mustJSON(res.Version.Sample) + mustJSON(res.Version.Columns)
	for _, raw := range append(append([]string{}, ids...), "文三路1号") {
		if strings.Contains(page, raw) {
			t.Fatalf("the asset page shows %s unmasked: %s", raw, page)
		}
	}
	if !strings.Contains(page, "***") {
		t.Fatalf("no masked values on the page: %s", page)
	}
	// A consumer's download is masked; the provider's own is not.
	cons, _ := te.org(t, "研究机构", "consumer")
	g, err := cons.RequestAccess(context.Background(), res.Asset.ID, "客户画像研究")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prov.Decide(context.Background(), g.ID, "approved", ""); err != nil {
		t.Fatal(err)
	}
	page2, err := cons.Search(context.Background(), catalog.Query{Text: "客户档案"})
	if err != nil || len(page2.Hits) != 1 || page2.Hits[0].Asset.Grade != 4 {
		t.Fatalf("the catalog does not show the grade: %+v %v", page2, err)
	}
	var got, own bytes.Buffer
	if _, _, err := cons.Download(context.Background(), res.Asset.ID, 0, "csv", 0, &got); err != nil {
		t.Fatal(err)
	}
	if _, _, err := prov.Download(context.Background(), res.Asset.ID, 0, "csv", 0, &own); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.String(), ids[2]) || !strings.Contains(got.String(), "310***********1237") || !strings.Contains(got.String(), "张*") ||
		!strings.Contains(got.String(), "浙江省杭州市西湖区********") || !strings.Contains(got.String(), ",0.00") && !strings.Contains(got.String(), ",0.0") {
		t.Fatalf("the consumer's download is not masked as it should be:\n%s", got.String()[:min(400, got.Len())])
	}
	if !strings.Contains(own.String(), ids[2]) {
		t.Fatal("the provider's own download is masked")
	}
	// Data holding credentials never leaves.
	creds, err := prov.Register(context.Background(), asset.Register{Name: "accounts", FileName: "accounts.csv",
		Meta: asset.Meta{Title: asset.Text{Zh: "账户"}, Industry: "F"}}, strings.NewReader("用户名,密码\n"+strings.Repeat("alice,hunter22\nbob,s3cr3t-pw\n", 20)))
	if err != nil {
		t.Fatal(err)
	}
	if !creds.Version.Classification.Credentials {
		t.Fatalf("credentials not found: %+v", creds.Version.Classification)
	}
	g2, _ := cons.RequestAccess(context.Background(), creds.Asset.ID, "test")
	prov.Decide(context.Background(), g2.ID, "approved", "")
	_, _, err = cons.Download(context.Background(), creds.Asset.ID, 0, "csv", 0, &got)
	if dx.ErrorCode(err) != dx.EForbidden || dx.ErrorDetails(err)["code"] != "credentials" {
		t.Fatalf("a download of credentials: %v", err)
	}
	// Decisions: the provider cannot lower the level below the proposal nor approve
	// egress; it can mark the data core, and core data never leaves; the operator can
	// lift that. On-demand classification gives the same proposal.
	if _, _, code := dxCLI(t, te.url, prov.Token, "asset", "grade", res.Asset.ID, "--level", "2", "--reason", "只是测试"); code != 3 {
		t.Fatalf("the provider lowered the level: exit %d", code)
	}
	if out, errOut, code := dxCLI(t, te.url, prov.Token, "asset", "grade", res.Asset.ID, "--level", "4", "--core", "--reason", "涉及金融核心客户"); code != 0 || !strings.Contains(out, "core=true") {
		t.Fatalf("grade: %d %s %s", code, out, errOut)
	}
	_, _, err = cons.Download(context.Background(), res.Asset.ID, 0, "csv", 0, &got)
	if dx.ErrorCode(err) != dx.EForbidden || dx.ErrorDetails(err)["code"] != "core-data" {
		t.Fatalf("a download of core data: %v", err)
	}
	if _, errOut, code := dxCLI(t, te.url, te.op.Token, "asset", "grade", res.Asset.ID, "--level", "4", "--reason", "复核：非核心数据"); code != 0 {
		t.Fatalf("operator grade: %d %s", code, errOut)
	}
	got.Reset()
	if _, _, err := cons.Download(context.Background(), res.Asset.ID, 0, "csv", 0, &got); err != nil || strings.Contains(got.String(), ids[2]) {
		t.Fatalf("after the operator's decision: %v", err)
	}
	if out, errOut, code := dxCLI(t, te.url, prov.Token, "asset", "classify", res.Asset.ID); code != 0 || !strings.Contains(out, "4级") {
		t.Fatalf("classify on demand: %d %s %s", code, out, errOut)
	}
	// The CLI shows it.
	out, errOut, code := dxCLI(t, te.url, prov.Token, "asset", "show", res.Asset.ID)
	if code != 0 || !strings.Contains(out, "分级建议 Proposed grade") || !strings.Contains(out, "4级") || !strings.Contains(out, "id_card") || strings.Contains(out, ids[2]) {
		t.Fatalf("asset show: %d %s\n%s", code, errOut, out)
	}
}

// TestAgreementRequiresPseudonyms: under an agreement whose offer carries the duty
// odrl:anonymize, identifiers arrive as keyed pseudonyms — the same for one recipient
// each time, different for another recipient, never the raw value — and names masked.
func TestAgreementRequiresPseudonyms(t *testing.T) {
	te := startExchange(t, nil)
	ctx := context.Background()
	prov, _ := te.org(t, "医院", "provider")
	var b strings.Builder
	b.WriteString("患者姓名,身份证号,就诊科室\n")
	for i := range 60 {
		fmt.Fprintf(&b, "%s,%s,%s\n", []string{"张三", "李四", "王五"}[i%3], []string{"310104198504121237", "510107197706010019", "650102199909098880"}[i%3], []string{"内科", "外科"}[i%2])
	}
	res, err := prov.Register(ctx, asset.Register{Name: "visits", FileName: "v.csv", Meta: asset.Meta{Title: asset.Text{Zh: "就诊"}, Industry: "Q"}}, strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := prov.CreateOffer(ctx, res.Asset.ID, []byte(`{"@type":"Offer","permission":[{"action":"use","duty":[{"action":"odrl:anonymize"}]}]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	download := func(c interface {
		Download(context.Context, string, int, string, int64, io.Writer) (int64, int64, error)
	}) string {
		var buf bytes.Buffer
		if _, _, err := c.Download(ctx, res.Asset.ID, 0, "csv", 0, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	pseudonym := regexp.MustCompile(`dxp1_[0-9a-f]{32}`)
	var seen []string
	for _, name := range []string{"研究所甲", "研究所乙"} {
		cons, _ := te.org(t, name, "consumer")
		if _, err := cons.RequestContract(ctx, offer.ID, nil, ""); err != nil {
			t.Fatal(err)
		}
		first, again := download(cons), download(cons)
		if strings.Contains(first, "310104198504121237") || !strings.Contains(first, "张*") || !strings.Contains(first, "内科") {
			t.Fatalf("%s got:\n%s", name, first[:min(300, len(first))])
		}
		p := pseudonym.FindString(first)
		if p == "" || first != again {
			t.Fatalf("%s: pseudonyms missing or unstable:\n%s", name, first[:min(300, len(first))])
		}
		seen = append(seen, p)
	}
	if seen[0] == seen[1] {
		t.Fatal("two recipients got the same pseudonym for one person")
	}
}

// TestCrossBorderDelivery: a consumer the operator registered in Singapore downloads a
// dataset holding sensitive personal information: refused with the rule named until the
// provider records a standard contract, then delivered masked and counted; a dataset
// without personal information goes abroad without a filing.
func TestCrossBorderDelivery(t *testing.T) {
	te := startExchange(t, nil)
	ctx := context.Background()
	prov, provOrg := te.org(t, "数据公司", "provider")
	res, err := te.op.CreateOrg(ctx, party.NewOrg{Name: "Overseas Research Pte", Roles: []string{"consumer"}, Country: "SG"})
	if err != nil {
		t.Fatal(err)
	}
	abroad := client.New(te.url, res.Token)
	register := func(name, content string) string {
		r, err := prov.Register(ctx, asset.Register{Name: name, FileName: name + ".csv", Meta: asset.Meta{Title: asset.Text{Zh: name}, Industry: "F"}}, strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		g, err := abroad.RequestAccess(ctx, r.Asset.ID, "research")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prov.Decide(ctx, g.ID, "approved", ""); err != nil {
			t.Fatal(err)
		}
		return r.Asset.ID
	}
	var b strings.Builder
	b.WriteString("姓名,身份证号\n")
	for i := range 50 {
		fmt.Fprintf(&b, "%s,%s\n", []string{"张三", "李四"}[i%2], []string{"110105201512313603", "310104198504121237"}[i%2])
	}
	pi := register("customers", b.String())
	plain := register("weather", "城市,温度\n"+strings.Repeat("杭州,21\n上海,19\n", 30))
	var buf bytes.Buffer
	_, _, err = abroad.Download(ctx, pi, 0, "csv", 0, &buf)
	if dx.ErrorCode(err) != dx.EForbidden || dx.ErrorDetails(err)["code"] != "cross-border" || !strings.Contains(dx.ErrorMessage(err), "standard contract") {
		t.Fatalf("sensitive PI abroad without a filing: %v", err)
	}
	if _, _, err := abroad.Download(ctx, plain, 0, "csv", 0, &buf); err != nil {
		t.Fatalf("data without PI abroad: %v", err)
	}
	var f map[string]any
	if err := prov.Do(ctx, "POST", "/api/v1/orgs/"+provOrg.ID+"/filings", map[string]any{"kind": "standard-contract", "reference": "沪网信备2026-001",
		"valid_until": time.Now().AddDate(1, 0, 0)}, &f); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if _, _, err := abroad.Download(ctx, pi, 0, "csv", 0, &buf); err != nil || strings.Contains(buf.String(), "310104198504121237") {
		t.Fatalf("with a standard contract: %v", err)
	}
	// The same persons again (a second download): the year's ledger counts distinct
	// persons, so it adds none.
	buf.Reset()
	if _, _, err := abroad.Download(ctx, pi, 0, "csv", 0, &buf); err != nil {
		t.Fatal(err)
	}
	var events struct {
		Events []struct {
			Action  string         `json:"action"`
			Payload map[string]any `json:"payload"`
		} `json:"events"`
	}
	if err := te.op.Do(ctx, "GET", "/api/v1/events?limit=1000", nil, &events); err != nil {
		t.Fatal(err)
	}
	var counted []any
	for _, e := range events.Events {
		if e.Action == "crossborder.delivery" && e.Payload["persons_by"] == "身份证号" {
			counted = append(counted, e.Payload["sensitive"])
		}
	}
	// 50 rows of 2 persons (counted by their ID numbers), then the same 2 again.
	if len(counted) != 2 || counted[0] != float64(2) || counted[1] != float64(0) {
		t.Fatalf("persons counted per delivery: %v (want [2 0])", counted)
	}
}

// TestClassificationSurvivesHostileTables: a million-character cell, an all-null column,
// mixed Chinese encodings converted on ingestion and two thousand columns are classified
// without failing the registration.
func TestClassificationSurvivesHostileTables(t *testing.T) {
	te := startExchange(t, nil)
	prov, _ := te.org(t, "p", "provider")
	ctx := context.Background()
	huge := strings.Repeat("张", 1_000_000)
	var b strings.Builder
	b.WriteString("备注,空列,手机号\n")
	for i := range 40 {
		cell := "正常"
		if i == 3 {
			cell = huge
		}
		fmt.Fprintf(&b, "%s,,1391234%04d\n", cell, i)
	}
	res, err := prov.Register(ctx, asset.Register{Name: "hostile", FileName: "h.csv", Meta: asset.Meta{Title: asset.Text{Zh: "异常"}, Industry: "A"}}, strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Version.Classification == nil || len(res.Version.Classification.Columns) != 3 {
		t.Fatalf("classification: %+v", res.Version.Classification)
	}
	res, err = prov.Register(ctx, asset.Register{Name: "wide", FileName: "w.csv", Meta: asset.Meta{Title: asset.Text{Zh: "宽表"}, Industry: "A"}}, strings.NewReader(wideCSV(2000)))
	if err != nil || len(res.Version.Classification.Columns) != 2000 {
		t.Fatalf("wide table: %v", err)
	}
}

// TestUnclassifiedVersionIsClassifiedBeforeEgress: a version registered before
// classification existed (its proposal removed here) is classified at its first egress
// and leaves masked.
func TestUnclassifiedVersionIsClassifiedBeforeEgress(t *testing.T) {
	te := startExchange(t, nil)
	ctx := context.Background()
	prov, _ := te.org(t, "老数据", "provider")
	content := "姓名,手机号\n" + strings.Repeat("张三,13912345678\n李四,18612345670\n王芳,15012345679\n", 20)
	res, err := prov.Register(ctx, asset.Register{Name: "legacy", FileName: "l.csv", Meta: asset.Meta{Title: asset.Text{Zh: "老数据"}, Industry: "F"}}, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := te.x.store.(interface{ SQL() *sql.DB }).SQL().Exec(`UPDATE versions SET info = json_remove(info, '$.classification') WHERE id = ?`, res.Version.ID); err != nil {
		t.Fatal(err)
	}
	cons, _ := te.org(t, "c", "consumer")
	g, _ := cons.RequestAccess(ctx, res.Asset.ID, "x")
	prov.Decide(ctx, g.ID, "approved", "")
	var buf bytes.Buffer
	if _, _, err := cons.Download(ctx, res.Asset.ID, 0, "csv", 0, &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "13912345678") || !strings.Contains(buf.String(), "139****5678") {
		t.Fatalf("an unclassified version left unmasked:\n%s", buf.String()[:min(200, buf.Len())])
	}
	var page struct {
		Version asset.Version `json:"version"`
		Grade   asset.Grade   `json:"grade"`
	}
	if err := prov.Do(ctx, "GET", "/api/v1/assets/"+res.Asset.ID, nil, &page); err != nil {
		t.Fatal(err)
	}
	if page.Version.Classification != nil || page.Grade.Proposal == nil || page.Grade.Proposal.Level < 2 {
		t.Fatalf("the late classification was not kept: version %v, grade %+v", page.Version.Classification, page.Grade)
	}
}

// TestScaleCountsPersons: a dataset's scale escalation counts distinct persons (by its
// best identifier), not rows: 120,000 rows of 1,000 customers stay at their level,
// 120,000 customers go one level up.
func TestScaleCountsPersons(t *testing.T) {
	te := startExchange(t, nil)
	prov, _ := te.org(t, "运营商", "provider")
	gen := func(persons int) string {
		var b strings.Builder
		b.WriteString("手机号,消费金额\n")
		for i := range 120_000 {
			fmt.Fprintf(&b, "13%d%08d,%d\n", 5+i%persons%4, (i%persons*48271+12345)%100_000_000, i%500)
		}
		return b.String()
	}
	levels := map[int]string{}
	for _, persons := range []int{1_000, 120_000} {
		_, v, err := register(prov, fmt.Sprintf("calls-%d", persons), "calls.csv", gen(persons), asset.Listed)
		if err != nil {
			t.Fatal(err)
		}
		if v.Classification == nil {
			t.Fatal("not classified")
		}
		levels[persons] = fmt.Sprint(v.Classification.Level, v.Classification.Reasons)
		up := strings.Contains(strings.Join(v.Classification.Reasons, " "), "one level up")
		if up != (persons == 120_000) {
			t.Errorf("%d persons in 120,000 rows: level-up %v (%v)", persons, up, v.Classification.Reasons)
		}
	}
	if levels[1_000] == levels[120_000] {
		t.Fatalf("same proposal for 1,000 and 120,000 persons: %s", levels[1_000])
	}
}

// TestMixedEncodingsInOneColumn: a column with UTF-8 rows and GBK rows is either read
// as one encoding and classified, or refused with a clear 422 — never a crash or a 500.
func TestMixedEncodingsInOneColumn(t *testing.T) {
	te := startExchange(t, nil)
	prov, _ := te.org(t, "p", "provider")
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("王五,13912345678\n")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("姓名,手机号\n")
	for i := range 30 {
		if i%2 == 0 {
			b.WriteString("张三,13812345678\n")
		} else {
			b.WriteString(gbk)
		}
	}
	res, err := prov.Register(context.Background(), asset.Register{Name: "mixed", FileName: "m.csv", Meta: asset.Meta{Title: asset.Text{Zh: "混合编码"}, Industry: "A"}}, strings.NewReader(b.String()))
	switch {
	case err == nil:
		if res.Version.Classification == nil {
			t.Fatal("registered without a classification")
		}
	case dx.ErrorCode(err) == dx.EUnprocessable:
		if !strings.Contains(dx.ErrorMessage(err), "编码") && !strings.Contains(strings.ToLower(dx.ErrorMessage(err)), "encoding") {
			t.Fatalf("refused without naming the encoding: %v", err)
		}
	default:
		t.Fatalf("mixed encodings: %v", err)
	}
}
