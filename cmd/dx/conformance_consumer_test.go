package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/internal/dspschema"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/policy"
)

// The consumer-role half of the conformance suite (CN_C and TP_C of the DSP digest §6.3):
// the test plays the TCK as a provider's connector — a signing HTTP server that answers
// the node's requests and sends offers, agreements, events and transfer messages to the
// node's callback address — against a real dx node process whose consumer organisation
// acts through the management API. Every message in both directions is validated against
// the official schemas, and the node's state is checked by GET on its callback endpoints.

type tckProvider struct {
	t        *testing.T
	node     *node
	key      ed25519.PrivateKey
	self     dsp.Peer
	srv      *httptest.Server
	schemas  *dspschema.Schemas
	consumer *client.Client
	nodeKey  ed25519.PublicKey // to check the node's signed requests
	mu       sync.Mutex
	inbox    []tckMessage // messages the node sent to the TCK
	seq      atomic.Int64
}

type tckMessage struct {
	path string
	body map[string]any
}

const (
	tckDataset = "urn:tck:dataset:ACNC0101"
	tckOffer   = "urn:tck:offer:CD123:ACNC0101:456"
)

func newTCKProvider(t *testing.T) *tckProvider {
	dir := dspschema.Dir()
	if dir == "" {
		t.Skip("DSP artifacts not found beside the repository")
	}
	schemas, err := dspschema.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	k := &tckProvider{t: t, node: startNode(t), key: key, schemas: schemas}
	k.nodeKey = k.node.self.PublicKey
	k.srv = httptest.NewServer(http.HandlerFunc(k.serve))
	t.Cleanup(k.srv.Close)
	k.self = dsp.Peer{ParticipantID: "did:web:tck-provider.example", PublicKey: pub, URL: k.srv.URL}
	k.node.trust(t, &node{self: k.self})
	org, err := client.New(k.node.url, k.node.token).CreateOrg(context.Background(), party.NewOrg{Name: "consumer", Roles: []string{"consumer"}})
	if err != nil {
		t.Fatal(err)
	}
	k.consumer = client.New(k.node.url, org.Token)
	return k
}

// serve is the TCK's provider endpoints: it checks the node's request signature, validates
// and records each message, and acknowledges it as a provider would.
func (k *tckProvider) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !k.signedByNode(r, body) {
		http.Error(w, "unsigned", 401)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, dsp.BasePath)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if r.Method == "GET" && strings.HasPrefix(path, "/catalog/datasets/") {
		ds := map[string]any{"@context": []string{dsp.Context}, "@id": tckDataset, "@type": "Dataset",
			"hasPolicy":    []any{map[string]any{"@id": tckOffer, "@type": "Offer", "permission": []any{map[string]any{"action": "use", "constraint": []any{}}}}},
			"distribution": []any{map[string]any{"@type": "Distribution", "format": "HttpData-PULL", "accessService": map[string]any{"@id": "urn:tck:service", "@type": "DataService", "endpointURL": k.srv.URL}}}}
		k.validate("catalog/dataset-schema.json", ds)
		reply(200, ds)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		reply(400, map[string]any{"error": "not JSON"})
		return
	}
	schema := map[string]string{
		"ContractRequestMessage":                "negotiation/contract-request-message-schema.json",
		"ContractNegotiationEventMessage":       "negotiation/contract-negotiation-event-message-schema.json",
		"ContractAgreementVerificationMessage":  "negotiation/contract-agreement-verification-message-schema.json",
		"ContractNegotiationTerminationMessage": "negotiation/contract-negotiation-termination-message-schema.json",
		"TransferRequestMessage":                "transfer/transfer-request-message-schema.json",
		"TransferStartMessage":                  "transfer/transfer-start-message-schema.json",
		"TransferSuspensionMessage":             "transfer/transfer-suspension-message-schema.json",
		"TransferCompletionMessage":             "transfer/transfer-completion-message-schema.json",
		"TransferTerminationMessage":            "transfer/transfer-termination-message-schema.json",
	}[fmt.Sprint(m["@type"])]
	if schema == "" {
		k.t.Errorf("the node sent an unexpected message to %s: %s", path, body)
		reply(400, map[string]any{"error": "unexpected"})
		return
	}
	if err := k.schemas.Validate(ns+schema, body); err != nil {
		k.t.Errorf("the node's %s does not validate: %v\n%s", m["@type"], err, body)
	}
	k.mu.Lock()
	k.inbox = append(k.inbox, tckMessage{path: path, body: m})
	k.mu.Unlock()
	switch path {
	case "/negotiations/request":
		reply(201, map[string]any{"@context": []string{dsp.Context}, "@type": "ContractNegotiation",
			"providerPid": fmt.Sprintf("urn:uuid:tck-neg-%d", k.seq.Add(1)), "consumerPid": m["consumerPid"], "state": "REQUESTED"})
	case "/transfers/request":
		reply(201, map[string]any{"@context": []string{dsp.Context}, "@type": "TransferProcess",
			"providerPid": fmt.Sprintf("urn:uuid:tck-tp-%d", k.seq.Add(1)), "consumerPid": m["consumerPid"], "state": "REQUESTED"})
	default:
		typ, state := "ContractNegotiation", "REQUESTED"
		if strings.HasPrefix(path, "/transfers/") {
			typ = "TransferProcess"
		}
		reply(200, map[string]any{"@context": []string{dsp.Context}, "@type": typ, "providerPid": m["providerPid"], "consumerPid": m["consumerPid"], "state": state})
	}
}

