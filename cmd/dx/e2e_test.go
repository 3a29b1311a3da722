package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/party"
)

// TestMain lets the test binary act as the dx command, so tests can start real dx
// processes (and kill them) without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("DX_TEST_AS_DX") == "1" {
		ctx, stop := signalContext()
		defer stop()
		os.Exit(Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// testExchange is a real exchange served on 127.0.0.1:0 with an operator client.
type testExchange struct {
	url string
	op  *client.Client
	x   *exchange
}

func startExchange(t testing.TB, mutate func(*Config)) *testExchange {
	t.Helper()
	cfg := defaultConfig()
	cfg.Data = t.TempDir()
	cfg.Threads = 2
	cfg.EngineMemory = "512MB"
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	x, err := openExchange(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	operator, secret, err := x.bootstrap(ctx, io.Discard)
	if err != nil || secret == "" {
		t.Fatalf("bootstrap: %q %v", secret, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := x.start(ctx, operator, ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { x.serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; x.Close() })
	url := "http://" + ln.Addr().String()
	return &testExchange{url: url, op: client.New(url, secret), x: x}
}

func (te *testExchange) org(t testing.TB, name string, roles ...string) (*client.Client, party.Org) {
	t.Helper()
	res, err := te.op.CreateOrg(context.Background(), party.NewOrg{Name: name, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return client.New(te.url, res.Token), res.Org
}

func register(c *client.Client, name, file, content string, vis string) (asset.Asset, asset.Version, error) {
	res, err := c.Register(context.Background(), asset.Register{Name: name, FileName: file,
		Meta: asset.Meta{Title: asset.Text{Zh: "医疗门诊数据 " + name, En: "Clinic " + name}, Industry: "Q", Region: "330106", Visibility: vis}},
		strings.NewReader(content))
	return res.Asset, res.Version, err
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if dx.ErrorCode(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func download(t *testing.T, c *client.Client, id string, version int, format string) (string, error) {
	var buf bytes.Buffer
	_, _, err := c.Download(context.Background(), id, version, format, 0, &buf)
	return buf.String(), err
}

const clinicCSV = "\uFEFF日期,科室,人数,备注\n2025-01-01,内科,12,=HYPERLINK(\"http://evil\")\n2025-01-02,外科,7,+1+2\n2025-01-03,儿科,3,@SUM(A1)\n2025-01-04,眼科,5,-3\n"

// onBackends runs fn against SQLite and, when DX_TEST_POSTGRES is set, PostgreSQL.
func onBackends(t *testing.T, fn func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite") })
	if os.Getenv("DX_TEST_POSTGRES") != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, freshPostgres(t)) })
	}
}

func TestEndToEnd(t *testing.T) { onBackends(t, testEndToEnd) }

func testEndToEnd(t *testing.T, db string) {
	te := startExchange(t, func(c *Config) { c.DB = db })
	ctx := context.Background()
	prov, provOrg := te.org(t, "医院", "provider")
	cons, consOrg := te.org(t, "研究所", "consumer")
	other, _ := te.org(t, "other", "consumer")

	a, v, err := register(prov, "clinic", "clinic.csv", clinicCSV, asset.Listed)
	if err != nil {
		t.Fatal(err)
	}
	if v.Number != 1 || v.RowCount != 4 || len(v.Columns) != 4 || v.Columns[0].Name != "日期" || v.Columns[2].Type != "BIGINT" || v.SourceEncoding != "utf-8-bom" {
		t.Fatalf("version = %+v", v)
	}
	if a.Rights.Holder != provOrg.ID || a.Rights.ProductOperator != provOrg.ID {
		t.Fatalf("default rights = %+v", a.Rights)
	}
	priv, _, err := register(prov, "internal", "internal.csv", "a,b\n1,2\n", asset.Private)
	if err != nil {
		t.Fatal(err)
	}

	// The consumer finds it with a two-character Chinese query, and with English.
	for _, q := range []string{"医疗", "门诊", "clinic 医疗", "人数"} {
		page, err := cons.Search(ctx, catalog.Query{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Hits) != 1 || page.Hits[0].Asset.ID != a.ID {
			t.Fatalf("search %q: %+v", q, page.Hits)
		}
	}
	// Others' private assets are not revealed.
	_, err = cons.Asset(ctx, priv.ID)
	wantCode(t, err, dx.ENotFound)
	_, err = download(t, cons, priv.ID, 0, "csv")
	wantCode(t, err, dx.ENotFound)
	page, _ := prov.Asset(ctx, priv.ID)
	if page.Asset.ID != priv.ID {
		t.Fatal("owner cannot see its private asset")
	}
	shown, err := cons.Asset(ctx, a.ID)
	if err != nil || len(shown.Version.Sample) != 4 || shown.Version.Columns[2].Min != "3" || shown.Version.Columns[2].Max != "12" {
		t.Fatalf("asset page = %+v, %v", shown.Version, err)
	}

	// No grant: 403 with a hint; request, approve, fetch.
	_, err = download(t, cons, a.ID, 0, "csv")
	wantCode(t, err, dx.EForbidden)
	_, err = cons.RequestAccess(ctx, a.ID, "")
	wantCode(t, err, dx.EInvalid)
	g, err := cons.RequestAccess(ctx, a.ID, "门诊负荷研究")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cons.RequestAccess(ctx, a.ID, "again")
	wantCode(t, err, dx.EConflict)
	_, err = cons.Decide(ctx, g.ID, "approved", "")
	wantCode(t, err, dx.EForbidden) // a consumer cannot approve its own request
	_, err = other.Decide(ctx, g.ID, "approved", "")
	wantCode(t, err, dx.ENotFound) // another organisation's grant is not revealed
	if _, err := prov.Decide(ctx, g.ID, "approved", "ok"); err != nil {
		t.Fatal(err)
	}
	csv, err := download(t, cons, a.ID, 0, "csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`'=HYPERLINK`, `'+1+2`, `'@SUM(A1)`, `'-3`, "日期,科室,人数,备注"} {
		if !strings.Contains(csv, want) {
			t.Errorf("CSV export lacks %q:\n%s", want, csv)
		}
	}
	if strings.Contains(csv, "\n=") || strings.Contains(csv, ",=") {
		t.Errorf("CSV export has a live formula:\n%s", csv)
	}
	// Range: the tail of the same bytes, 206.
	req, _ := http.NewRequest("GET", te.url+"/api/v1/assets/"+a.ID+"/data?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+cons.Token)
	req.Header.Set("Range", "bytes=10-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(tail) != csv[10:] {
		t.Fatalf("range: %d %q", resp.StatusCode, tail)
	}
	pq, err := download(t, cons, a.ID, 0, "parquet")
	if err != nil || !strings.HasPrefix(pq, "PAR1") {
		t.Fatalf("parquet download: %v", err)
	}
	_, err = download(t, cons, a.ID, 0, "xlsx")
	wantCode(t, err, dx.EInvalid)

	// A new version; the old stays readable.
	_, v2, err := register(prov, "clinic", "clinic2.csv", "日期,科室,人数,备注\n2025-02-01,内科,1,x\n", asset.Listed)
	if err != nil || v2.Number != 2 {
		t.Fatalf("re-register: %+v %v", v2, err)
	}
	old, err := download(t, cons, a.ID, 1, "csv")
	if err != nil || old != csv {
		t.Fatalf("version 1 after version 2: %v", err)
	}
	latest, _ := download(t, cons, a.ID, 0, "csv")
	if !strings.Contains(latest, "2025-02-01") || strings.Contains(latest, "2025-01-01") {
		t.Fatalf("latest = %q", latest)
	}
	vs, _ := cons.Versions(ctx, a.ID)
	if len(vs) != 2 {
		t.Fatalf("versions: %d", len(vs))
	}

	// Revocation takes effect at once.
	if _, err := prov.Decide(ctx, g.ID, "revoked", "项目结束"); err != nil {
		t.Fatal(err)
	}
	_, err = download(t, cons, a.ID, 0, "csv")
	wantCode(t, err, dx.EForbidden)

	// Tokens: unknown and revoked ones are refused; a read-only token cannot write.
	_, err = client.New(te.url, "dx_tok_01m8a7hfbqzbmm4ws6wjm1p59b.fmAGi032HI-0uIvrxxgUZlKJUK7cKmaHLRW7NJ5h2nw").Whoami(ctx)
	wantCode(t, err, dx.EUnauthorized)
	_, err = client.New(te.url, "").Whoami(ctx)
	wantCode(t, err, dx.EUnauthorized)
	ro, err := cons.CreateToken(ctx, "", "readonly", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	roc := client.New(te.url, ro.Secret)
	if me, err := roc.Whoami(ctx); err != nil || me.ID != consOrg.ID {
		t.Fatalf("whoami with new token: %+v %v", me, err)
	}
	_, err = roc.RequestAccess(ctx, a.ID, "x")
	wantCode(t, err, dx.EForbidden)
	_, err = roc.CreateToken(ctx, "", "escalate", []string{"write"})
	wantCode(t, err, dx.EForbidden)
	wantCode(t, other.RevokeToken(ctx, ro.Token.ID), dx.ENotFound)
	if err := cons.RevokeToken(ctx, ro.Token.ID); err != nil {
		t.Fatal(err)
	}
	_, err = roc.Whoami(ctx)
	wantCode(t, err, dx.EUnauthorized)
	_, err = cons.CreateOrg(ctx, party.NewOrg{Name: "x", Roles: []string{"provider"}})
	wantCode(t, err, dx.EForbidden)
	_, _, err = register(cons, "mine", "m.csv", "a\n1\n", asset.Listed)
	wantCode(t, err, dx.EForbidden) // consumers do not register data

	// Every state change left an audit event; only operators and regulators read them.
	var evs struct {
		Events []struct {
			Action, Subject, Actor string
		} `json:"events"`
	}
	if err := te.op.Do(ctx, "GET", "/api/v1/events?limit=1000", nil, &evs); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs.Events {
		count[e.Action]++
	}
	want := map[string]int{"org.create": 4, "token.create": 5, "token.revoke": 1, "asset.register": 2, "asset.version": 3,
		"grant.request": 1, "grant.approved": 1, "grant.revoked": 1, "asset.download": 5}
	for action, n := range want {
		if count[action] != n {
			t.Errorf("%d %s events, want %d (all: %v)", count[action], action, n, count)
		}
	}
	wantCode(t, cons.Do(ctx, "GET", "/api/v1/events", nil, nil), dx.EForbidden)
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	te := startExchange(t, nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	resp, err := http.Get(te.url + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	routes := te.x.server.API.Routes()
	n := 0
	for _, rt := range routes {
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is not documented", rt.Method, rt.Path)
			continue
		}
		var o struct {
			Summary   string                     `json:"summary"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
		json.Unmarshal(op, &o)
		if o.Summary == "" || len(o.Responses) < 2 {
			t.Errorf("%s %s: no summary or responses", rt.Method, rt.Path)
		}
		// The route is really served: it answers with something other than the mux's 404/405.
		req, _ := http.NewRequest(rt.Method, te.url+strings.NewReplacer("{id}", "x", "{n}", "1").Replace(rt.Path), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 405 || strings.Contains(string(body), "no such endpoint") {
			t.Errorf("%s %s is documented but not served (%d)", rt.Method, rt.Path, resp.StatusCode)
		}
	}
	for _, ops := range doc.Paths {
		n += len(ops)
	}
	if n != len(routes) {
		t.Errorf("document has %d operations, the route table %d", n, len(routes))
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(te.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp.Status, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/metrics" && !strings.Contains(string(b), `dx_http_requests_total{route="GET /api/v1/openapi.json",code="200"} 2`) {
			t.Errorf("metrics lack the openapi request:\n%s", b)
		}
	}
	resp, _ = http.Get(te.url + "/api/v1/nope")
	var eb struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != 404 || eb.Error.Code != "not_found" || eb.Error.Message == "" {
		t.Fatalf("unknown endpoint: %d %+v", resp.StatusCode, eb)
	}
}

func TestHostileUploads(t *testing.T) {
	te := startExchange(t, func(c *Config) { c.MaxUpload = 64 << 10 })
	prov, _ := te.org(t, "p", "provider")
	tests := []struct {
		name, file, content string
		code, msg           string
	}{
		{"empty", "e.csv", "", dx.EUnprocessable, "empty"},
		{"binary", "b.csv", "\x7fELF\x02\x01\x01\x00\x00\x00", dx.EUnprocessable, "binary"},
		{"xlsx", "b.csv", "PK\x03\x04\x14\x00", dx.EUnprocessable, "xlsx"},
		{"ragged", "r.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n", dx.EUnprocessable, "line 3"},
		{"unterminated quote", "q.csv", "a,b\n1,\"open\n2,3\n", dx.EUnprocessable, "line"},
		{"truncated parquet", "t.parquet", "PAR1\x15\x04\x15", dx.EUnprocessable, "Parquet"},
		{"malformed json", "j.json", `[{"a":1},{"a":`, dx.EUnprocessable, "JSON"},
		{"too large", "big.csv", "a\n" + strings.Repeat("1\n", 40<<10), dx.ETooLarge, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := register(prov, "hostile", tt.file, tt.content, asset.Listed)
			if dx.ErrorCode(err) != tt.code || !strings.Contains(dx.ErrorMessage(err), tt.msg) {
				t.Fatalf("got %v, want %s mentioning %q", err, tt.code, tt.msg)
			}
		})
	}
	// Nothing of the refused uploads is left: no asset, no scratch files.
	page, _ := prov.Search(context.Background(), catalog.Query{})
	if len(page.Hits) != 0 {
		t.Fatalf("refused uploads left assets: %+v", page.Hits)
	}
	left, _ := os.ReadDir(filepath.Join(te.x.cfg.Data, "blobs", "tmp"))
	for _, e := range left {
		if e.Name() != "duckdb" {
			t.Errorf("scratch file left behind: %s", e.Name())
		}
	}

	accepted := []struct {
		name, file, content string
		check               func(v asset.Version) bool
	}{
		{"path traversal name", "../../../etc/passwd.csv", "a\n1\n", func(v asset.Version) bool { return v.SourceName == "passwd.csv" }},
		{"header only", "h.csv", "a,b\n", func(v asset.Version) bool { return v.RowCount == 0 && len(v.Columns) == 2 }},
		{"duplicate and blank columns", "d.csv", "x,x,,X\n1,2,3,4\n", func(v asset.Version) bool {
			return v.Columns[1].Name == "x_2" && v.Columns[2].Name == "column_3" && v.Columns[3].Name == "X_3" && len(v.Warnings) == 3
		}},
		{"ndjson", "n.ndjson", "{\"城市\":\"杭州\",\"n\":1}\n{\"城市\":\"宁波\",\"n\":2}\n", func(v asset.Version) bool { return v.RowCount == 2 && v.Columns[0].Name == "城市" }},
		{"wide", "w.csv", wideCSV(2000), func(v asset.Version) bool { return len(v.Columns) == 2000 && v.RowCount == 2 }},
	}
	for i, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			_, v, err := register(prov, fmt.Sprintf("ok-%d", i), tt.file, tt.content, asset.Listed)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(v) {
				t.Fatalf("version = %+v", v)
			}
		})
	}
	// A malformed request body and an oversized JSON body.
	resp, err := http.Post(te.url+"/api/v1/assets", "text/plain", strings.NewReader("x"))
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("unauthenticated upload: %v %v", resp.Status, err)
	}
	err = prov.Do(context.Background(), "POST", "/api/v1/grants", map[string]string{"asset_id": "x", "purpose": strings.Repeat("长", 1<<20)}, nil)
	wantCode(t, err, dx.ETooLarge)
	err = prov.Do(context.Background(), "POST", "/api/v1/grants", map[string]any{"asset_id": 5}, nil)
	wantCode(t, err, dx.EInvalid)
}

func wideCSV(cols int) string {
	var b strings.Builder
	for r := range 3 {
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			if r == 0 {
				fmt.Fprintf(&b, "c%d", c)
			} else {
				fmt.Fprintf(&b, "%d", r*c)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestConcurrentRegistrationOfOneName(t *testing.T) { onBackends(t, testConcurrentRegistration) }

func testConcurrentRegistration(t *testing.T, db string) {
	te := startExchange(t, func(c *Config) { c.DB = db })
	prov, _ := te.org(t, "p", "provider")
	var wg sync.WaitGroup
	var mu sync.Mutex
	numbers := map[int]bool{}
	ids := map[string]bool{}
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, v, err := register(prov, "same", "s.csv", fmt.Sprintf("n\n%d\n", i), asset.Listed)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			numbers[v.Number], ids[a.ID] = true, true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 || len(numbers) != 4 || !numbers[1] || !numbers[4] {
		t.Fatalf("assets %v, versions %v: want one asset with versions 1–4", ids, numbers)
	}
}

// TestKillDuringIngestion kills a real dx process while it ingests a large upload and
// checks that the restarted exchange has no trace of the half-registered asset.
func TestKillDuringIngestion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills dx processes")
	}
	data := t.TempDir()
	addr := freeAddr(t)
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--data", data, "--engine-threads", "1", "--log-level", "error")
		cmd.Env = append(os.Environ(), "DX_TEST_AS_DX=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				return cmd, &out
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("dx did not start: %s", out.String())
		return nil, nil
	}
	cmd, out := start()
	var secret string
	for _, line := range strings.Split(out.String(), "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "dx_tok_") {
			secret = s
		}
	}
	op := client.New("http://"+addr, secret)
	res, err := op.CreateOrg(context.Background(), party.NewOrg{Name: "p", Roles: []string{"provider"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	prov := client.New("http://"+addr, res.Token)

	// An endless upload: the server is killed while it streams and ingests.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("id,name,value\n"))
		line := []byte("12345,杭州市西湖区某某路,98765.4321\n")
		for {
			if _, err := pw.Write(bytes.Repeat(line, 1000)); err != nil {
				return
			}
		}
	}()
	errc := make(chan error, 1)
	go func() {
		_, err := prov.Register(context.Background(), asset.Register{Name: "killed", FileName: "k.csv",
			Meta: asset.Meta{Title: asset.Text{Zh: "中断"}, Industry: "A"}}, pr)
		errc <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	pw.CloseWithError(io.ErrClosedPipe)
	if err := <-errc; err == nil {
		t.Fatal("upload succeeded although the server was killed")
	}

	cmd, out = start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	page, err := op.Search(context.Background(), catalog.Query{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(page.Hits) != 0 {
		t.Fatalf("a half-registered asset survived the kill: %+v", page.Hits)
	}
	// The restarted exchange works, and the name is free.
	if _, _, err := register(prov, "killed", "k.csv", "id\n1\n", asset.Listed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "首次启动") {
		t.Fatal("the restart bootstrapped a second operator")
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRegisterInPlace(t *testing.T) {
	imports := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(imports, "ok.csv"), []byte("城市,人口\n杭州,1200\n"), 0o600)
	gbk := []byte("\xb3\xc7\xca\xd0,\xc8\xcb\xbf\xda\n\xba\xbc\xd6\xdd,1200\n") // 城市,人口 / 杭州,1200 in GBK
	os.WriteFile(filepath.Join(imports, "gbk.csv"), gbk, 0o600)
	os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("a\n1\n"), 0o600)
	os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(imports, "link.csv"))
	te := startExchange(t, func(c *Config) { c.ImportDir = imports })
	prov, _ := te.org(t, "p", "provider")
	reg := func(path string) (asset.Version, error) {
		res, err := prov.Register(context.Background(), asset.Register{Name: "inplace", ImportPath: path,
			Meta: asset.Meta{Title: asset.Text{Zh: "就地登记"}, Industry: "A"}}, nil)
		return res.Version, err
	}
	v, err := reg("ok.csv")
	if err != nil || v.RowCount != 1 || v.Columns[0].Name != "城市" || v.SourceName != "ok.csv" || len(v.SourceDigest) != 64 {
		t.Fatalf("in place: %+v %v", v, err)
	}
	v, err = reg(filepath.Join(imports, "gbk.csv"))
	if err != nil || v.SourceEncoding != "gb18030" || v.Columns[1].Name != "人口" || v.Sample[0][0] != "杭州" {
		t.Fatalf("in place GBK: %+v %v", v, err)
	}
	for _, bad := range []string{"../" + filepath.Base(outside) + "/secret.csv", filepath.Join(outside, "secret.csv"), "link.csv", "/etc/passwd"} {
		_, err := reg(bad)
		if c := dx.ErrorCode(err); c != dx.EForbidden && c != dx.ENotFound {
			t.Errorf("%s: %v, want forbidden or not found", bad, err)
		}
	}
	_, err = reg("missing.csv")
	wantCode(t, err, dx.ENotFound)
	// Without an import directory, in-place registration is off.
	te2 := startExchange(t, nil)
	prov2, _ := te2.org(t, "p", "provider")
	_, err = prov2.Register(context.Background(), asset.Register{Name: "x", ImportPath: "ok.csv", Meta: asset.Meta{Title: asset.Text{Zh: "x"}, Industry: "A"}}, nil)
	wantCode(t, err, dx.EForbidden)
}
