package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/contract"
)

func policyJSON(constraints string) json.RawMessage {
	return json.RawMessage(`{"@type":"Offer","profile":"https://dx.example/ns/v1/profile","permission":[{"action":"use","constraint":[` + constraints + `]}],
		"prohibition":[{"action":"use","constraint":[{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/marketing"}]}]}`)
}

const researchOrCredit = `{"leftOperand":"odrl:purpose","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/purpose/research","https://dx.example/ns/v1/purpose/risk-control.credit"]},
	{"leftOperand":"odrl:deliveryChannel","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/channel/download"]}`

func TestContractsEndToEnd(t *testing.T) { onBackends(t, testContracts) }

func testContracts(t *testing.T, db string) {
	te := startExchange(t, func(c *Config) { c.DB = db })
	ctx := context.Background()
	prov, _ := te.org(t, "医院", "provider")
	cons, _ := te.org(t, "研究所", "consumer")
	other, _ := te.org(t, "other", "consumer")
	a, _, err := register(prov, "visits", "v.csv", "区县,人数\n西湖区,3\n", asset.Listed)
	if err != nil {
		t.Fatal(err)
	}

	// Offers: validated, owner only.
	_, err = cons.CreateOffer(ctx, a.ID, policyJSON(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"3"}`), true)
	wantCode(t, err, dx.EForbidden)
	_, err = prov.CreateOffer(ctx, a.ID, policyJSON(`{"leftOperand":"odrl:count","operator":"approx","rightOperand":"3"}`), true)
	wantCode(t, err, dx.EInvalid)
	limited, err := prov.CreateOffer(ctx, a.ID, policyJSON(researchOrCredit+`,{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"3"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if offers, _ := cons.Offers(ctx, a.ID); len(offers) != 1 || offers[0].ID != limited.ID || !strings.HasPrefix(offers[0].ID, "urn:uuid:") {
		t.Fatalf("offers: %+v", offers)
	}

	// A request that goes beyond the offer is refused with the place it differs.
	wider := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[` + researchOrCredit + `,{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"30"}]}],
		"prohibition":[{"action":"use","constraint":[{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/marketing"}]}]}`)
	_, err = cons.RequestContract(ctx, limited.ID, wider, "")
	if dx.ErrorCode(err) != dx.EInvalid || !strings.Contains(dx.ErrorMessage(err), "/permission/0/constraint/") {
		t.Fatalf("wider request: %v", err)
	}
	// The consumer narrows the purpose to academic research; auto-approval signs at once.
	terms := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[
		{"leftOperand":"odrl:purpose","operator":"eq","rightOperand":"https://dx.example/ns/v1/purpose/research.academic"},
		{"leftOperand":"odrl:deliveryChannel","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/channel/download"]},
		{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"3"}]}],
		"prohibition":[{"action":"use","constraint":[{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/marketing"}]}]}`)
	n, err := cons.RequestContract(ctx, limited.ID, terms, "urn:uuid:11111111-2222-4333-8444-555555555555")
	if err != nil {
		t.Fatal(err)
	}
	if n.State != contract.Finalized || n.AgreementID == "" {
		t.Fatalf("auto-approved negotiation: %+v", n)
	}
	again, err := cons.RequestContract(ctx, limited.ID, terms, "urn:uuid:11111111-2222-4333-8444-555555555555")
	if err != nil || again.ID != n.ID {
		t.Fatalf("a retried request made another negotiation: %+v %v", again, err)
	}

	// The signed agreement verifies offline.
	doc, err := cons.AgreementDocument(ctx, n.AgreementID)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "agreement.json")
	os.WriteFile(file, doc, 0o600)
	if out, errOut, code := runOffline(t, "agreement", "verify", file); code != 0 {
		t.Fatalf("verify: %s %s", out, errOut)
	}
	_, err = other.AgreementDocument(ctx, n.AgreementID)
	wantCode(t, err, dx.ENotFound)

	// Three uses, then the count limit refuses with the reason.
	for i := range 3 {
		if _, err := download(t, cons, a.ID, 0, "csv"); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	_, err = download(t, cons, a.ID, 0, "csv")
	if dx.ErrorCode(err) != dx.EForbidden || !strings.Contains(dx.ErrorMessage(err), "count lteq 3") {
		t.Fatalf("fourth use: %v", err)
	}
	ags, _ := cons.Agreements(ctx)
	if len(ags) != 1 || ags[0].Uses != 3 {
		t.Fatalf("agreements: %+v", ags)
	}

	// An offer that has already expired yields an agreement that allows nothing.
	expired, err := prov.CreateOffer(ctx, a.ID, policyJSON(`{"leftOperand":"odrl:dateTime","operator":"lt","rightOperand":"2020-01-01T00:00:00+08:00"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.RequestContract(ctx, expired.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	_, err = download(t, other, a.ID, 0, "csv")
	if dx.ErrorCode(err) != dx.EForbidden || !strings.Contains(dx.ErrorMessage(err), "dateTime") {
		t.Fatalf("expired agreement: %v", err)
	}

	// Manual approval; termination by the consumer; revocation takes effect at once.
	manual, err := prov.CreateOffer(ctx, a.ID, policyJSON(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"100"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := other.RequestContract(ctx, manual.ID, nil, "")
	if err != nil || n2.State != contract.Requested {
		t.Fatalf("manual request: %+v %v", n2, err)
	}
	_, err = other.NegotiationAction(ctx, n2.ID, "approve", "")
	wantCode(t, err, dx.EForbidden)
	n2b, err := prov.NegotiationAction(ctx, n2.ID, "approve", "")
	if err != nil || n2b.State != contract.Finalized {
		t.Fatalf("approve: %+v %v", n2b, err)
	}
	_, err = prov.NegotiationAction(ctx, n2.ID, "terminate", "late")
	if dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("terminating a finalized negotiation: %v", err)
	}
	if _, err := download(t, other, a.ID, 0, "csv"); err != nil {
		t.Fatalf("use after approval (the expired agreement must not block a valid one): %v", err)
	}
	if err := prov.RevokeAgreement(ctx, n2b.AgreementID, "end of project"); err != nil {
		t.Fatal(err)
	}
	_, err = download(t, other, a.ID, 0, "csv")
	wantCode(t, err, dx.EForbidden)
	n3, _ := other.RequestContract(ctx, manual.ID, nil, "")
	t3, err := other.NegotiationAction(ctx, n3.ID, "terminate", "changed our mind")
	if err != nil || t3.State != contract.Terminated || t3.Reason != "changed our mind" {
		t.Fatalf("terminate: %+v %v", t3, err)
	}
	if seen, _ := prov.Negotiations(ctx); !containsReason(seen, "changed our mind") {
		t.Fatal("the provider does not see the termination reason")
	}

	// Every step is an audit event.
	var evs struct {
		Events []struct{ Action string } `json:"events"`
	}
	te.op.Do(ctx, "GET", "/api/v1/events?limit=1000", nil, &evs)
	count := map[string]int{}
	for _, e := range evs.Events {
		count[e.Action]++
	}
	for action, n := range map[string]int{"offer.create": 3, "negotiation.requested": 4, "negotiation.finalized": 3, "agreement.create": 3,
		"agreement.use": 4, "agreement.revoke": 1, "negotiation.terminated": 1, "agreement.denied": 4} {
		if count[action] != n {
			t.Errorf("%d %s events, want %d (%v)", count[action], action, n, count)
		}
	}
}

func containsReason(ns []api.NegotiationView, reason string) bool {
	for _, n := range ns {
		if n.Reason == reason {
			return true
		}
	}
	return false
}

// TestCountLimitUnderConcurrency: 64 concurrent downloads under an agreement allowing
// 10 uses — exactly 10 succeed.
func TestCountLimitUnderConcurrency(t *testing.T) { onBackends(t, testCountLimit) }

func testCountLimit(t *testing.T, db string) {
	te := startExchange(t, func(c *Config) { c.DB = db })
	ctx := context.Background()
	prov, _ := te.org(t, "p", "provider")
	cons, _ := te.org(t, "c", "consumer")
	a, _, err := register(prov, "x", "x.csv", "a\n1\n", asset.Listed)
	if err != nil {
		t.Fatal(err)
	}
	o, err := prov.CreateOffer(ctx, a.ID, policyJSON(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"10"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cons.RequestContract(ctx, o.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			_, _, err := cons.Download(ctx, a.ID, 0, "csv", 0, &buf)
			switch dx.ErrorCode(err) {
			case "":
				ok.Add(1)
			case dx.EForbidden:
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != 54 {
		t.Fatalf("%d allowed, %d refused; want exactly 10 and 54", ok.Load(), refused.Load())
	}
}

func TestTransfers(t *testing.T) { onBackends(t, testTransfers) }

func testTransfers(t *testing.T, db string) {
	te := startExchange(t, func(c *Config) { c.DB = db })
	ctx := context.Background()
	prov, _ := te.org(t, "p", "provider")
	cons, _ := te.org(t, "c", "consumer")
	other, _ := te.org(t, "o", "consumer")
	a, _, err := register(prov, "x", "x.csv", "城市,数量\n杭州,1\n宁波,2\n", asset.Listed)
	if err != nil {
		t.Fatal(err)
	}
	o, err := prov.CreateOffer(ctx, a.ID, policyJSON(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"2"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	n, err := cons.RequestContract(ctx, o.ID, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.RequestTransfer(ctx, n.AgreementID, "", "")
	wantCode(t, err, dx.ENotFound) // another organisation's agreement is not revealed
	tr, err := cons.RequestTransfer(ctx, n.AgreementID, "", "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if tr.State != contract.TransferStarted || tr.DataAddress == nil || !strings.HasPrefix(tr.DataAddress.Token, "dxt_") {
		t.Fatalf("transfer: %+v", tr)
	}
	// Several pulls (and Range requests) in one transfer count as one use.
	for range 3 {
		var buf bytes.Buffer
		if _, err := cons.Pull(ctx, *tr.DataAddress, "csv", &buf); err != nil || !strings.Contains(buf.String(), "杭州,1") {
			t.Fatalf("pull: %q %v", buf.String(), err)
		}
	}
	if ags, _ := cons.Agreements(ctx); ags[0].Uses != 1 {
		t.Fatalf("uses after one transfer: %d", ags[0].Uses)
	}
	// The API token does not open the data plane, nor does a forged token.
	bad := *tr.DataAddress
	bad.Token = cons.Token
	_, err = cons.Pull(ctx, bad, "csv", &bytes.Buffer{})
	wantCode(t, err, dx.EUnauthorized)
	bad.Token = "dxt_forged"
	_, err = cons.Pull(ctx, bad, "csv", &bytes.Buffer{})
	wantCode(t, err, dx.EUnauthorized)
	// A retried request returns the same transfer with a new token; the old one stops working.
	again, err := cons.RequestTransfer(ctx, n.AgreementID, "", "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001")
	if err != nil || again.ID != tr.ID || again.DataAddress == nil || again.DataAddress.Token == tr.DataAddress.Token {
		t.Fatalf("retried request: %+v %v", again, err)
	}
	_, err = cons.Pull(ctx, *tr.DataAddress, "csv", &bytes.Buffer{})
	wantCode(t, err, dx.EUnauthorized)
	// Suspend revokes the token; resume issues a new one; illegal transitions are refused.
	if s, err := prov.ChangeTransfer(ctx, tr.ID, "suspend", "maintenance"); err != nil || s.State != contract.TransferSuspended {
		t.Fatalf("suspend: %+v %v", s, err)
	}
	_, err = cons.Pull(ctx, *again.DataAddress, "csv", &bytes.Buffer{})
	wantCode(t, err, dx.EUnauthorized)
	_, err = cons.ChangeTransfer(ctx, tr.ID, "complete", "")
	if dx.ErrorCode(err) != dx.EInvalid || dx.ErrorDetails(err)["code"] != "invalid-transition" {
		t.Fatalf("complete while suspended: %v", err)
	}
	resumed, err := cons.ChangeTransfer(ctx, tr.ID, "resume", "")
	if err != nil || resumed.State != contract.TransferStarted || resumed.DataAddress == nil {
		t.Fatalf("resume: %+v %v", resumed, err)
	}
	if _, err := cons.Pull(ctx, *resumed.DataAddress, "parquet", &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// Revoking the agreement stops the data plane at once.
	if err := prov.RevokeAgreement(ctx, n.AgreementID, "stop"); err != nil {
		t.Fatal(err)
	}
	_, err = cons.Pull(ctx, *resumed.DataAddress, "csv", &bytes.Buffer{})
	wantCode(t, err, dx.EForbidden)
	_, err = cons.RequestTransfer(ctx, n.AgreementID, "", "")
	wantCode(t, err, dx.EForbidden)
	if done, err := cons.ChangeTransfer(ctx, tr.ID, "terminate", "agreement revoked"); err != nil || done.State != contract.TransferTerminated {
		t.Fatalf("terminate: %+v %v", done, err)
	}
	_, err = cons.ChangeTransfer(ctx, tr.ID, "resume", "")
	wantCode(t, err, dx.EInvalid)

	// A fresh agreement with two uses: the third transfer is refused as exhausted.
	n2, _ := other.RequestContract(ctx, o.ID, nil, "")
	for i := range 2 {
		if _, err := other.RequestTransfer(ctx, n2.AgreementID, "", ""); err != nil {
			t.Fatalf("transfer %d: %v", i+1, err)
		}
	}
	_, err = other.RequestTransfer(ctx, n2.AgreementID, "", "")
	if dx.ErrorCode(err) != dx.EForbidden || dx.ErrorDetails(err)["code"] != "usage-exhausted" {
		t.Fatalf("third transfer: %v %v", err, dx.ErrorDetails(err))
	}
}

func TestCounterOffers(t *testing.T) {
	te := startExchange(t, nil)
	ctx := context.Background()
	prov, _ := te.org(t, "p", "provider")
	cons, _ := te.org(t, "c", "consumer")
	a, _, err := register(prov, "x", "x.csv", "a\n1\n", asset.Listed)
	if err != nil {
		t.Fatal(err)
	}
	o, err := prov.CreateOffer(ctx, a.ID, policyJSON(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"100"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	n, err := cons.RequestContract(ctx, o.ID, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	post := func(c interface {
		Do(context.Context, string, string, any, any) error
	}, action string, body any) (api.NegotiationView, error) {
		var out api.NegotiationView
		err := c.Do(ctx, "POST", "/api/v1/negotiations/"+n.ID+"/"+action, body, &out)
		return out, err
	}
	five := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"5"}]}]}`)
	ten := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"10"}]}]}`)
	// The consumer cannot counter-offer, nor accept before an offer exists.
	if _, err := post(cons, "offer", map[string]any{"policy": five}); dx.ErrorCode(err) != dx.EForbidden {
		t.Fatalf("consumer offering: %v", err)
	}
	if _, err := post(cons, "accept", nil); dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("accept in REQUESTED: %v", err)
	}
	if got, err := post(prov, "offer", map[string]any{"policy": five}); err != nil || got.State != contract.Offered {
		t.Fatalf("counter-offer: %+v %v", got, err)
	}
	if _, err := prov.NegotiationAction(ctx, n.ID, "approve", ""); dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("approving one's own open offer: %v", err)
	}
	if got, err := post(cons, "request", map[string]any{"policy": ten}); err != nil || got.State != contract.Requested {
		t.Fatalf("counter-request: %+v %v", got, err)
	}
	if _, err := post(prov, "offer", map[string]any{"policy": five}); err != nil {
		t.Fatal(err)
	}
	if got, err := post(cons, "accept", nil); err != nil || got.State != contract.Accepted {
		t.Fatalf("accept: %+v %v", got, err)
	}
	done, err := prov.NegotiationAction(ctx, n.ID, "approve", "")
	if err != nil || done.State != contract.Finalized {
		t.Fatalf("approve after accept: %+v %v", done, err)
	}
	// The agreement holds the accepted terms: five uses.
	for i := range 5 {
		if _, err := download(t, cons, a.ID, 0, "csv"); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if _, err := download(t, cons, a.ID, 0, "csv"); dx.ErrorCode(err) != dx.EForbidden {
		t.Fatalf("sixth use: %v", err)
	}
}

func TestObligations(t *testing.T) {
	te := startExchange(t, nil)
	ctx := context.Background()
	prov, _ := te.org(t, "p", "provider")
	cons, _ := te.org(t, "c", "consumer")
	a, _, err := register(prov, "x", "x.csv", "a\n1\n", asset.Listed)
	if err != nil {
		t.Fatal(err)
	}
	withDelete := func(constraint string) json.RawMessage {
		return json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[` + constraint + `]}],
			"obligation":[{"action":"odrl:delete","constraint":[{"leftOperand":"odrl:elapsedTime","operator":"lteq","rightOperand":"P30D"}]}]}`)
	}
	live, _ := prov.CreateOffer(ctx, a.ID, withDelete(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"9"}`), true)
	ended, _ := prov.CreateOffer(ctx, a.ID, withDelete(`{"leftOperand":"odrl:dateTime","operator":"lt","rightOperand":"2020-01-01T00:00:00Z"}`), true)
	n1, err := cons.RequestContract(ctx, live.ID, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	n2, err := cons.RequestContract(ctx, ended.ID, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	list := func(c *client.Client) map[string]contract.Obligation {
		var out struct{ Obligations []contract.Obligation }
		if err := c.Do(ctx, "GET", "/api/v1/obligations", nil, &out); err != nil {
			t.Fatal(err)
		}
		m := map[string]contract.Obligation{}
		for _, o := range out.Obligations {
			m[o.AgreementID] = o
		}
		return m
	}
	// Both sides see the same duties: pending while the agreement runs, overdue 30 days
	// after it expired.
	for _, c := range []*client.Client{prov, cons} {
		m := list(c)
		if m[n1.AgreementID].Status != contract.ObligationPending || m[n2.AgreementID].Status != contract.ObligationOverdue || m[n2.AgreementID].Trigger != "expired" {
			t.Fatalf("obligations: %+v", m)
		}
		if due := m[n2.AgreementID].DueAt; due == nil || !due.Equal(time.Date(2020, 1, 31, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("due date: %v", due)
		}
	}
	// Revocation triggers the duty; the consumer attests deletion, once.
	if err := prov.RevokeAgreement(ctx, n1.AgreementID, "done"); err != nil {
		t.Fatal(err)
	}
	if o := list(cons)[n1.AgreementID]; o.Status != contract.ObligationDue || o.Trigger != "revoked" {
		t.Fatalf("after revocation: %+v", o)
	}
	attest := func(c *client.Client, id string) error {
		return c.Do(ctx, "POST", "/api/v1/agreements/"+id+"/deleted", map[string]string{"note": "deleted from all systems"}, nil)
	}
	wantCode(t, attest(prov, n1.AgreementID), dx.EForbidden)
	if err := attest(cons, n1.AgreementID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, attest(cons, n1.AgreementID), dx.EConflict)
	if o := list(prov)[n1.AgreementID]; o.Status != contract.ObligationFulfilled || o.Note != "deleted from all systems" {
		t.Fatalf("provider's view after attestation: %+v", o)
	}
}
