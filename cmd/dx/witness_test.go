package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
	"github.com/dxexchange/dx/client"
)

// testLog is a log built in memory by the test, to drive a witness.
type testLog struct {
	origin string
	signer note.Signer
	hashes []tlog.Hash
}

func newTestLog(t *testing.T, origin string, leaves int, alter int) (*testLog, string) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := c2sp.LogSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{origin: origin, signer: signer}
	for i := range leaves {
		data := fmt.Sprintf("entry %d", i)
		if i == alter {
			data = "forged"
		}
		h, err := tlog.StoredHashes(int64(i), []byte(data), l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, h...)
	}
	return l, c2sp.VKey(origin, c2sp.TypeEd25519, pub)
}

func (l *testLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *testLog) checkpoint(t *testing.T, size int64) []byte {
	root, err := tlog.TreeHash(size, l)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Sign(&note.Note{Text: string(c2sp.Checkpoint{Origin: l.origin, Size: size, Hash: root}.Text())}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (l *testLog) request(t *testing.T, old, size int64) []byte {
	var proof []tlog.Hash
	if old > 0 && old < size {
		var err error
		if proof, err = tlog.ProveTree(size, old, l); err != nil {
			t.Fatal(err)
		}
	}
	return c2sp.AddCheckpoint{Old: old, Proof: proof, Checkpoint: l.checkpoint(t, size)}.Format()
}

// startWitness starts `dx witness` as a real process and returns its URL and cosigner key.
func startWitness(t *testing.T, name string, logs ...string) (string, string) {
	url, key, _ := startWitnessProcess(t, name, logs...)
	return url, key
}

func startWitnessProcess(t *testing.T, name string, logs ...string) (string, string, *exec.Cmd) {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"witness", "--name", name, "--addr", addr, "--data", t.TempDir()}
	for _, l := range logs {
		args = append(args, "--log", l)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DX_TEST_AS_DX=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := regexp.MustCompile(`cosigner key: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("witness did not start: %s", out.String())
	}
	return "http://" + addr, m[1], cmd
}

func post(t *testing.T, url string, body []byte) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestWitnessProtocol drives a real `dx witness` process with the statuses of
// c2sp.org/tlog-witness: cosigning consistent checkpoints, 409 with its size for a stale
// view, 422 for a fork or a bad proof, 403 for a wrong key, 404 for an unknown log, 400
// for an old size beyond the checkpoint — and concurrent requests never roll it back.
func TestWitnessProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a witness process")
	}
	log, vkey := newTestLog(t, "log.test/audit", 40, -1)
	url, wkey := startWitness(t, "witness.test/w1", vkey)
	verifier, err := c2sp.NewCosignatureVerifier(wkey)
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := note.NewVerifier(vkey)
	cosign := func(old, size int64) {
		t.Helper()
		code, body, _ := post(t, url, log.request(t, old, size))
		if code != 200 {
			t.Fatalf("%d → %d: %d %s", old, size, code, body)
		}
		n, err := note.Open(append(log.checkpoint(t, size), body...), note.VerifierList(lv, verifier))
		if err != nil || len(n.Sigs) != 2 {
			t.Fatalf("the cosignature does not verify: %v", err)
		}
	}
	refused := func(what string, want int, body []byte, wantBody string) {
		t.Helper()
		code, got, h := post(t, url, body)
		if code != want || !strings.Contains(got, wantBody) {
			t.Fatalf("%s: %d %q, want %d %q", what, code, got, want, wantBody)
		}
		if want == 409 && h.Get("Content-Type") != "text/x.tlog.size" {
			t.Fatalf("%s: content type %q", what, h.Get("Content-Type"))
		}
	}
	cosign(0, 5)
	refused("a view older than the witness's", 409, log.request(t, 0, 8), "5\n")
	cosign(5, 8)
	cosign(8, 8) // the same checkpoint again
	refused("a stale old size", 409, log.request(t, 5, 9), "8\n")
	fork, _ := newTestLog(t, "log.test/audit", 40, 3)
	fork.signer = log.signer // the log itself signs a different history
	refused("same size, different root", 422, fork.request(t, 8, 8), "fork")
	refused("a forked history", 422, c2sp.AddCheckpoint{Old: 8, Proof: mustProve(t, fork, 12, 8), Checkpoint: fork.checkpoint(t, 12)}.Format(), "consistency proof")
	bad := c2sp.ParseAddCheckpoint
	req, _ := bad(log.request(t, 8, 12))
	req.Proof[0][0] ^= 1
	refused("a corrupted proof", 422, req.Format(), "consistency proof")
	other, _ := newTestLog(t, "log.test/audit", 40, -1)
	refused("a checkpoint signed by another key", 403, other.request(t, 8, 12), "signature")
	stranger, _ := newTestLog(t, "unknown.test/log", 40, -1)
	refused("an unknown log", 404, stranger.request(t, 0, 3), "unknown log")
	req, _ = bad(log.request(t, 8, 12))
	req.Old = 20
	refused("old beyond the checkpoint", 400, req.Format(), "larger")
	refused("garbage", 400, []byte("hello"), "")
	// The refusals changed nothing.
	cosign(8, 12)
	// Concurrent requests from one size: one wins, the rest are told its size, and the
	// witness never goes back.
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = post(t, url, log.request(t, 12, int64(13+i)))
		}()
	}
	wg.Wait()
	wins := 0
	for _, c := range codes {
		if c == 200 {
			wins++
		} else if c != 409 {
			t.Fatalf("concurrent request: %d", c)
		}
	}
	_, body, _ := post(t, url, log.request(t, 0, 40))
	held := strings.TrimSpace(body)
	if wins != 1 || held < "13" || held > "20" {
		t.Fatalf("%d winners, witness holds %s", wins, held)
	}
}

func mustProve(t *testing.T, l *testLog, size, old int64) []tlog.Hash {
	p, err := tlog.ProveTree(size, old, l)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExchangeWithWitness runs an exchange with two witnesses and a 2-of-2 policy
// (separate processes): only checkpoints cosigned by both are published, receipts carry
// the cosignatures, and `dx audit verify` checks the quorum — and fails it with a key the
// witnesses do not hold. With one witness down the log goes on sequencing but publishes
// nothing new (fail closed).
func TestExchangeWithWitness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dx processes")
	}
	data, addr := t.TempDir(), freeAddr(t)
	first, out := serveProcess(t, data, addr)
	token := operatorToken(out.String())
	vkey := regexp.MustCompile(`verifier key (\S+)\)`).FindStringSubmatch(out.String())
	if vkey == nil {
		t.Fatalf("no log key in the banner: %s", out.String())
	}
	first.Process.Kill()
	first.Wait()
	url1, key1 := startWitness(t, "witness.test/regulator", vkey[1])
	url2, key2, w2 := startWitnessProcess(t, "witness.test/auditor", vkey[1])
	policy := filepath.Join(t.TempDir(), "witnesses")
	os.WriteFile(policy, []byte("# the regulator's and an auditor's witnesses\nwitness regulator "+key1+" "+url1+"\nwitness auditor "+key2+" "+url2+"\nquorum 2\n"), 0o600)
	serveProcess(t, data, addr, "--witnesses", policy)
	server := "http://" + addr
	op := client.New(server, token)
	createOrgs(t, op, "w", 20)
	published := func() c2sp.Checkpoint {
		t.Helper()
		raw := fetch(t, server+"/audit/checkpoint")
		cp, _, err := audit.OpenCheckpoint(raw, audit.Trust{LogVKey: vkey[1], Witnesses: []string{key1, key2}, Quorum: 2})
		if err != nil {
			t.Fatalf("published checkpoint: %v\n%s", err, raw)
		}
		return cp
	}
	var cp c2sp.Checkpoint
	for range 100 {
		if cp = published(); cp.Size > 40 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	state := filepath.Join(t.TempDir(), "s.json")
	if text, code := verifyCLI(server, state, "--vkey", vkey[1], "--witness", key1, "--witness", key2, "--quorum", "2"); code != 0 || !strings.Contains(text, "cosigned by 2 of 2") {
		t.Fatalf("verify with the witnesses: %d\n%s", code, text)
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	wrong := c2sp.NewCosigner("witness.test/other", stranger).VKey()
	if text, code := verifyCLI(server, filepath.Join(t.TempDir(), "s.json"), "--vkey", vkey[1], "--witness", key1, "--witness", wrong, "--quorum", "2"); code == 0 || !strings.Contains(text, "the policy needs 2") {
		t.Fatalf("verify with an untrusted witness passed: %d\n%s", code, text)
	}
	w2.Process.Kill()
	w2.Wait()
	before := published()
	createOrgs(t, op, "down", 10)
	time.Sleep(2500 * time.Millisecond) // a few cosigning rounds
	if after := published(); after.Size != before.Size {
		t.Fatalf("a checkpoint was published without the quorum: %d → %d", before.Size, after.Size)
	}
}
