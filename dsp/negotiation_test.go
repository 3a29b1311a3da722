package dsp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/party"
)

// recorded is one DSP request a node received, with its answer.
type recorded struct {
	path         string
	body, answer []byte
	status       int
}

// recorder wraps a node's mux and keeps every /dsp request and answer.
type recorder struct {
	mu   sync.Mutex
	msgs []recorded
	next http.Handler
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rw := httptest.NewRecorder()
	rc.next.ServeHTTP(rw, r)
	for k, v := range rw.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.Code)
	w.Write(rw.Body.Bytes())
	if strings.HasPrefix(r.URL.Path, BasePath) {
		rc.mu.Lock()
		rc.msgs = append(rc.msgs, recorded{r.URL.Path, body, rw.Body.Bytes(), rw.Code})
		rc.mu.Unlock()
	}
}

// TestNegotiationMessagesValidate runs a negotiation between two in-process nodes and
// validates every message and answer against the official DSP 2025-1 schemas.
func TestNegotiationMessagesValidate(t *testing.T) {
	provider := setup(t) // node A with a listed asset and an offer
	if provider.schemas == nil {
		t.Skip("DSP artifacts not found beside the repository")
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Make A's offer auto-approving: make a new one.
	offers, _ := provider.st.Offers(ctx, provider.assetID)
	o := offers[0]
	o.ID, o.AutoApprove = contract.NewUUID(), true
	o.Policy.ID = o.ID
	if err := provider.st.CreateOffer(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	provider.h.Contracts = &contract.Service{Store: provider.st, Assets: &asset.Service{Store: provider.st, Clock: dx.SystemClock{}, Log: log}, Clock: dx.SystemClock{}, Log: log}

	// Node B: its own store, a consumer organisation, trust both ways.
	stB, err := openStore(t)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	org := party.Org{ID: dx.NewID(dx.PrefixOrg, now), Name: "c", Roles: []string{"consumer"}, PublicKey: pub, CreatedAt: now}
	if err := stB.CreateOrg(ctx, org, key, party.Token{ID: dx.NewID(dx.PrefixToken, now), OrgID: org.ID, Name: "t", Scopes: []string{"read", "write"}, Hash: []byte("x"), CreatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	hB := &Handler{ParticipantID: provider.client.ParticipantID, Key: provider.client.Key, Nonces: stB, Catalog: stB, Offers: stB, Assets: stB,
		Contracts: &contract.Service{Store: stB, Clock: dx.SystemClock{}, Log: log}, Clock: dx.SystemClock{}, Log: log}
	muxB := http.NewServeMux()
	hB.Register(muxB)
	recB := &recorder{next: muxB}
	srvB := httptest.NewServer(recB)
	defer srvB.Close()
	hB.PublicURL = srvB.URL
	muxA := http.NewServeMux() // again, now that A negotiates
	provider.h.Register(muxA)
	recA := &recorder{next: muxA}
	provider.srv.Config.Handler = recA
	peersB := filepath.Join(t.TempDir(), "peers.json")
	pa, _ := json.Marshal([]Peer{{ParticipantID: provider.h.ParticipantID, PublicKey: provider.h.Key.Public().(ed25519.PublicKey), URL: provider.srv.URL}})
	os.WriteFile(peersB, pa, 0o600)
	hB.PeersFile = peersB

	rn, err := hB.Negotiate(dx.WithPrincipal(ctx, dx.Principal{OrgID: org.ID, Scopes: []string{"write"}}), provider.h.ParticipantID, DatasetID(provider.assetID), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if r, _ := stB.Remote(ctx, rn.ConsumerPID); r.State == contract.Finalized {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r, _ := stB.Remote(ctx, rn.ConsumerPID); r.State != contract.Finalized {
		t.Fatalf("negotiation state %s", r.State)
	}
	neg := schemaBase + "negotiation/"
	want := map[string]string{ // path suffix → schema of the message
		"/negotiations/request":   neg + "contract-request-message-schema.json",
		"/agreement/verification": neg + "contract-agreement-verification-message-schema.json",
		"/agreement":              neg + "contract-agreement-message-schema.json",
		"/events":                 neg + "contract-negotiation-event-message-schema.json",
		"/catalog/datasets/" + DatasetID(provider.assetID): "",
	}
	seen := 0
	for _, rc := range []*recorder{recA, recB} {
		rc.mu.Lock()
		msgs := append([]recorded(nil), rc.msgs...)
		rc.mu.Unlock()
		for _, m := range msgs {
			for suffix, schema := range want {
				if !strings.HasSuffix(m.path, suffix) || schema == "" {
					continue
				}
				if err := provider.schemas.Validate(schema, m.body); err != nil {
					t.Errorf("%s: message does not validate: %v\n%s", m.path, err, m.body)
				}
				if err := provider.schemas.Validate(neg+"contract-negotiation-schema.json", m.answer); err != nil {
					t.Errorf("%s: answer (%d) does not validate: %v\n%s", m.path, m.status, err, m.answer)
				}
				seen++
				break
			}
		}
	}
	if seen != 4 {
		t.Fatalf("validated %d negotiation messages, want 4 (request, agreement, verification, event)", seen)
	}
	// A transfer under the agreement: the request, the start message and the answers.
	r, _ := stB.Remote(ctx, rn.ConsumerPID)
	tr, err := hB.Transfer(dx.WithPrincipal(ctx, dx.Principal{OrgID: org.ID, Scopes: []string{"write"}}), provider.h.ParticipantID, r.Agreement.Policy.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if x, _ := stB.RemoteTransfer(ctx, tr.ConsumerPID); x.State == contract.TransferStarted {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	tp := schemaBase + "transfer/"
	transferMsgs := map[string]string{"/transfers/request": tp + "transfer-request-message-schema.json", "/start": tp + "transfer-start-message-schema.json"}
	tseen := 0
	for _, rc := range []*recorder{recA, recB} {
		rc.mu.Lock()
		for _, m := range rc.msgs {
			for suffix, schema := range transferMsgs {
				if strings.HasSuffix(m.path, suffix) {
					if err := provider.schemas.Validate(schema, m.body); err != nil {
						t.Errorf("%s: %v\n%s", m.path, err, m.body)
					}
					if err := provider.schemas.Validate(tp+"transfer-process-schema.json", m.answer); err != nil {
						t.Errorf("%s answer: %v\n%s", m.path, err, m.answer)
					}
					tseen++
				}
			}
		}
		rc.mu.Unlock()
	}
	if tseen != 2 {
		t.Fatalf("validated %d transfer messages, want 2", tseen)
	}

	// The termination message dx sends validates too.
	term, _ := json.Marshal(terminationJSON("urn:dx:negotiation:x", "urn:uuid:y", "预算取消 / budget cut"))
	if err := provider.schemas.Validate(neg+"contract-negotiation-termination-message-schema.json", term); err != nil {
		t.Fatalf("termination message: %v\n%s", err, term)
	}

	// An error answer has the ContractNegotiationError shape.
	var bad map[string]any
	err = hB.client().Do(ctx, Peer{ParticipantID: provider.h.ParticipantID, URL: provider.srv.URL}, "POST", "/negotiations/request",
		map[string]any{"@context": []string{Context}, "@type": "ContractRequestMessage", "consumerPid": "urn:uuid:x", "callbackAddress": srvB.URL,
			"offer": map[string]any{"@id": "urn:uuid:nope", "@type": "Offer", "target": DatasetID(provider.assetID), "permission": []any{map[string]any{"action": "use"}}}}, &bad)
	if dx.ErrorCode(err) != dx.EInvalid || dx.ErrorDetails(err)["code"] != "unknown-offer" {
		t.Fatalf("unknown offer: %v", err)
	}
	recA.mu.Lock()
	last := recA.msgs[len(recA.msgs)-1]
	recA.mu.Unlock()
	if err := provider.schemas.Validate(neg+"contract-negotiation-error-schema.json", last.answer); err != nil {
		t.Fatalf("error answer does not validate: %v\n%s", err, last.answer)
	}
}

// TestNegotiationRefusals sends a provider node messages that must fail without changing
// anything: unknown processes, illegal transitions, forged signatures, and events a
// consumer must not accept.
func TestNegotiationRefusals(t *testing.T) {
	f := setup(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	offers, _ := f.st.Offers(ctx, f.assetID)
	o := offers[0]
	o.ID, o.AutoApprove = contract.NewUUID(), true
	o.Policy.ID = o.ID
	f.st.CreateOffer(ctx, o, nil)
	f.h.Contracts = &contract.Service{Store: f.st, Assets: &asset.Service{Store: f.st, Clock: dx.SystemClock{}, Log: log}, Clock: dx.SystemClock{}, Log: log}
	mux := http.NewServeMux()
	f.h.Register(mux)
	f.srv.Config.Handler = mux
	send := func(path string, msg any) error { return f.client.Do(ctx, f.peer, "POST", path, msg, nil) }
	request := func(pid string, offerID string, count string) (map[string]any, error) {
		var ack map[string]any
		err := f.client.Do(ctx, f.peer, "POST", "/negotiations/request", map[string]any{"@context": []string{Context}, "@type": "ContractRequestMessage",
			"consumerPid": pid, "callbackAddress": "http://127.0.0.1:1/nowhere",
			"offer": map[string]any{"@id": offerID, "@type": "Offer", "target": DatasetID(f.assetID),
				"permission": []any{map[string]any{"action": "use", "constraint": []any{map[string]any{"leftOperand": "odrl:elapsedTime", "operator": "lteq", "rightOperand": count}}}}}}, &ack)
		return ack, err
	}
	// Terms beyond the offer (P90D offered, P900D asked): policy-mismatch.
	if _, err := request("urn:uuid:c-1", o.ID, "P900D"); dx.ErrorCode(err) != dx.EInvalid || dx.ErrorDetails(err)["code"] != "policy-mismatch" {
		t.Fatalf("wider terms: %v", err)
	}
	ack, err := request("urn:uuid:c-2", o.ID, "P30D")
	if err != nil || ack["state"] != "AGREED" {
		t.Fatalf("narrowed request: %v %v", ack, err)
	}
	pid := ack["providerPid"].(string)
	// Idempotent: the same consumerPid gives the same process.
	if again, err := request("urn:uuid:c-2", o.ID, "P30D"); err != nil || again["providerPid"] != pid {
		t.Fatalf("repeated request: %v %v", again, err)
	}
	verification := func(sig contract.Signature) error {
		return send("/negotiations/"+pid+"/agreement/verification", map[string]any{"@context": []string{Context}, "@type": "ContractAgreementVerificationMessage",
			"providerPid": pid, "consumerPid": "urn:uuid:c-2", extSignature: sig})
	}
	// A verification signed with another key is refused, and nothing changes.
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	id, _ := contract.NegotiationID(pid)
	n, _ := f.st.Negotiation(ctx, id)
	rec, _ := f.st.Agreement(ctx, n.AgreementID)
	forged := rec.Agreement
	forged.Sign(f.peer.ParticipantID, stranger)
	if err := verification(forged.Signatures[len(forged.Signatures)-1]); dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("forged verification: %v", err)
	}
	if n2, _ := f.st.Negotiation(ctx, id); n2.State != contract.Agreed {
		t.Fatalf("state after a forged verification: %s", n2.State)
	}
	good := rec.Agreement
	good.Sign(f.peer.ParticipantID, f.client.Key)
	if err := verification(good.Signatures[len(good.Signatures)-1]); err != nil {
		t.Fatalf("verification: %v", err)
	}
	// Verifying again is an illegal transition (FINALIZED).
	if err := verification(good.Signatures[len(good.Signatures)-1]); dx.ErrorCode(err) != dx.EInvalid || dx.ErrorDetails(err)["code"] != "invalid-transition" {
		t.Fatalf("second verification: %v", err)
	}
	// Unknown processes and a provider asked for a FINALIZED event are refused.
	if err := send("/negotiations/urn:dx:negotiation:neg_00000000000000000000000000/agreement/verification", map[string]any{"@context": []string{Context},
		"@type": "ContractAgreementVerificationMessage", "providerPid": "urn:dx:negotiation:neg_00000000000000000000000000", "consumerPid": "x"}); dx.ErrorCode(err) != dx.ENotFound {
		t.Fatalf("unknown process: %v", err)
	}
	if err := send("/callback/negotiations/urn:uuid:none/events", map[string]any{"@context": []string{Context}, "@type": "ContractNegotiationEventMessage",
		"providerPid": pid, "consumerPid": "urn:uuid:none", "eventType": "ACCEPTED"}); dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("ACCEPTED sent to a consumer callback: %v", err)
	}
	// Malformed messages.
	for _, bad := range []map[string]any{{"@type": "ContractRequestMessage"}, {"@type": "ContractOfferMessage", "consumerPid": "x", "callbackAddress": "y"}} {
		if err := send("/negotiations/request", bad); dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
