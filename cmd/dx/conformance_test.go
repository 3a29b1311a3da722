package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/internal/dspschema"
	"github.com/dxexchange/dx/party"
)

// The conformance suite plays the DSP TCK's role against a real dx node process: a signing
// counter-party with its own callback server, TCK-like messages, every message and answer
// validated against the official schemas, and the node's state checked by GET. Tests are
// named after the TCK scenario IDs of the DSP digest (§6.3); the rest of the 67 follow.

const ns = "https://w3id.org/dspace/2025/1/"

type tck struct {
	t        *testing.T
	node     *node
	key      ed25519.PrivateKey
	self     dsp.Peer
	cb       *httptest.Server
	schemas  *dspschema.Schemas
	mu       sync.Mutex
	inbox    []map[string]any // messages the node sent to the TCK's callback
	dataset  string
	provider *client.Client
}

// The dx extension keys by which dx peers exchange agreement signatures.
const (
	dxSignatures = "https://dx.example/ns/v1/signatures"
	dxSignature  = "https://dx.example/ns/v1/signature"
)

// signAgreement countersigns an agreement document as the consumer.
func signAgreement(t *testing.T, doc []byte, party string, key ed25519.PrivateKey) contract.Signature {
	t.Helper()
	a, err := contract.ParseDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sign(party, key); err != nil {
		t.Fatal(err)
	}
	return a.Signatures[len(a.Signatures)-1]
}

