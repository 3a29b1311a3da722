package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

// dxCLI runs the CLI in-process against server with token and returns stdout, stderr
// and the exit code.
func dxCLI(t *testing.T, server, token string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	full := append(args, "--server", server, "--token", token)
	code := Run(context.Background(), full, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// TestDemoWithCLI starts `dx demo` as a real process and walks the newcomer's path it
// prints: search the catalog, request access, approve as the provider, fetch — all with
// the CLI — then stops the demo with SIGTERM.
func TestDemoWithCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo process")
	}
	cmd := exec.Command(os.Args[0], "demo", "--addr", "127.0.0.1:0", "--rows", "20000", "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "DX_TEST_AS_DX=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var banner strings.Builder
	sc := bufio.NewScanner(stdout)
	deadline := time.After(2 * time.Minute)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo exited early:\n%s\n%s", banner.String(), stderr.String())
			}
			banner.WriteString(l + "\n")
			if strings.Contains(l, "Ctrl-C") {
				break wait
			}
		case <-deadline:
			t.Fatalf("demo did not start:\n%s\n%s", banner.String(), stderr.String())
		}
	}
	go io.Copy(io.Discard, stdout)
	text := banner.String()
	server := regexp.MustCompile(`DX_SERVER=(\S+)`).FindStringSubmatch(text)
	consumer := regexp.MustCompile(`DX_TOKEN=(dx_\S+)`).FindStringSubmatch(text)
	provider := regexp.MustCompile(`\n\s+DX_TOKEN=(dx_\S+) go run`).FindStringSubmatch(text)
	assetID := regexp.MustCompile(`fetch (ast_\w+)`).FindStringSubmatch(text)
	if server == nil || consumer == nil || provider == nil || assetID == nil {
		t.Fatalf("banner lacks the server, tokens or commands:\n%s", text)
	}
	url, ctok, ptok, id := server[1], consumer[1], provider[1], assetID[1]

	// 1. Search: a two-character query finds the hospital data; --json is machine-readable.
	out, errOut, code := dxCLI(t, url, ctok, "catalog", "search", "医疗")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "门诊") {
		t.Fatalf("search: %d %s %s", code, out, errOut)
	}
	out, _, _ = dxCLI(t, url, ctok, "catalog", "search", "--json", "信用")
	var page struct {
		Hits []struct {
			Asset struct {
				ID   string
				Name string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Hits) != 1 || page.Hits[0].Asset.Name != "enterprise-credit" {
		t.Fatalf("search --json: %v %s", err, out)
	}
	out, _, code = dxCLI(t, url, ctok, "asset", "show", page.Hits[0].Asset.ID)
	if code != 0 || !strings.Contains(out, "gb18030") || !strings.Contains(out, "企业名称") {
		t.Fatalf("asset show of the GBK dataset: %s", out)
	}
	// The provider's private dataset stays hidden from the consumer.
	out, _, _ = dxCLI(t, url, ctok, "asset", "list", "--limit", "100")
	if strings.Contains(out, "内部") || !strings.Contains(out, "空气质量") {
		t.Fatalf("asset list as consumer:\n%s", out)
	}

	// 2. Fetch without a grant: refused with exit code 3 and a hint.
	dir := t.TempDir()
	file := filepath.Join(dir, "visits.csv")
	_, errOut, code = dxCLI(t, url, ctok, "fetch", id, "-o", file)
	if code != 3 || !strings.Contains(errOut, "access request") {
		t.Fatalf("fetch without grant: %d %s", code, errOut)
	}
	if _, err := os.Stat(file + ".part"); !os.IsNotExist(err) {
		t.Fatal("a refused fetch left a partial file")
	}
	out, errOut, code = dxCLI(t, url, ctok, "access", "request", id, "--purpose", "门诊负荷研究")
	grant := regexp.MustCompile(`gnt_\w+`).FindString(out)
	if code != 0 || grant == "" {
		t.Fatalf("request: %d %s %s", code, out, errOut)
	}
	// A consumer cannot approve its own request; the provider can.
	if _, _, code := dxCLI(t, url, ctok, "access", "approve", grant); code != 3 {
		t.Fatalf("consumer approving: exit %d", code)
	}
	if out, errOut, code := dxCLI(t, url, ptok, "access", "approve", grant); code != 0 || !strings.Contains(out, "approved") {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}

	// 3. Fetch: the whole dataset arrives.
	if _, errOut, code := dxCLI(t, url, ctok, "fetch", id, "-o", file); code != 0 {
		t.Fatalf("fetch: %d %s", code, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 20001 || !strings.HasPrefix(string(b), "visit_date,district_code") {
		t.Fatalf("fetched %d lines starting %q", n, string(b[:min(len(b), 60)]))
	}
	// A resumed download completes a partial file to the same bytes.
	os.WriteFile(file+".part", b[:1000], 0o600)
	if _, errOut, code := dxCLI(t, url, ctok, "fetch", id, "-o", file, "--resume"); code != 0 {
		t.Fatalf("resume: %d %s", code, errOut)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, b) {
		t.Fatal("resumed download differs from the whole one")
	}
	// The contract path: an auto-approved offer, a signed agreement, a counted download.
	traffic := regexp.MustCompile(`offer list (ast_\w+)`).FindStringSubmatch(text)
	offer := regexp.MustCompile(`contract request (urn:uuid:[0-9a-f-]+)`).FindStringSubmatch(text)
	if traffic == nil || offer == nil {
		t.Fatalf("banner lacks the contract commands:\n%s", text)
	}
	if out, _, code := dxCLI(t, url, ctok, "offer", "list", traffic[1]); code != 0 || !strings.Contains(out, offer[1]) {
		t.Fatalf("offer list: %d %s", code, out)
	}
	out, errOut, code = dxCLI(t, url, ctok, "contract", "request", offer[1])
	agreement := regexp.MustCompile(`urn:uuid:[0-9a-f-]+`).FindAllString(out, -1)
	if code != 0 || !strings.Contains(out, "FINALIZED") || len(agreement) < 2 {
		t.Fatalf("contract request: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := dxCLI(t, url, ctok, "fetch", traffic[1], "-o", filepath.Join(dir, "traffic.csv")); code != 0 {
		t.Fatalf("fetch under the agreement: %s", errOut)
	}
	out, _, _ = dxCLI(t, url, ctok, "agreement", "list", "--json")
	var ags []struct {
		ID   string
		Uses int64
	}
	if err := json.Unmarshal([]byte(out), &ags); err != nil || len(ags) != 1 || ags[0].Uses != 1 {
		t.Fatalf("agreement list --json: %v %s", err, out)
	}
	agFile := filepath.Join(dir, "agreement.json")
	if _, errOut, code := dxCLI(t, url, ctok, "agreement", "get", agreement[len(agreement)-1], "-o", agFile); code != 0 {
		t.Fatalf("agreement get: %s", errOut)
	}
	if out, errOut, code := runOffline(t, "agreement", "verify", agFile); code != 0 {
		t.Fatalf("agreement verify: %s %s", out, errOut)
	}
	// A transfer under the agreement, pulled to a file by the CLI.
	tfile := filepath.Join(dir, "traffic-transfer.csv")
	if out, errOut, code := dxCLI(t, url, ctok, "transfer", "request", ags[0].ID, "-o", tfile); code != 0 || !strings.Contains(out, "STARTED") {
		t.Fatalf("transfer request: %d %s %s", code, out, errOut)
	}
	if b, err := os.ReadFile(tfile); err != nil || !strings.HasPrefix(string(b), "路口编号,") {
		t.Fatalf("transferred file: %v %q", err, b[:min(len(b), 40)])
	}
	// The second node: a consumer's own connector negotiated with the exchange over DSP
	// and started a transfer; its organisation pulls the data through it.
	exports := regexp.MustCompile(`export DX_SERVER=(\S+) DX_TOKEN=(\S+)`).FindAllStringSubmatch(text, -1)
	remote := regexp.MustCompile(`peer pull (urn:uuid:[0-9a-f-]+)`).FindStringSubmatch(text)
	if len(exports) != 3 || remote == nil {
		t.Fatalf("banner lacks the second node:\n%s", text)
	}
	if out, _, code := dxCLI(t, exports[1][1], exports[1][2], "peer", "negotiations"); code != 0 || !strings.Contains(out, "FINALIZED") {
		t.Fatalf("peer negotiations on node 2: %d %s", code, out)
	}
	rfile := filepath.Join(dir, "traffic-remote.csv")
	if _, errOut, code := dxCLI(t, exports[1][1], exports[1][2], "peer", "pull", remote[1], "-o", rfile); code != 0 {
		t.Fatalf("peer pull: %d %s", code, errOut)
	}
	if b, err := os.ReadFile(rfile); err != nil || !strings.HasPrefix(string(b), "路口编号,") {
		t.Fatalf("pulled across nodes: %v %q", err, b[:min(len(b), 40)])
	}
	// The audit log verifies as the banner says, with the traffic data's history.
	av := regexp.MustCompile(`audit verify --server (\S+) --vkey (\S+) --subject (\S+)`).FindStringSubmatch(text)
	if av == nil {
		t.Fatalf("banner lacks the audit log:\n%s", text)
	}
	if out, code := verifyCLI(av[1], filepath.Join(dir, "audit-state.json"), "--vkey", av[2], "--subject", av[3]); code != 0 || !strings.Contains(out, "the audit log verifies") || !strings.Contains(out, "asset.") {
		t.Fatalf("audit verify after the demo: %d\n%s", code, out)
	}
	// Compute in place: the institute's compute-only agreement answers the demo's DP
	// query with noisy counts per district, refuses a download, and shows the budget.
	patients := regexp.MustCompile(`query (ast_\w+)`).FindStringSubmatch(text)
	if patients == nil {
		t.Fatalf("banner lacks the compute example:\n%s", text)
	}
	itok := exports[2][2]
	q := `SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1, delta=1e-7, max_groups_contributed=1) district, COUNT(*, contribution_bounds_per_group => (0, 7)) AS visits FROM "patient-visits" GROUP BY district`
	out, errOut, code = dxCLI(t, url, itok, "query", patients[1], q, "--purpose", "research.academic")
	if code != 0 || !strings.Contains(out, "西湖区") || !strings.Contains(out, "discrete-laplace") || !strings.Contains(out, "ε=1/10") {
		t.Fatalf("dx query: %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := dxCLI(t, url, itok, "fetch", patients[1], "-o", filepath.Join(dir, "rows.csv")); code != 3 {
		t.Fatalf("a compute-only agreement allowed a download: %d %s", code, errOut)
	}
	if _, errOut, code := dxCLI(t, url, itok, "query", patients[1], "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1) * FROM \"patient-visits\""); code != 6 || !strings.Contains(errOut, "*") {
		t.Fatalf("a row query: %d %s", code, errOut)
	}

	// Unknown command and missing arguments are usage errors.
	if _, _, code := dxCLI(t, url, ctok, "asset", "frobnicate"); code != 2 {
		t.Fatalf("unknown verb: exit %d", code)
	}
	if _, _, code := dxCLI(t, url, "dx_tok_bogus", "catalog", "search", "x"); code != 3 {
		t.Fatalf("bad token: exit %d", code)
	}

	// Graceful shutdown on SIGTERM.
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exited with %v after SIGTERM:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop on SIGTERM")
	}
}

func TestCLIAdministration(t *testing.T) {
	te := startExchange(t, nil)
	op := te.op.Token
	out, errOut, code := dxCLI(t, te.url, op, "org", "create", "杭州数据公司", "--roles", "provider,consumer", "--uscc", "91330100MA2AXXXX1Q")
	tok := regexp.MustCompile(`dx_tok_\S+`).FindString(out)
	org := regexp.MustCompile(`org_\w+`).FindString(out)
	if code != 0 || tok == "" || org == "" {
		t.Fatalf("org create: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := dxCLI(t, te.url, op, "org", "create", "bad", "--roles", "king"); code != 6 || !strings.Contains(errOut, "king") {
		t.Fatalf("bad role: %d %s", code, errOut)
	}
	if _, _, code := dxCLI(t, te.url, op, "org", "create", "杭州数据公司", "--roles", "provider"); code != 5 {
		t.Fatalf("duplicate org name: exit %d", code)
	}
	if out, _, code := dxCLI(t, te.url, tok, "org", "show", org); code != 0 || !strings.Contains(out, "91330100MA2AXXXX1Q") {
		t.Fatalf("org show: %s", out)
	}
	if out, _, code := dxCLI(t, te.url, tok, "member", "add", "王五", "wangwu@example.cn"); code != 0 || !strings.Contains(out, "mem_") {
		t.Fatalf("member add: %d %s", code, out)
	}
	if _, _, code := dxCLI(t, te.url, tok, "member", "add", "x", "not-an-email"); code != 6 {
		t.Fatalf("bad e-mail: exit %d", code)
	}
	if out, _, _ := dxCLI(t, te.url, tok, "member", "list"); !strings.Contains(out, "wangwu@example.cn") {
		t.Fatalf("member list: %s", out)
	}
	out, _, code = dxCLI(t, te.url, tok, "token", "create", "ci", "--scopes", "read")
	secret := regexp.MustCompile(`dx_tok_\S+`).FindString(out)
	id := regexp.MustCompile(`tok_\w+`).FindString(out)
	if code != 0 || secret == "" {
		t.Fatalf("token create: %s", out)
	}
	if out, _, code := dxCLI(t, te.url, secret, "token", "list"); code != 0 || !strings.Contains(out, "ci") {
		t.Fatalf("token list with the new token: %d %s", code, out)
	}
	if _, _, code := dxCLI(t, te.url, tok, "token", "revoke", id); code != 0 {
		t.Fatalf("revoke: exit %d", code)
	}
	if _, _, code := dxCLI(t, te.url, secret, "token", "list"); code != 3 {
		t.Fatalf("revoked token still works: exit %d", code)
	}
	// Register through the CLI from a local file, then again as version 2.
	file := filepath.Join(t.TempDir(), "data.csv")
	os.WriteFile(file, []byte("区县,人口\n西湖区,120\n"), 0o600)
	out, errOut, code = dxCLI(t, te.url, tok, "asset", "register", "population", file, "--title-zh", "人口", "--industry", "S", "--region", "330106")
	if code != 0 || !strings.Contains(out, "西湖区") {
		t.Fatalf("asset register: %d %s %s", code, out, errOut)
	}
	out, _, _ = dxCLI(t, te.url, tok, "asset", "register", "population", file)
	astID := regexp.MustCompile(`ast_\w+`).FindString(out)
	if out, _, _ := dxCLI(t, te.url, tok, "asset", "versions", astID); strings.Count(out, "\n") != 3 {
		t.Fatalf("versions:\n%s", out)
	}
	if _, errOut, code := dxCLI(t, te.url, tok, "asset", "register", "x", file, "--title-zh", "x", "--industry", "Z"); code != 6 || !strings.Contains(errOut, "GB/T 4754") {
		t.Fatalf("bad industry: %d %s", code, errOut)
	}
	if _, errOut, code := dxCLI(t, te.url, tok, "asset", "register", "x", "/nonexistent.csv"); code != 6 {
		t.Fatalf("missing file: %d %s", code, errOut)
	}
	if out, _, code := runOffline(t, "config", "--db", "postgres://u:secret@h/db"); code != 0 || strings.Contains(out, "secret") || !strings.Contains(out, "REDACTED") {
		t.Fatalf("config: %s", out)
	}
}

// runOffline runs a dx command that needs no server.
func runOffline(t *testing.T, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestAgreementVerify(t *testing.T) {
	p, err := policy.Parse([]byte(`{"@type":"Agreement","@id":"urn:uuid:1","target":"urn:uuid:2","assigner":"did:web:p","assignee":"did:web:c",
		"timestamp":"2026-03-01T08:30:00Z","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"5"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a := contract.Agreement{Policy: p}
	_, k1, _ := ed25519.GenerateKey(nil)
	_, k2, _ := ed25519.GenerateKey(nil)
	a.Sign("did:web:p", k1)
	a.Sign("did:web:c", k2)
	b, _ := json.Marshal(a)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	os.WriteFile(good, b, 0o600)
	os.WriteFile(bad, bytes.Replace(b, []byte(`"5"`), []byte(`"500"`), 1), 0o600)
	if out, errOut, code := runOffline(t, "agreement", "verify", good); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("good agreement: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := runOffline(t, "agreement", "verify", bad); code != 6 || !strings.Contains(errOut, "does not verify") {
		t.Fatalf("tampered agreement: %d %s", code, errOut)
	}
	if _, _, code := runOffline(t, "agreement", "verify"); code != 2 {
		t.Fatalf("missing file argument: exit %d", code)
	}
}