func (k *tckProvider) signedByNode(r *http.Request, body []byte) bool {
	sig := r.Header.Get(dsp.HeaderSignature)
	msg := dsp.SigningString(r.Method, r.URL.RequestURI(), r.Header.Get(dsp.HeaderParticipant), r.Header.Get(dsp.HeaderTimestamp), r.Header.Get(dsp.HeaderNonce), body)
	raw, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && r.Header.Get(dsp.HeaderParticipant) == k.node.self.ParticipantID && ed25519.Verify(k.nodeKey, msg, raw)
}

func (k *tckProvider) validate(schema string, v any) {
	k.t.Helper()
	b, _ := json.Marshal(v)
	if err := k.schemas.Validate(ns+schema, b); err != nil {
		k.t.Fatalf("does not validate against %s: %v\n%s", schema, err, b)
	}
}

// await returns the first message of type typ for consumerPID that the node sent to the
// TCK, waiting up to two seconds.
func (k *tckProvider) await(typ, consumerPID string) tckMessage {
	k.t.Helper()
	for range 100 {
		k.mu.Lock()
		for _, m := range k.inbox {
			if m.body["@type"] == typ && m.body["consumerPid"] == consumerPID {
				k.mu.Unlock()
				return m
			}
		}
		k.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	k.t.Fatalf("the node sent no %s for %s", typ, consumerPID)
	return tckMessage{}
}

// last returns the latest message of type typ for consumerPID, waiting up to two seconds
// for one with a providerPid (a message in a running process).
func (k *tckProvider) last(typ, consumerPID string) tckMessage {
	k.t.Helper()
	var got tckMessage
	for range 100 {
		k.mu.Lock()
		for _, m := range k.inbox {
			if m.body["@type"] == typ && m.body["consumerPid"] == consumerPID && m.body["providerPid"] != nil {
				got = m
			}
		}
		k.mu.Unlock()
		if got.body != nil {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.t.Fatalf("the node sent no %s in process %s", typ, consumerPID)
	return got
}

// none checks that the node sent no message of type typ for consumerPID (after the
// messages already in flight had time to arrive).
func (k *tckProvider) none(typ, consumerPID string) {
	k.t.Helper()
	time.Sleep(200 * time.Millisecond)
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range k.inbox {
		if m.body["@type"] == typ && m.body["consumerPid"] == consumerPID {
			k.t.Fatalf("the node sent a %s it should not have: %v", typ, m.body)
		}
	}
}

// send posts a signed message to the node's callback address.
func (k *tckProvider) send(path string, msg map[string]any) (int, map[string]any) {
	k.t.Helper()
	return k.do("POST", path, msg)
}

func (k *tckProvider) do(method, path string, msg map[string]any) (int, map[string]any) {
	k.t.Helper()
	var body []byte
	if msg != nil {
		msg["@context"] = []string{dsp.Context}
		body, _ = json.Marshal(msg)
	}
	req, _ := http.NewRequest(method, k.node.url+dsp.BasePath+"/callback"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	dsp.Sign(req, k.self.ParticipantID, k.key, body, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// state reads the node's consumer-side state by GET, as the TCK does.
func (k *tckProvider) state(consumerPID string) string {
	k.t.Helper()
	code, out := k.do("GET", "/negotiations/"+consumerPID, nil)
	if code != 200 {
		k.t.Fatalf("GET negotiation: %d %v", code, out)
	}
	k.validate("negotiation/contract-negotiation-schema.json", out)
	return out["state"].(string)
}

func (k *tckProvider) transferState(consumerPID string) string {
	k.t.Helper()
	code, out := k.do("GET", "/transfers/"+consumerPID, nil)
	if code != 200 {
		k.t.Fatalf("GET transfer: %d %v", code, out)
	}
	k.validate("transfer/transfer-process-schema.json", out)
	return out["state"].(string)
}

// refused checks a 4xx other than 404 in the protocol's error shape.
func (k *tckProvider) refused(what string, code int, e map[string]any, schema string) {
	k.t.Helper()
	if code < 400 || code >= 500 || code == 404 {
		k.t.Fatalf("%s: want a 4xx other than 404, got %d %v", what, code, e)
	}
	k.validate(schema, e)
}

// negotiate makes the node's consumer organisation request the TCK's offer and returns
// the consumer PID and the TCK's provider PID.
func (k *tckProvider) negotiate() (cpid, ppid string) {
	k.t.Helper()
	var rn contract.RemoteNegotiation
	if err := k.consumer.Do(context.Background(), "POST", "/api/v1/peers/negotiations",
		map[string]string{"participant": k.self.ParticipantID, "dataset_id": tckDataset, "offer_id": tckOffer}, &rn); err != nil {
		k.t.Fatal(err)
	}
	req := k.await("ContractRequestMessage", rn.ConsumerPID)
	if req.body["callbackAddress"] != k.node.url+dsp.BasePath+"/callback" {
		k.t.Fatalf("callback address %v", req.body["callbackAddress"])
	}
	if rn.ProviderPID == "" || rn.State != contract.Requested {
		k.t.Fatalf("after the request: %+v", rn)
	}
	return rn.ConsumerPID, rn.ProviderPID
}

func (k *tckProvider) act(cpid, action string, body any) error {
	return k.consumer.Do(context.Background(), "POST", "/api/v1/peers/negotiations/"+cpid+"/"+action, body, nil)
}

var tckUse = map[string]any{"@id": tckOffer, "@type": "Offer", "target": tckDataset, "permission": []any{map[string]any{"action": "use", "constraint": []any{}}}}

func (k *tckProvider) offer(cpid, ppid string, offer map[string]any) (int, map[string]any) {
	msg := map[string]any{"@type": "ContractOfferMessage", "@id": "urn:uuid:tck-extra", "providerPid": ppid, "consumerPid": cpid, "offer": offer}
	k.validate("negotiation/contract-offer-message-schema.json", withContext(msg))
	return k.send("/negotiations/"+cpid+"/offers", msg)
}

// agreement sends the TCK's signed agreement on terms (a dx extension carries the
// signature; a dx consumer requires the provider's signature).
func (k *tckProvider) agreement(cpid, ppid string, terms map[string]any, signer ed25519.PrivateKey) (int, map[string]any) {
	k.t.Helper()
	raw, _ := json.Marshal(terms)
	p, err := policy.Parse(raw)
	if err != nil {
		k.t.Fatal(err)
	}
	p.ID, p.Type, p.Target = "urn:uuid:tck-agreement-"+cpid[len(cpid)-8:], "Agreement", tckDataset
	p.Assigner, p.Assignee, p.Timestamp = k.self.ParticipantID, k.node.self.ParticipantID, time.Now().UTC().Format(time.RFC3339)
	a := contract.Agreement{Policy: p}
	if err := a.Sign(k.self.ParticipantID, signer); err != nil {
		k.t.Fatal(err)
	}
	msg := map[string]any{"@type": "ContractAgreementMessage", "providerPid": ppid, "consumerPid": cpid, "agreement": policy.JSON(p),
		"callbackAddress": k.srv.URL + dsp.BasePath, dxSignatures: a.Signatures}
	k.validate("negotiation/contract-agreement-message-schema.json", withContext(msg))
	return k.send("/negotiations/"+cpid+"/agreement", msg)
}

func (k *tckProvider) event(cpid, ppid, eventType string) (int, map[string]any) {
	msg := map[string]any{"@type": "ContractNegotiationEventMessage", "providerPid": ppid, "consumerPid": cpid, "eventType": eventType}
	k.validate("negotiation/contract-negotiation-event-message-schema.json", withContext(msg))
	return k.send("/negotiations/"+cpid+"/events", msg)
}

func (k *tckProvider) terminate(cpid, ppid string) (int, map[string]any) {
	msg := map[string]any{"@type": "ContractNegotiationTerminationMessage", "providerPid": ppid, "consumerPid": cpid, "code": "tck",
		"reason": []any{map[string]any{"message": "terminated by the TCK"}}}
	k.validate("negotiation/contract-negotiation-termination-message-schema.json", withContext(msg))
	return k.send("/negotiations/"+cpid+"/termination", msg)
}

func withContext(m map[string]any) map[string]any {
	out := map[string]any{"@context": []string{dsp.Context}}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// finalized runs CN_C 01-04 and returns the consumer PID and the agreement ID.
func (k *tckProvider) finalized() (string, string) {
	k.t.Helper()
	cpid, ppid := k.negotiate()
	if code, out := k.agreement(cpid, ppid, tckUse, k.key); code != 200 {
		k.t.Fatalf("agreement: %d %v", code, out)
	}
	v := k.await("ContractAgreementVerificationMessage", cpid)
	if v.path != "/negotiations/"+ppid+"/agreement/verification" || v.body[dxSignature] == nil {
		k.t.Fatalf("verification: %v %v", v.path, v.body)
	}
	if k.state(cpid) != "VERIFIED" {
		k.t.Fatal("not VERIFIED after the agreement")
	}
	if code, out := k.event(cpid, ppid, "FINALIZED"); code != 200 || k.state(cpid) != "FINALIZED" {
		k.t.Fatalf("FINALIZED: %d %v", code, out)
	}
	var rn api.RemoteNegotiationView
	if err := k.consumer.Do(context.Background(), "GET", "/api/v1/peers/negotiations/"+cpid, nil, &rn); err != nil {
		k.t.Fatal(err)
	}
	if rn.Agreement == nil || len(rn.Agreement.Signatures) != 2 {
		k.t.Fatalf("the stored agreement lacks the two signatures: %+v", rn.Agreement)
	}
	return cpid, rn.Agreement.Policy.ID
}

// TestCN_C_01: the happy paths — via the TCK's offer (01-01) and direct (01-04) — and the
// counter-offer answered by the TCK's termination (01-02).
func TestCN_C_01(t *testing.T) {
	k := newTCKProvider(t)
	// 01-01
	cpid, ppid := k.negotiate()
	if code, out := k.offer(cpid, ppid, tckUse); code != 200 || k.state(cpid) != "OFFERED" {
		t.Fatalf("offer: %d %v", code, out)
	}
	if err := k.act(cpid, "accept", nil); err != nil {
		t.Fatal(err)
	}
	if ev := k.await("ContractNegotiationEventMessage", cpid); ev.body["eventType"] != "ACCEPTED" || ev.path != "/negotiations/"+ppid+"/events" {
		t.Fatalf("ACCEPTED: %v %v", ev.path, ev.body)
	}
	if k.state(cpid) != "ACCEPTED" {
		t.Fatal("not ACCEPTED")
	}
	if code, out := k.agreement(cpid, ppid, tckUse, k.key); code != 200 {
		t.Fatalf("agreement: %d %v", code, out)
	}
	k.await("ContractAgreementVerificationMessage", cpid)
	if code, out := k.event(cpid, ppid, "FINALIZED"); code != 200 || k.state(cpid) != "FINALIZED" {
		t.Fatalf("FINALIZED: %d %v", code, out)
	}
	// 01-04
	k.finalized()
	// 01-02
	cpid, ppid = k.negotiate()
	k.offer(cpid, ppid, tckUse)
	counter := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"count","operator":"lteq","rightOperand":"3"}]}]}`)
	if err := k.act(cpid, "request", map[string]any{"policy": counter}); err != nil {
		t.Fatal(err)
	}
	req := k.last("ContractRequestMessage", cpid)
	if req.path != "/negotiations/"+ppid+"/request" || !strings.Contains(mustJSON(req.body["offer"]), "lteq") || k.state(cpid) != "REQUESTED" {
		t.Fatalf("counter-offer: %v %v", req.path, req.body)
	}
	if code, out := k.terminate(cpid, ppid); code != 200 || k.state(cpid) != "TERMINATED" {
		t.Fatalf("termination: %d %v", code, out)
	}
}

// TestCN_C_02: terminations — by the node in REQUESTED (02-02), OFFERED (01-03) and after
// the agreement (02-03: dx verifies as soon as the agreement checks out, so it is in
// VERIFIED there); by the TCK in REQUESTED (02-01), OFFERED (02-04, where the node must
// not have accepted by itself), ACCEPTED (02-05) and VERIFIED (02-06).
func TestCN_C_02(t *testing.T) {
	k := newTCKProvider(t)
	byNode := func(cpid, ppid string) {
		t.Helper()
		if err := k.act(cpid, "terminate", map[string]string{"reason": "no longer needed"}); err != nil {
			t.Fatal(err)
		}
		m := k.await("ContractNegotiationTerminationMessage", cpid)
		if m.path != "/negotiations/"+ppid+"/termination" || !strings.Contains(mustJSON(m.body["reason"]), "no longer needed") || k.state(cpid) != "TERMINATED" {
			t.Fatalf("termination by the node: %v %v", m.path, m.body)
		}
	}
	byTCK := func(cpid, ppid string) {
		t.Helper()
		if code, out := k.terminate(cpid, ppid); code != 200 || k.state(cpid) != "TERMINATED" {
			t.Fatalf("termination by the TCK: %d %v", code, out)
		}
		var rn contract.RemoteNegotiation
		k.consumer.Do(context.Background(), "GET", "/api/v1/peers/negotiations/"+cpid, nil, &rn)
		if !strings.Contains(rn.Reason, "terminated by the TCK") {
			t.Fatalf("the consumer does not see the reason: %+v", rn)
		}
	}
	// 02-02
	cpid, ppid := k.negotiate()
	byNode(cpid, ppid)
	// 01-03
	cpid, ppid = k.negotiate()
	k.offer(cpid, ppid, tckUse)
	byNode(cpid, ppid)
	// 02-03
	cpid, ppid = k.negotiate()
	k.agreement(cpid, ppid, tckUse, k.key)
	k.await("ContractAgreementVerificationMessage", cpid)
	byNode(cpid, ppid)
	// 02-01
	cpid, ppid = k.negotiate()
	byTCK(cpid, ppid)
	// 02-04
	cpid, ppid = k.negotiate()
	k.offer(cpid, ppid, tckUse)
	k.none("ContractNegotiationEventMessage", cpid)
	if k.state(cpid) != "OFFERED" {
		t.Fatal("the node did not wait in OFFERED")
	}
	byTCK(cpid, ppid)
	// 02-05
	cpid, ppid = k.negotiate()
	k.offer(cpid, ppid, tckUse)
	k.act(cpid, "accept", nil)
	k.await("ContractNegotiationEventMessage", cpid)
	byTCK(cpid, ppid)
	// 02-06
	cpid, ppid = k.negotiate()
	k.agreement(cpid, ppid, tckUse, k.key)
	k.await("ContractAgreementVerificationMessage", cpid)
	byTCK(cpid, ppid)
}

// TestCN_C_03: messages the node must refuse (4xx other than 404, error shape, state
// unchanged) — FINALIZED in REQUESTED (03-01), an agreement in OFFERED (03-02), FINALIZED
// in OFFERED (03-03) and ACCEPTED (03-04), a new offer in ACCEPTED (03-05). 03-06
// (FINALIZED while the consumer withholds its verification in AGREED) cannot arise: a dx
// consumer verifies in the same step as it checks the agreement. In its place, the
// agreements a consumer must refuse: other terms than agreed on, a forged provider
// signature, another target.
func TestCN_C_03(t *testing.T) {
	k := newTCKProvider(t)
	const errSchema = "negotiation/contract-negotiation-error-schema.json"
	cpid, ppid := k.negotiate()
	code, e := k.event(cpid, ppid, "FINALIZED")
	k.refused("03-01 FINALIZED in REQUESTED", code, e, errSchema)
	if k.state(cpid) != "REQUESTED" {
		t.Fatal("03-01 changed the state")
	}
	k.offer(cpid, ppid, tckUse)
	code, e = k.agreement(cpid, ppid, tckUse, k.key)
	k.refused("03-02 agreement in OFFERED", code, e, errSchema)
	code, e = k.event(cpid, ppid, "FINALIZED")
	k.refused("03-03 FINALIZED in OFFERED", code, e, errSchema)
	if k.state(cpid) != "OFFERED" {
		t.Fatal("03-02/03-03 changed the state")
	}
	k.act(cpid, "accept", nil)
	k.await("ContractNegotiationEventMessage", cpid)
	code, e = k.event(cpid, ppid, "FINALIZED")
	k.refused("03-04 FINALIZED in ACCEPTED", code, e, errSchema)
	code, e = k.offer(cpid, ppid, tckUse)
	k.refused("03-05 offer in ACCEPTED", code, e, errSchema)
	if k.state(cpid) != "ACCEPTED" {
		t.Fatal("03-04/03-05 changed the state")
	}
	// Agreements that do not match, then one that does.
	other := map[string]any{"@id": tckOffer, "@type": "Offer", "permission": []any{map[string]any{"action": "use",
		"constraint": []any{map[string]any{"leftOperand": "purpose", "operator": "eq", "rightOperand": policy.PurposeIRI("research")}}}}}
	code, e = k.agreement(cpid, ppid, other, k.key)
	k.refused("agreement on other terms", code, e, errSchema)
	if !strings.Contains(mustJSON(e), "terms differ") {
		t.Fatalf("the refusal does not say why: %v", e)
	}
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	code, e = k.agreement(cpid, ppid, tckUse, forger)
	k.refused("agreement with a forged signature", code, e, errSchema)
	if k.state(cpid) != "ACCEPTED" {
		t.Fatal("a refused agreement changed the state")
	}
	k.none("ContractAgreementVerificationMessage", cpid)
	if code, out := k.agreement(cpid, ppid, tckUse, k.key); code != 200 || k.state(cpid) != "VERIFIED" {
		t.Fatalf("the matching agreement: %d %v", code, out)
	}
	// Unknown process: 404.
	if code, _ := k.event("urn:uuid:00000000-0000-0000-0000-000000000000", ppid, "FINALIZED"); code != 404 {
		t.Fatalf("unknown process: %d", code)
	}
}

// transfer makes the node's consumer organisation request a transfer under agreement and
// returns the consumer and provider PIDs.
func (k *tckProvider) transfer(agreement string) (cpid, ppid string) {
	k.t.Helper()
	var rt contract.RemoteTransfer
	if err := k.consumer.Do(context.Background(), "POST", "/api/v1/peers/transfers", map[string]string{"participant": k.self.ParticipantID, "agreement_id": agreement}, &rt); err != nil {
		k.t.Fatal(err)
	}
	m := k.await("TransferRequestMessage", rt.ConsumerPID)
	if m.body["agreementId"] != agreement || rt.ProviderPID == "" || k.transferState(rt.ConsumerPID) != "REQUESTED" {
		k.t.Fatalf("transfer request: %v %+v", m.body, rt)
	}
	return rt.ConsumerPID, rt.ProviderPID
}

func (k *tckProvider) transferMsg(cpid, ppid, kind string) (int, map[string]any) {
	k.t.Helper()
	typ := map[string]string{"start": "TransferStartMessage", "suspension": "TransferSuspensionMessage", "completion": "TransferCompletionMessage", "termination": "TransferTerminationMessage"}[kind]
	msg := map[string]any{"@type": typ, "providerPid": ppid, "consumerPid": cpid}
	switch kind {
	case "start":
		msg["dataAddress"] = map[string]any{"@type": "DataAddress", "endpointType": dsp.EndpointTypeHTTP, "endpoint": k.srv.URL + "/data/" + cpid,
			"endpointProperties": []any{map[string]any{"@type": "EndpointProperty", "name": "authorization", "value": "tck-token-" + cpid},
				map[string]any{"@type": "EndpointProperty", "name": "authType", "value": "bearer"}}}
	case "suspension", "termination":
		msg["code"], msg["reason"] = "tck", []any{map[string]any{"message": "from the TCK"}}
	}
	k.validate("transfer/transfer-"+map[string]string{"start": "start", "suspension": "suspension", "completion": "completion", "termination": "termination"}[kind]+"-message-schema.json", withContext(msg))
	return k.send("/transfers/"+cpid+"/"+kind, msg)
}

func (k *tckProvider) transferAct(cpid, action string) {
	k.t.Helper()
	if err := k.consumer.Do(context.Background(), "POST", "/api/v1/peers/transfers/"+cpid+"/"+action, map[string]string{"reason": "by the consumer"}, nil); err != nil {
		k.t.Fatal(err)
	}
}

// TestTP_C_01: the TCK drives the transfer — start then terminate (01-01) or complete
// (01-02); suspend then terminate (01-03) or restart through the callback and complete
// (01-04); terminate while REQUESTED (01-05).
func TestTP_C_01(t *testing.T) {
	k := newTCKProvider(t)
	_, agreement := k.finalized()
	step := func(cpid, ppid, kind, want string) {
		t.Helper()
		if code, out := k.transferMsg(cpid, ppid, kind); code != 200 || k.transferState(cpid) != want {
			t.Fatalf("%s: %d %v (want %s)", kind, code, out, want)
		}
	}
	cpid, ppid := k.transfer(agreement)
	step(cpid, ppid, "start", "STARTED")
	var rt contract.RemoteTransfer
	k.consumer.Do(context.Background(), "GET", "/api/v1/peers/transfers/"+cpid, nil, &rt)
	if rt.Endpoint != k.srv.URL+"/data/"+cpid || rt.ExpiresAt.Before(time.Now()) {
		t.Fatalf("the data address was not kept: %+v", rt)
	}
	step(cpid, ppid, "termination", "TERMINATED")
	cpid, ppid = k.transfer(agreement)
	step(cpid, ppid, "start", "STARTED")
	step(cpid, ppid, "completion", "COMPLETED")
	cpid, ppid = k.transfer(agreement)
	step(cpid, ppid, "start", "STARTED")
	step(cpid, ppid, "suspension", "SUSPENDED")
	step(cpid, ppid, "termination", "TERMINATED")
	cpid, ppid = k.transfer(agreement)
	step(cpid, ppid, "start", "STARTED")
	step(cpid, ppid, "suspension", "SUSPENDED")
	step(cpid, ppid, "start", "STARTED")
	step(cpid, ppid, "completion", "COMPLETED")
	cpid, ppid = k.transfer(agreement)
	step(cpid, ppid, "termination", "TERMINATED")
}

// TestTP_C_02: the node's consumer organisation drives — terminates while REQUESTED
// (02-05), terminates (02-01) or completes (02-02) a started transfer, suspends then
// terminates (02-03) or resumes through the provider's /start and completes (02-04).
func TestTP_C_02(t *testing.T) {
	k := newTCKProvider(t)
	_, agreement := k.finalized()
	act := func(cpid, ppid, action, typ, kind, want string) {
		t.Helper()
		k.transferAct(cpid, action)
		var got tckMessage
		for range 100 {
			k.mu.Lock()
			for _, m := range k.inbox {
				if m.body["@type"] == typ && m.body["consumerPid"] == cpid {
					got = m
				}
			}
			k.mu.Unlock()
			if got.path == "/transfers/"+ppid+"/"+kind {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got.path != "/transfers/"+ppid+"/"+kind || k.transferState(cpid) != want {
			t.Fatalf("%s: the TCK got %v %v; state %s (want %s)", action, got.path, got.body, k.transferState(cpid), want)
		}
	}
	cpid, ppid := k.transfer(agreement)
	act(cpid, ppid, "terminate", "TransferTerminationMessage", "termination", "TERMINATED")
	cpid, ppid = k.transfer(agreement)
	k.transferMsg(cpid, ppid, "start")
	act(cpid, ppid, "terminate", "TransferTerminationMessage", "termination", "TERMINATED")
	cpid, ppid = k.transfer(agreement)
	k.transferMsg(cpid, ppid, "start")
	act(cpid, ppid, "complete", "TransferCompletionMessage", "completion", "COMPLETED")
	cpid, ppid = k.transfer(agreement)
	k.transferMsg(cpid, ppid, "start")
	act(cpid, ppid, "suspend", "TransferSuspensionMessage", "suspension", "SUSPENDED")
	act(cpid, ppid, "terminate", "TransferTerminationMessage", "termination", "TERMINATED")
	cpid, ppid = k.transfer(agreement)
	k.transferMsg(cpid, ppid, "start")
	act(cpid, ppid, "suspend", "TransferSuspensionMessage", "suspension", "SUSPENDED")
	act(cpid, ppid, "resume", "TransferStartMessage", "start", "STARTED")
	if code, out := k.transferMsg(cpid, ppid, "start"); code != 200 { // the provider's new data address
		t.Fatalf("new start after resume: %d %v", code, out)
	}
	act(cpid, ppid, "complete", "TransferCompletionMessage", "completion", "COMPLETED")
}

// TestTP_C_03: the six TP 03 negatives with the TCK as provider — completion (03-01) and
// suspension (03-02) in REQUESTED, completion in SUSPENDED (03-03), and start, suspension
// and completion after TERMINATED (03-04 … 03-06) — plus a start message without a usable
// data address and messages for an unknown process.
func TestTP_C_03(t *testing.T) {
	k := newTCKProvider(t)
	_, agreement := k.finalized()
	const errSchema = "transfer/transfer-error-schema.json"
	cpid, ppid := k.transfer(agreement)
	for _, kind := range []string{"completion", "suspension"} {
		code, e := k.transferMsg(cpid, ppid, kind)
		k.refused(kind+" in REQUESTED", code, e, errSchema)
	}
	code, e := k.send("/transfers/"+cpid+"/start", map[string]any{"@type": "TransferStartMessage", "providerPid": ppid, "consumerPid": cpid,
		"dataAddress": map[string]any{"@type": "DataAddress", "endpointType": dsp.EndpointTypeHTTP, "endpoint": k.srv.URL}})
	k.refused("start without authorization", code, e, errSchema)
	if k.transferState(cpid) != "REQUESTED" {
		t.Fatal("refused messages changed the state")
	}
	k.transferMsg(cpid, ppid, "start")
	k.transferMsg(cpid, ppid, "suspension")
	code, e = k.transferMsg(cpid, ppid, "completion")
	k.refused("completion in SUSPENDED", code, e, errSchema)
	k.transferMsg(cpid, ppid, "termination")
	for _, kind := range []string{"start", "suspension", "completion"} {
		code, e := k.transferMsg(cpid, ppid, kind)
		k.refused(kind+" after TERMINATED", code, e, errSchema)
	}
	if k.transferState(cpid) != "TERMINATED" {
		t.Fatal("refused messages changed the state")
	}
	if code, _ := k.transferMsg("urn:uuid:00000000-0000-0000-0000-000000000000", ppid, "completion"); code != 404 {
		t.Fatalf("unknown process: %d", code)
	}
	// The management API refuses what the state machine forbids, and tells the peer nothing.
	if err := k.consumer.Do(context.Background(), "POST", "/api/v1/peers/transfers/"+cpid+"/complete", map[string]string{}, nil); err == nil {
		t.Fatal("completing a terminated transfer was accepted")
	}
}

// TestPeerLongPoll: a consumer follows a negotiation without polling — a GET with
// changed_from and wait answers with the new state once the peer's message arrives, with
// the unchanged state when the wait ends, and refuses a malformed wait.
func TestPeerLongPoll(t *testing.T) {
	k := newTCKProvider(t)
	ctx := context.Background()
	cpid, ppid := k.negotiate()
	path := "/api/v1/peers/negotiations/" + cpid
	var still contract.RemoteNegotiation
	if err := k.consumer.Do(ctx, "GET", path+"?changed_from=REQUESTED&wait=200ms", nil, &still); err != nil || still.State != contract.Requested {
		t.Fatalf("unchanged: %+v %v", still, err)
	}
	got := make(chan contract.RemoteNegotiation, 1)
	go func() {
		var rn contract.RemoteNegotiation
		if err := k.consumer.Do(ctx, "GET", path+"?changed_from=REQUESTED&wait=30s", nil, &rn); err != nil {
			t.Error(err)
		}
		got <- rn
	}()
	time.Sleep(100 * time.Millisecond) // the GET is waiting
	if code, out := k.offer(cpid, ppid, tckUse); code != 200 {
		t.Fatalf("offer: %d %v", code, out)
	}
	if rn := <-got; rn.State != contract.Offered {
		t.Fatalf("the long poll answered %+v", rn)
	}
	err := k.consumer.Do(ctx, "GET", path+"?changed_from=OFFERED&wait=soon", nil, nil)
	if dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("malformed wait: %v", err)
	}
}
