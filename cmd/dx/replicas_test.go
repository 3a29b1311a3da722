package main

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/c2sp"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/party"
)

// TestReplicasShareOnePostgres starts two real dx processes on one PostgreSQL database
// and one data directory: what one does, the other sees at once.
func TestReplicasShareOnePostgres(t *testing.T) {
	if os.Getenv("DX_TEST_POSTGRES") == "" {
		t.Skip("DX_TEST_POSTGRES is not set; skipping the PostgreSQL replica test")
	}
	dsn := freshPostgres(t)
	data := t.TempDir()

	start := func() (string, *bytes.Buffer) {
		addr := freeAddr(t)
		cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--data", data, "--db", dsn, "--engine-threads", "1", "--log-level", "error")
		cmd.Env = append(os.Environ(), "DX_TEST_AS_DX=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for range 100 {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				return "http://" + addr, &out
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("dx did not start: %s", out.String())
		return "", nil
	}
	urlA, outA := start()
	urlB, outB := start()
	var secret string
	for _, out := range []*bytes.Buffer{outA, outB} {
		for _, line := range strings.Split(out.String(), "\n") {
			if s := strings.TrimSpace(line); strings.HasPrefix(s, "dx_tok_") {
				if secret != "" {
					t.Fatal("both replicas bootstrapped an operator")
				}
				secret = s
			}
		}
	}
	if secret == "" {
		t.Fatalf("no operator token printed:\n%s\n%s", outA, outB)
	}
	ctx := context.Background()
	opA := client.New(urlA, secret)
	p, err := opA.CreateOrg(ctx, party.NewOrg{Name: "provider", Roles: []string{"provider"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(urlB, secret).CreateOrg(ctx, party.NewOrg{Name: "consumer", Roles: []string{"consumer"}})
	if err != nil {
		t.Fatal(err)
	}
	provA, provB := client.New(urlA, p.Token), client.New(urlB, p.Token)
	consA, consB := client.New(urlA, c.Token), client.New(urlB, c.Token)

	res, err := provA.Register(ctx, asset.Register{Name: "shared", FileName: "s.csv",
		Meta: asset.Meta{Title: asset.Text{Zh: "共享交通数据"}, Industry: "G"}}, strings.NewReader("路段,流量\n延安路,120\n"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := consB.Search(ctx, catalog.Query{Text: "交通"})
	if err != nil || len(page.Hits) != 1 || page.Hits[0].Asset.ID != res.Asset.ID {
		t.Fatalf("replica B search: %+v %v", page, err)
	}
	g, err := consB.RequestAccess(ctx, res.Asset.ID, "研究")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provA.Decide(ctx, g.ID, "approved", ""); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, _, err := consB.Download(ctx, res.Asset.ID, 0, "csv", 0, &buf); err != nil || !strings.Contains(buf.String(), "延安路,120") {
		t.Fatalf("download through replica B: %q %v", buf.String(), err)
	}
	// A revocation through B is refused at once through A.
	if _, err := provB.Decide(ctx, g.ID, "revoked", "done"); err != nil {
		t.Fatal(err)
	}
	_, _, err = consA.Download(ctx, res.Asset.ID, 0, "csv", 0, &buf)
	wantCode(t, err, dx.EForbidden)
	// A second version through B numbers after A's.
	res2, err := provB.Register(ctx, asset.Register{Name: "shared", FileName: "s2.csv", Meta: asset.Meta{}}, strings.NewReader("路段,流量\n庆春路,80\n"))
	if err != nil || res2.Version.Number != 2 {
		t.Fatalf("version through B: %+v %v", res2.Version, err)
	}
}

// freshPostgres creates an empty database for one test on the server DX_TEST_POSTGRES
// names and returns its URL; the database is dropped when the test ends.
func freshPostgres(t *testing.T) string {
	base := os.Getenv("DX_TEST_POSTGRES")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	name := "dxe_" + strings.ToLower(dx.NewID("x", time.Now())[2:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); admin.Close() })
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatalf("DX_TEST_POSTGRES must be a postgres:// URL: %q", base)
	}
	u.Path = "/" + name
	return u.String()
}

// TestSequencerTakeoverOnPostgres: two replicas share one PostgreSQL database; one runs
// the audit log's sequencer under an advisory lock. Both take writes; the leader is
// killed; the other takes over the sequencing — every event ends up in the log once,
// and the log stays consistent with what an auditor saw before the kill.
func TestSequencerTakeoverOnPostgres(t *testing.T) {
	if os.Getenv("DX_TEST_POSTGRES") == "" {
		t.Skip("DX_TEST_POSTGRES is not set; skipping the PostgreSQL takeover test")
	}
	dsn := freshPostgres(t)
	data := t.TempDir()
	addrA, addrB := freeAddr(t), freeAddr(t)
	cmdA, outA := serveProcess(t, data, addrA, "--db", dsn)
	_, outB := serveProcess(t, data, addrB, "--db", dsn)
	token := operatorToken(outA.String() + outB.String())
	a, b := client.New("http://"+addrA, token), client.New("http://"+addrB, token)
	createOrgs(t, a, "a", 30)
	createOrgs(t, b, "b", 30)
	state := filepath.Join(t.TempDir(), "state.json")
	if text, code := verifyCLI("http://"+addrB, state); code != 0 {
		t.Fatalf("verify: %s", text)
	}
	cmdA.Process.Kill() // the first replica took the lock
	cmdA.Wait()
	acked := createOrgs(t, b, "after", 30)
	if len(acked) != 30 {
		t.Fatalf("%d of 30 writes after the takeover were acknowledged", len(acked))
	}
	server := "http://" + addrB
	var size, events int64
	for range 100 {
		events = countEvents(t, server, token)
		cp, _ := c2sp.ParseCheckpoint([]byte(strings.SplitN(string(fetch(t, server+"/audit/checkpoint")), "\n\n", 2)[0] + "\n"))
		if size = cp.Size; size == events {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if size != events {
		t.Fatalf("the log has %d entries for %d events", size, events)
	}
	if text, code := verifyCLI(server, state, "--subject", acked[0]); code != 0 || !strings.Contains(text, "consistent with the checkpoint saved earlier") || !strings.Contains(text, "org.create") {
		t.Fatalf("verify after the takeover: %d\n%s", code, text)
	}
}