func newTCK(t *testing.T) (*tck, string, string) {
	dir := dspschema.Dir()
	if dir == "" {
		t.Skip("DSP artifacts not found beside the repository")
	}
	schemas, err := dspschema.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	k := &tck{t: t, node: startNode(t), key: key, schemas: schemas}
	k.cb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		k.mu.Lock()
		k.inbox = append(k.inbox, m)
		k.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"@context": []string{dsp.Context}, "@type": "ContractNegotiation",
			"providerPid": m["providerPid"], "consumerPid": m["consumerPid"], "state": "AGREED"})
	}))
	t.Cleanup(k.cb.Close)
	k.self = dsp.Peer{ParticipantID: "did:web:tck.example", PublicKey: pub, URL: k.cb.URL}
	k.node.trust(t, &node{self: k.self})
	// Seed a dataset with an auto-approve offer and one needing manual approval.
	ctx := context.Background()
	prov, err := client.New(k.node.url, k.node.token).CreateOrg(ctx, party.NewOrg{Name: "provider", Roles: []string{"provider"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := client.New(k.node.url, prov.Token)
	res, err := pc.Register(ctx, asset.Register{Name: "acn", FileName: "a.csv", Meta: asset.Meta{Title: asset.Text{En: "ACN"}, Industry: "A"}}, strings.NewReader("a\n1\n"))
	if err != nil {
		t.Fatal(err)
	}
	use := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use"}]}`)
	auto, err := pc.CreateOffer(ctx, res.Asset.ID, use, true)
	if err != nil {
		t.Fatal(err)
	}
	manual, err := pc.CreateOffer(ctx, res.Asset.ID, use, false)
	if err != nil {
		t.Fatal(err)
	}
	k.dataset = "urn:dx:asset:" + res.Asset.ID
	k.provider = pc
	return k, auto.ID, manual.ID
}

// send posts a signed message to the node and returns the status and answer.
func (k *tck) send(method, path string, msg any) (int, map[string]any) {
	k.t.Helper()
	var body []byte
	if msg != nil {
		body, _ = json.Marshal(msg)
	}
	req, _ := http.NewRequest(method, k.node.url+dsp.BasePath+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	dsp.Sign(req, k.self.ParticipantID, k.key, body, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (k *tck) validate(schema string, v any) {
	k.t.Helper()
	b, _ := json.Marshal(v)
	if err := k.schemas.Validate(ns+schema, b); err != nil {
		k.t.Fatalf("does not validate against %s: %v\n%s", schema, err, b)
	}
}

// await returns the first message of type typ (for consumerPID, unless "") that the node
// sent to the TCK's callback, waiting for it up to two seconds.
func (k *tck) await(typ, consumerPID string) map[string]any {
	k.t.Helper()
	for range 100 {
		k.mu.Lock()
		for _, m := range k.inbox {
			if m["@type"] == typ && (consumerPID == "" || m["consumerPid"] == consumerPID) {
				k.mu.Unlock()
				return m
			}
		}
		k.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	k.t.Fatalf("the node sent no %s for %q", typ, consumerPID)
	return nil
}

func (k *tck) request(offerID, consumerPID string) (int, map[string]any) {
	msg := map[string]any{"@context": []string{dsp.Context}, "@type": "ContractRequestMessage", "@id": "urn:uuid:random-extra", "consumerPid": consumerPID,
		"callbackAddress": k.cb.URL, "offer": map[string]any{"@id": offerID, "@type": "Offer", "target": k.dataset,
			"permission": []any{map[string]any{"action": "use", "constraint": []any{}}}}}
	k.validate("negotiation/contract-request-message-schema.json", msg)
	return k.send("POST", "/negotiations/request", msg)
}

func (k *tck) state(providerPID string) string {
	code, out := k.send("GET", "/negotiations/"+providerPID, nil)
	if code != 200 {
		k.t.Fatalf("GET negotiation: %d %v", code, out)
	}
	k.validate("negotiation/contract-negotiation-schema.json", out)
	return out["state"].(string)
}

func TestMET_01_01(t *testing.T) {
	k, _, _ := newTCK(t)
	resp, err := http.Get(k.node.url + "/.well-known/dspace-version")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	k.validate("common/protocol-version-schema.json", v)
	entry := v["protocolVersions"].([]any)[0].(map[string]any)
	if entry["version"] != "2025-1" || entry["path"] == nil || entry["binding"] != "HTTPS" {
		t.Fatalf("version entry: %v", entry)
	}
}

func TestCAT_01(t *testing.T) {
	k, _, _ := newTCK(t)
	code, cat := k.send("POST", "/catalog/request", map[string]any{"@context": []string{dsp.Context}, "@type": "CatalogRequestMessage"})
	k.validate("catalog/catalog-schema.json", cat)
	if code != 200 || !strings.Contains(mustJSON(cat), k.dataset) {
		t.Fatalf("CAT 01-01: %d %v", code, cat)
	}
	code, ds := k.send("GET", "/catalog/datasets/"+k.dataset, nil)
	k.validate("catalog/dataset-schema.json", ds)
	if code != 200 || ds["@id"] != k.dataset {
		t.Fatalf("CAT 01-02: %d %v", code, ds)
	}
	code, e := k.send("GET", "/catalog/datasets/urn:dx:asset:ast_00000000000000000000000000", nil)
	k.validate("catalog/catalog-error-schema.json", e)
	if code < 400 || code >= 500 {
		t.Fatalf("CAT 01-03: %d %v", code, e)
	}
}

// TestCN_01_04: request → the node's agreement → the TCK's verification → FINALIZED.
func TestCN_01_04(t *testing.T) {
	k, auto, _ := newTCK(t)
	code, ack := k.request(auto, "urn:uuid:cn-01-04")
	k.validate("negotiation/contract-negotiation-schema.json", ack)
	if code != 201 {
		t.Fatalf("request: %d %v", code, ack)
	}
	agreement := k.await("ContractAgreementMessage", "")
	k.validate("negotiation/contract-agreement-message-schema.json", agreement)
	pid := agreement["providerPid"].(string)
	if k.state(pid) != "AGREED" {
		t.Fatal("not AGREED after the agreement message")
	}
	// Countersign as the TCK would (a dx extension; the TCK itself omits it).
	raw, _ := json.Marshal(map[string]any{"agreement": agreement["agreement"], "signatures": agreement[dxSignatures]})
	sig := signAgreement(t, raw, k.self.ParticipantID, k.key)
	verification := map[string]any{"@context": []string{dsp.Context}, "@type": "ContractAgreementVerificationMessage", "providerPid": pid,
		"consumerPid": "urn:uuid:cn-01-04", dxSignature: sig}
	k.validate("negotiation/contract-agreement-verification-message-schema.json", verification)
	if code, out := k.send("POST", "/negotiations/"+pid+"/agreement/verification", verification); code != 200 {
		t.Fatalf("verification: %d %v", code, out)
	}
	event := k.await("ContractNegotiationEventMessage", "")
	k.validate("negotiation/contract-negotiation-event-message-schema.json", event)
	if event["eventType"] != "FINALIZED" || k.state(pid) != "FINALIZED" {
		t.Fatalf("FINALIZED: %v", event)
	}
	// CN 03-01: termination after FINALIZED is refused (4xx, not 404) and changes nothing.
	term := map[string]any{"@context": []string{dsp.Context}, "@type": "ContractNegotiationTerminationMessage", "providerPid": pid, "consumerPid": "urn:uuid:cn-01-04",
		"code": "tck", "reason": []any{map[string]any{"message": "late"}}}
	k.validate("negotiation/contract-negotiation-termination-message-schema.json", term)
	code, e := k.send("POST", "/negotiations/"+pid+"/termination", term)
	k.validate("negotiation/contract-negotiation-error-schema.json", e)
	if code < 400 || code >= 500 || code == 404 || k.state(pid) != "FINALIZED" {
		t.Fatalf("CN 03-01: %d %v", code, e)
	}
}

// TestCN_02_02: the TCK terminates in REQUESTED (a manual offer waits for approval).
func TestCN_02_02(t *testing.T) {
	k, _, manual := newTCK(t)
	code, ack := k.request(manual, "urn:uuid:cn-02-02")
	if code != 201 || ack["state"] != "REQUESTED" {
		t.Fatalf("request: %d %v", code, ack)
	}
	pid := ack["providerPid"].(string)
	term := map[string]any{"@context": []string{dsp.Context}, "@type": "ContractNegotiationTerminationMessage", "providerPid": pid, "consumerPid": "urn:uuid:cn-02-02",
		"reason": []any{"not needed"}}
	if code, out := k.send("POST", "/negotiations/"+pid+"/termination", term); code != 200 {
		t.Fatalf("termination: %d %v", code, out)
	}
	if k.state(pid) != "TERMINATED" {
		t.Fatal("not TERMINATED")
	}
	// Terminating again is a no-op (dx rule); a verification now is refused.
	if code, _ := k.send("POST", "/negotiations/"+pid+"/termination", term); code != 200 {
		t.Fatalf("second termination: %d", code)
	}
	code, e := k.send("POST", "/negotiations/"+pid+"/agreement/verification", map[string]any{"@context": []string{dsp.Context},
		"@type": "ContractAgreementVerificationMessage", "providerPid": pid, "consumerPid": "urn:uuid:cn-02-02"})
	if code < 400 || code >= 500 || code == 404 {
		t.Fatalf("verification after termination: %d %v", code, e)
	}
}

// TestCN_RepeatedRequest: a repeated initial request returns the same process (dx rule, §3.6).
func TestCN_RepeatedRequest(t *testing.T) {
	k, auto, _ := newTCK(t)
	_, a1 := k.request(auto, "urn:uuid:dup")
	_, a2 := k.request(auto, "urn:uuid:dup")
	if a1["providerPid"] == nil || a1["providerPid"] != a2["providerPid"] {
		t.Fatalf("repeated request: %v %v", a1, a2)
	}
	if code, e := k.send("GET", "/negotiations/urn:dx:negotiation:neg_00000000000000000000000000", nil); code != 404 {
		t.Fatalf("unknown process: %d %v", code, e)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// agreed runs CN 01-04 and returns the agreement ID.
func (k *tck) agreed(offerID, consumerPID string) string {
	k.t.Helper()
	if code, ack := k.request(offerID, consumerPID); code != 201 {
		k.t.Fatalf("request: %d %v", code, ack)
	}
	agreement := k.await("ContractAgreementMessage", consumerPID)
	pid := agreement["providerPid"].(string)
	raw, _ := json.Marshal(map[string]any{"agreement": agreement["agreement"], "signatures": agreement[dxSignatures]})
	sig := signAgreement(k.t, raw, k.self.ParticipantID, k.key)
	if code, out := k.send("POST", "/negotiations/"+pid+"/agreement/verification", map[string]any{"@context": []string{dsp.Context},
		"@type": "ContractAgreementVerificationMessage", "providerPid": pid, "consumerPid": consumerPID, dxSignature: sig}); code != 200 {
		k.t.Fatalf("verification: %d %v", code, out)
	}
	return agreement["agreement"].(map[string]any)["@id"].(string)
}

// startTransfer requests a pull transfer and returns the provider PID from the node's
// start message.
func (k *tck) startTransfer(agreementID, consumerPID string) (string, map[string]any) {
	k.t.Helper()
	msg := map[string]any{"@context": []string{dsp.Context}, "@type": "TransferRequestMessage", "consumerPid": consumerPID, "agreementId": agreementID,
		"format": "HttpData-PULL", "callbackAddress": k.cb.URL}
	k.validate("transfer/transfer-request-message-schema.json", msg)
	code, ack := k.send("POST", "/transfers/request", msg)
	k.validate("transfer/transfer-process-schema.json", ack)
	if code != 201 {
		k.t.Fatalf("transfer request: %d %v", code, ack)
	}
	start := k.await("TransferStartMessage", consumerPID)
	k.validate("transfer/transfer-start-message-schema.json", start)
	return start["providerPid"].(string), start
}

func (k *tck) transferState(pid string) string {
	k.t.Helper()
	code, out := k.send("GET", "/transfers/"+pid, nil)
	if code != 200 {
		k.t.Fatalf("GET transfer: %d %v", code, out)
	}
	k.validate("transfer/transfer-process-schema.json", out)
	return out["state"].(string)
}

func (k *tck) transferMsg(pid, consumerPID, kind, typ string) (int, map[string]any) {
	msg := map[string]any{"@context": []string{dsp.Context}, "@type": typ, "providerPid": pid, "consumerPid": consumerPID}
	if kind == "termination" || kind == "suspension" {
		msg["code"], msg["reason"] = "tck", []any{map[string]any{"message": "from the TCK"}}
	}
	return k.send("POST", "/transfers/"+pid+"/"+kind, msg)
}

// TestTP_02: the TCK (as consumer) terminates a started transfer (02-01), completes one
// (02-02), suspends and resumes then completes one (02-04); after a terminal state start,
// suspension and completion are refused (03-04 … 03-06).
func TestTP_02(t *testing.T) {
	k, auto, _ := newTCK(t)
	agreement := k.agreed(auto, "urn:uuid:tp-cn")
	// 02-01
	pid, start := k.startTransfer(agreement, "urn:uuid:tp-02-01")
	if k.transferState(pid) != "STARTED" || start["dataAddress"] == nil {
		t.Fatal("not STARTED with a data address")
	}
	if code, out := k.transferMsg(pid, "urn:uuid:tp-02-01", "termination", "TransferTerminationMessage"); code != 200 {
		t.Fatalf("termination: %d %v", code, out)
	}
	if k.transferState(pid) != "TERMINATED" {
		t.Fatal("not TERMINATED")
	}
	for _, x := range [][2]string{{"start", "TransferStartMessage"}, {"suspension", "TransferSuspensionMessage"}, {"completion", "TransferCompletionMessage"}} {
		code, e := k.transferMsg(pid, "urn:uuid:tp-02-01", x[0], x[1])
		if code < 400 || code >= 500 || code == 404 {
			t.Fatalf("%s after TERMINATED: %d %v", x[0], code, e)
		}
		k.validate("transfer/transfer-error-schema.json", e)
	}
	// 02-02
	pid, _ = k.startTransfer(agreement, "urn:uuid:tp-02-02")
	if code, out := k.transferMsg(pid, "urn:uuid:tp-02-02", "completion", "TransferCompletionMessage"); code != 200 || k.transferState(pid) != "COMPLETED" {
		t.Fatalf("completion: %d %v", code, out)
	}
	// 02-04: suspend, resume (a new start message with a new token), complete.
	pid, first := k.startTransfer(agreement, "urn:uuid:tp-02-04")
	if code, out := k.transferMsg(pid, "urn:uuid:tp-02-04", "suspension", "TransferSuspensionMessage"); code != 200 || k.transferState(pid) != "SUSPENDED" {
		t.Fatalf("suspension: %d %v", code, out)
	}
	k.mu.Lock()
	k.inbox = nil
	k.mu.Unlock()
	if code, out := k.transferMsg(pid, "urn:uuid:tp-02-04", "start", "TransferStartMessage"); code != 200 || k.transferState(pid) != "STARTED" {
		t.Fatalf("resume: %d %v", code, out)
	}
	_, second := k.startTransferAwait("urn:uuid:tp-02-04")
	if mustJSON(second["dataAddress"]) == mustJSON(first["dataAddress"]) {
		t.Fatal("resume did not issue a new data address")
	}
	if code, out := k.transferMsg(pid, "urn:uuid:tp-02-04", "completion", "TransferCompletionMessage"); code != 200 || k.transferState(pid) != "COMPLETED" {
		t.Fatalf("completion after resume: %d %v", code, out)
	}
}

// startTransferAwait waits for another TransferStartMessage for consumerPID.
func (k *tck) startTransferAwait(consumerPID string) (string, map[string]any) {
	k.t.Helper()
	m := k.await("TransferStartMessage", consumerPID)
	k.validate("transfer/transfer-start-message-schema.json", m)
	return m["providerPid"].(string), m
}

// TestTP_01_02: the node (as provider) completes a started transfer through its
// management API and tells the consumer.
func TestTP_01_02(t *testing.T) {
	k, auto, _ := newTCK(t)
	agreement := k.agreed(auto, "urn:uuid:tp-cn-2")
	pid, _ := k.startTransfer(agreement, "urn:uuid:tp-01-02")
	var out map[string]any
	if err := k.provider.Do(context.Background(), "POST", "/api/v1/transfers/"+pid+"/complete", map[string]string{}, &out); err != nil {
		t.Fatal(err)
	}
	msg := k.await("TransferCompletionMessage", "")
	k.validate("transfer/transfer-completion-message-schema.json", msg)
	if k.transferState(pid) != "COMPLETED" {
		t.Fatal("not COMPLETED")
	}
}

// TestCN_01_03: request → the node's offer (the provider organisation counter-offers) →
// the TCK's ACCEPTED → the node's agreement → the TCK's verification → FINALIZED.
func TestCN_01_03(t *testing.T) {
	k, _, manual := newTCK(t)
	code, ack := k.request(manual, "urn:uuid:cn-01-03")
	if code != 201 || ack["state"] != "REQUESTED" {
		t.Fatalf("request: %d %v", code, ack)
	}
	pid := ack["providerPid"].(string)
	id := strings.TrimPrefix(pid, "urn:dx:negotiation:")
	if err := k.provider.Do(context.Background(), "POST", "/api/v1/negotiations/"+id+"/offer", map[string]any{"policy": json.RawMessage(`{"@type":"Offer","permission":[{"action":"use"}]}`)}, nil); err != nil {
		t.Fatal(err)
	}
	offer := k.await("ContractOfferMessage", "")
	k.validate("negotiation/contract-offer-message-schema.json", offer)
	if k.state(pid) != "OFFERED" {
		t.Fatal("not OFFERED")
	}
	// CN 03-02: a verification in OFFERED is refused and changes nothing.
	code, e := k.send("POST", "/negotiations/"+pid+"/agreement/verification", map[string]any{"@context": []string{dsp.Context},
		"@type": "ContractAgreementVerificationMessage", "providerPid": pid, "consumerPid": "urn:uuid:cn-01-03"})
	if code < 400 || code >= 500 || code == 404 || k.state(pid) != "OFFERED" {
		t.Fatalf("CN 03-02: %d %v", code, e)
	}
	accepted := map[string]any{"@context": []string{dsp.Context}, "@type": "ContractNegotiationEventMessage", "providerPid": pid, "consumerPid": "urn:uuid:cn-01-03", "eventType": "ACCEPTED"}
	k.validate("negotiation/contract-negotiation-event-message-schema.json", accepted)
	if code, out := k.send("POST", "/negotiations/"+pid+"/events", accepted); code != 200 {
		t.Fatalf("ACCEPTED: %d %v", code, out)
	}
	agreement := k.await("ContractAgreementMessage", "")
	k.validate("negotiation/contract-agreement-message-schema.json", agreement)
	raw, _ := json.Marshal(map[string]any{"agreement": agreement["agreement"], "signatures": agreement[dxSignatures]})
	sig := signAgreement(t, raw, k.self.ParticipantID, k.key)
	if code, out := k.send("POST", "/negotiations/"+pid+"/agreement/verification", map[string]any{"@context": []string{dsp.Context},
		"@type": "ContractAgreementVerificationMessage", "providerPid": pid, "consumerPid": "urn:uuid:cn-01-03", dxSignature: sig}); code != 200 {
		t.Fatalf("verification: %d %v", code, out)
	}
	if k.await("ContractNegotiationEventMessage", "")["eventType"] != "FINALIZED" || k.state(pid) != "FINALIZED" {
		t.Fatal("not FINALIZED")
	}
}

// TestCN_02: terminations — the node (its provider organisation) terminates in REQUESTED
// (02-01) and in OFFERED (02-05); the TCK terminates in OFFERED (02-04). Each reaches the
// other side, and the state is TERMINATED.
func TestCN_02(t *testing.T) {
	k, _, manual := newTCK(t)
	ctx := context.Background()
	start := func(consumerPID string) string {
		code, ack := k.request(manual, consumerPID)
		if code != 201 {
			t.Fatalf("request: %d %v", code, ack)
		}
		return ack["providerPid"].(string)
	}
	local := func(pid string) string { return strings.TrimPrefix(pid, "urn:dx:negotiation:") }
	awaitTermination := func(consumerPID string) map[string]any {
		m := k.await("ContractNegotiationTerminationMessage", consumerPID)
		k.validate("negotiation/contract-negotiation-termination-message-schema.json", m)
		return m
	}
	// 02-01
	pid := start("urn:uuid:cn-02-01")
	if _, err := k.provider.NegotiationAction(ctx, local(pid), "terminate", "not for sale"); err != nil {
		t.Fatal(err)
	}
	if m := awaitTermination("urn:uuid:cn-02-01"); !strings.Contains(mustJSON(m["reason"]), "not for sale") || k.state(pid) != "TERMINATED" {
		t.Fatalf("02-01: %v", m)
	}
	// 02-05
	pid = start("urn:uuid:cn-02-05")
	if err := k.provider.Do(ctx, "POST", "/api/v1/negotiations/"+local(pid)+"/offer", map[string]any{"policy": json.RawMessage(`{"@type":"Offer","permission":[{"action":"use"}]}`)}, nil); err != nil {
		t.Fatal(err)
	}
	k.await("ContractOfferMessage", "")
	if _, err := k.provider.NegotiationAction(ctx, local(pid), "terminate", "offer withdrawn"); err != nil {
		t.Fatal(err)
	}
	if awaitTermination("urn:uuid:cn-02-05"); k.state(pid) != "TERMINATED" {
		t.Fatal("02-05: not TERMINATED")
	}
	// 02-04
	pid = start("urn:uuid:cn-02-04")
	if err := k.provider.Do(ctx, "POST", "/api/v1/negotiations/"+local(pid)+"/offer", map[string]any{"policy": json.RawMessage(`{"@type":"Offer","permission":[{"action":"use"}]}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if code, out := k.send("POST", "/negotiations/"+pid+"/termination", map[string]any{"@context": []string{dsp.Context}, "@type": "ContractNegotiationTerminationMessage",
		"providerPid": pid, "consumerPid": "urn:uuid:cn-02-04", "code": "tck"}); code != 200 || k.state(pid) != "TERMINATED" {
		t.Fatalf("02-04: %d %v", code, out)
	}
}

// TestCN_01_02: request → the node's offer → the TCK's counter-offer (the node is back in
// REQUESTED) → the node terminates; a second counter while REQUESTED is refused (CN 03-04).
func TestCN_01_02(t *testing.T) {
	k, _, manual := newTCK(t)
	ctx := context.Background()
	code, ack := k.request(manual, "urn:uuid:cn-01-02")
	if code != 201 {
		t.Fatalf("request: %d %v", code, ack)
	}
	pid := ack["providerPid"].(string)
	local := strings.TrimPrefix(pid, "urn:dx:negotiation:")
	if err := k.provider.Do(ctx, "POST", "/api/v1/negotiations/"+local+"/offer", map[string]any{"policy": json.RawMessage(`{"@type":"Offer","permission":[{"action":"use"}]}`)}, nil); err != nil {
		t.Fatal(err)
	}
	offer := k.await("ContractOfferMessage", "")
	counter := map[string]any{"@context": []string{dsp.Context}, "@type": "ContractRequestMessage", "providerPid": pid, "consumerPid": "urn:uuid:cn-01-02",
		"offer": map[string]any{"@id": offer["offer"].(map[string]any)["@id"], "@type": "Offer", "target": k.dataset,
			"permission": []any{map[string]any{"action": "use", "constraint": []any{map[string]any{"leftOperand": "odrl:count", "operator": "lteq", "rightOperand": "1"}}}}}}
	k.validate("negotiation/contract-request-message-schema.json", counter)
	if code, out := k.send("POST", "/negotiations/"+pid+"/request", counter); code != 200 || k.state(pid) != "REQUESTED" {
		t.Fatalf("counter: %d %v", code, out)
	}
	// CN 03-04
	if code, e := k.send("POST", "/negotiations/"+pid+"/request", counter); code < 400 || code >= 500 || code == 404 || k.state(pid) != "REQUESTED" {
		t.Fatalf("second counter: %d %v", code, e)
	}
	if _, err := k.provider.NegotiationAction(ctx, local, "terminate", "no"); err != nil {
		t.Fatal(err)
	}
	if k.state(pid) != "TERMINATED" {
		t.Fatal("not TERMINATED")
	}
}

// TestTP_01: the node (as provider) drives started transfers through its management API
// and tells the TCK — terminates (01-01); suspends then terminates (01-03); suspends,
// restarts with a new data address and completes (01-04). The TCK suspends then
// terminates (02-03), and a completion in SUSPENDED is refused (03-03). (01-05, 02-05,
// 03-01 and 03-02 need a transfer resting in REQUESTED; a dx provider starts every
// authorised transfer at once, counting the use, so that state is never observable.)
func TestTP_01(t *testing.T) {
	k, auto, _ := newTCK(t)
	ctx := context.Background()
	agreement := k.agreed(auto, "urn:uuid:tp-01")
	act := func(pid, action string) {
		t.Helper()
		if err := k.provider.Do(ctx, "POST", "/api/v1/transfers/"+pid+"/"+action, map[string]string{"reason": "by the provider"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	awaitMsg := func(typ, consumerPID, schema string) map[string]any {
		t.Helper()
		m := k.await(typ, consumerPID)
		k.validate(schema, m)
		return m
	}
	// 01-01
	pid, _ := k.startTransfer(agreement, "urn:uuid:tp-01-01")
	act(pid, "terminate")
	if m := awaitMsg("TransferTerminationMessage", "urn:uuid:tp-01-01", "transfer/transfer-termination-message-schema.json"); !strings.Contains(mustJSON(m), "by the provider") || k.transferState(pid) != "TERMINATED" {
		t.Fatalf("01-01: %v", m)
	}
	// 01-03
	pid, _ = k.startTransfer(agreement, "urn:uuid:tp-01-03")
	act(pid, "suspend")
	awaitMsg("TransferSuspensionMessage", "urn:uuid:tp-01-03", "transfer/transfer-suspension-message-schema.json")
	if k.transferState(pid) != "SUSPENDED" {
		t.Fatal("01-03: not SUSPENDED")
	}
	act(pid, "terminate")
	awaitMsg("TransferTerminationMessage", "urn:uuid:tp-01-03", "transfer/transfer-termination-message-schema.json")
	// 01-04
	pid, first := k.startTransfer(agreement, "urn:uuid:tp-01-04")
	act(pid, "suspend")
	awaitMsg("TransferSuspensionMessage", "urn:uuid:tp-01-04", "transfer/transfer-suspension-message-schema.json")
	k.mu.Lock()
	k.inbox = nil
	k.mu.Unlock()
	act(pid, "resume")
	_, second := k.startTransferAwait("urn:uuid:tp-01-04")
	if mustJSON(second["dataAddress"]) == mustJSON(first["dataAddress"]) || k.transferState(pid) != "STARTED" {
		t.Fatal("01-04: the restart did not bring a new data address")
	}
	act(pid, "complete")
	awaitMsg("TransferCompletionMessage", "urn:uuid:tp-01-04", "transfer/transfer-completion-message-schema.json")
	// 02-03 and 03-03
	pid, _ = k.startTransfer(agreement, "urn:uuid:tp-02-03")
	if code, out := k.transferMsg(pid, "urn:uuid:tp-02-03", "suspension", "TransferSuspensionMessage"); code != 200 || k.transferState(pid) != "SUSPENDED" {
		t.Fatalf("02-03 suspension: %d %v", code, out)
	}
	code, e := k.transferMsg(pid, "urn:uuid:tp-02-03", "completion", "TransferCompletionMessage")
	if code < 400 || code >= 500 || code == 404 || k.transferState(pid) != "SUSPENDED" {
		t.Fatalf("03-03: %d %v", code, e)
	}
	k.validate("transfer/transfer-error-schema.json", e)
	if code, out := k.transferMsg(pid, "urn:uuid:tp-02-03", "termination", "TransferTerminationMessage"); code != 200 || k.transferState(pid) != "TERMINATED" {
		t.Fatalf("02-03 termination: %d %v", code, out)
	}
}

// TestCN_JSONLDPeer: a request as a JSON-LD-minded peer writes it — a string @context,
// collapsed single-element arrays, prefixed ODRL names — is the same request (§6.4 item 4).
func TestCN_JSONLDPeer(t *testing.T) {
	k, auto, _ := newTCK(t)
	msg := map[string]any{"@context": dsp.Context, "@type": "ContractRequestMessage", "consumerPid": "urn:uuid:jsonld", "callbackAddress": k.cb.URL,
		"offer": map[string]any{"@id": auto, "@type": "odrl:Offer", "target": k.dataset, "odrl:permission": map[string]any{"odrl:action": "odrl:use"}}}
	code, ack := k.send("POST", "/negotiations/request", msg)
	if code != 201 {
		t.Fatalf("request: %d %v", code, ack)
	}
	k.validate("negotiation/contract-negotiation-schema.json", ack)
	if m := k.await("ContractAgreementMessage", "urn:uuid:jsonld"); m["providerPid"] != ack["providerPid"] {
		t.Fatalf("agreement: %v", m)
	}
}
