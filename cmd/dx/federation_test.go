package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/party"
)

// node is a real dx process started by a test.
type node struct {
	url, token string
	peersFile  string
	self       dsp.Peer
}

func startNode(t *testing.T) *node {
	t.Helper()
	data := t.TempDir()
	addr := freeAddr(t)
	peers := filepath.Join(data, "peers.json")
	os.WriteFile(peers, []byte("[]"), 0o600)
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--data", data, "--peers", peers, "--engine-threads", "1", "--log-level", "error")
	cmd.Env = append(os.Environ(), "DX_TEST_AS_DX=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	n := &node{url: "http://" + addr, peersFile: peers}
	for range 100 {
		resp, err := http.Get(n.url + "/.well-known/dx-node")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&n.self)
			resp.Body.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "dx_tok_") {
			n.token = s
		}
	}
	if n.self.ParticipantID == "" || n.token == "" {
		t.Fatalf("node did not start:\n%s", out.String())
	}
	return n
}

func (n *node) trust(t *testing.T, peers ...*node) {
	var list []dsp.Peer
	for _, p := range peers {
		list = append(list, p.self)
	}
	b, _ := json.Marshal(list)
	// a new mtime makes the node re-read the file
	if err := os.WriteFile(n.peersFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second)
	os.Chtimes(n.peersFile, later, later)
}

// TestTwoNodesReadEachOthersCatalog starts a provider's and a consumer's connector as
// separate processes with separate databases: the consumer's organisation browses the
// provider's DSP catalog through its own node, with signed requests between the nodes.
func TestTwoNodesReadEachOthersCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two dx processes")
	}
	a, b := startNode(t), startNode(t)
	ctx := context.Background()
	opA := client.New(a.url, a.token)
	prov, err := opA.CreateOrg(ctx, party.NewOrg{Name: "provider", Roles: []string{"provider"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := client.New(a.url, prov.Token)
	res, err := pc.Register(ctx, asset.Register{Name: "ev-load", FileName: "ev.csv", Meta: asset.Meta{Title: asset.Text{Zh: "充电桩负荷", En: "EV charger load"}, Industry: "D"}},
		strings.NewReader("站点,负荷\nS1,12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateOffer(ctx, res.Asset.ID, json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"5"}]}]}`), true); err != nil {
		t.Fatal(err)
	}
	cons, err := client.New(b.url, b.token).CreateOrg(ctx, party.NewOrg{Name: "consumer", Roles: []string{"consumer"}})
	if err != nil {
		t.Fatal(err)
	}
	cc := client.New(b.url, cons.Token)
	catalogOf := func() (map[string]any, error) {
		var cat map[string]any
		err := cc.Do(ctx, "GET", "/api/v1/peers/catalog?participant="+a.self.ParticipantID, nil, &cat)
		return cat, err
	}
	// Before the nodes trust each other: B knows no such peer.
	_, err = catalogOf()
	wantCode(t, err, dx.ENotFound)
	// B trusts A, but A does not yet trust B: A refuses B's signed request.
	b.trust(t, a)
	_, err = catalogOf()
	if dx.ErrorCode(err) != dx.EUnauthorized {
		t.Fatalf("untrusted requester: %v", err)
	}
	a.trust(t, b)
	cat, err := catalogOf()
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := cat["dataset"].([]any)
	if cat["participantId"] != a.self.ParticipantID || len(ds) != 1 || ds[0].(map[string]any)["@id"] != "urn:dx:asset:"+res.Asset.ID {
		t.Fatalf("remote catalog: %v", cat)
	}
	if !strings.Contains(ds[0].(map[string]any)["dct:title"].(string), "充电桩负荷") {
		t.Fatalf("dataset title: %v", ds[0])
	}
}

// TestCrossNodeNegotiation: a consumer organisation on node B negotiates, through its
// node, for an auto-approve offer on node A; the nodes exchange the agreement, the
// verification and the FINALIZED event with signed DSP messages, and both ends hold an
// agreement signed by both nodes that verifies offline.
func TestCrossNodeNegotiation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two dx processes")
	}
	a, b := startNode(t), startNode(t)
	a.trust(t, b)
	b.trust(t, a)
	ctx := context.Background()
	prov, err := client.New(a.url, a.token).CreateOrg(ctx, party.NewOrg{Name: "provider", Roles: []string{"provider"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := client.New(a.url, prov.Token)
	res, err := pc.Register(ctx, asset.Register{Name: "ev", FileName: "ev.csv", Meta: asset.Meta{Title: asset.Text{Zh: "充电桩"}, Industry: "D"}}, strings.NewReader("站点,负荷\nS1,12\n"))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(ctx, res.Asset.ID, json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"5"}]}]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := client.New(b.url, b.token).CreateOrg(ctx, party.NewOrg{Name: "consumer", Roles: []string{"consumer"}})
	if err != nil {
		t.Fatal(err)
	}
	cc := client.New(b.url, cons.Token)
	dataset := "urn:dx:asset:" + res.Asset.ID
	var started struct {
		ConsumerPID string `json:"consumer_pid"`
		ProviderPID string `json:"provider_pid"`
	}
	if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": a.self.ParticipantID, "dataset_id": dataset, "offer_id": offer.ID}, &started); err != nil {
		t.Fatal(err)
	}
	if started.ProviderPID == "" || started.ConsumerPID == "" {
		t.Fatalf("negotiation start: %+v", started)
	}
	// The rest happens between the nodes; watch B's record until it is final.
	type view struct {
		ConsumerPID string          `json:"consumer_pid"`
		State       string          `json:"state"`
		Agreement   json.RawMessage `json:"agreement"`
	}
	var got view
	for range 100 {
		var list struct{ Negotiations []view }
		if err := cc.Do(ctx, "GET", "/api/v1/peers/negotiations", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Negotiations) == 1 {
			got = list.Negotiations[0]
		}
		if got.State == "FINALIZED" || got.State == "TERMINATED" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.State != "FINALIZED" {
		t.Fatalf("consumer-side negotiation ended in %q", got.State)
	}
	file := filepath.Join(t.TempDir(), "agreement.json")
	os.WriteFile(file, got.Agreement, 0o600)
	if out, errOut, code := runOffline(t, "agreement", "verify", file); code != 0 || !strings.Contains(out, "signed by 2 parties") {
		t.Fatalf("the consumer's copy of the agreement: %s %s", out, errOut)
	}
	// The provider's side: finalized, the same agreement, both signatures.
	var provNegs struct {
		Negotiations []struct {
			State       string `json:"state"`
			AgreementID string `json:"agreement_id"`
		}
	}
	pc.Do(ctx, "GET", "/api/v1/negotiations", nil, &provNegs)
	if len(provNegs.Negotiations) != 1 || provNegs.Negotiations[0].State != "FINALIZED" {
		t.Fatalf("provider-side negotiations: %+v", provNegs)
	}
	doc, err := pc.AgreementDocument(ctx, provNegs.Negotiations[0].AgreementID)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, doc, 0o600)
	if out, _, code := runOffline(t, "agreement", "verify", file); code != 0 || !strings.Contains(out, b.self.ParticipantID) {
		t.Fatalf("the provider's copy: %s", out)
	}
	// A transfer across the nodes: B asks A, A starts it and sends the data address to B's
	// callback, and the consumer pulls the data through its own node.
	var agreement struct {
		Agreement struct {
			ID string `json:"@id"`
		} `json:"agreement"`
	}
	json.Unmarshal(got.Agreement, &agreement)
	var tr struct {
		ConsumerPID string `json:"consumer_pid"`
	}
	if err := cc.Do(ctx, "POST", "/api/v1/peers/transfers", map[string]string{"participant": a.self.ParticipantID, "agreement_id": agreement.Agreement.ID}, &tr); err != nil {
		t.Fatal(err)
	}
	var state string
	for range 100 {
		var list struct {
			Transfers []struct {
				ConsumerPID string `json:"consumer_pid"`
				State       string `json:"state"`
			} `json:"transfers"`
		}
		cc.Do(ctx, "GET", "/api/v1/peers/transfers", nil, &list)
		for _, x := range list.Transfers {
			if x.ConsumerPID == tr.ConsumerPID {
				state = x.State
			}
		}
		if state == "STARTED" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state != "STARTED" {
		t.Fatalf("transfer state on the consumer's node: %q", state)
	}
	req, _ := http.NewRequest("GET", b.url+"/api/v1/peers/transfers/"+tr.ConsumerPID+"/data?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+cons.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(data) != "站点,负荷\nS1,12\n" {
		t.Fatalf("pulled %d %q", resp.StatusCode, data)
	}
	// The provider counted one use under the agreement.
	var ags struct {
		Agreements []struct{ Uses int64 } `json:"agreements"`
	}
	pc.Do(ctx, "GET", "/api/v1/agreements", nil, &ags)
	if len(ags.Agreements) != 1 || ags.Agreements[0].Uses != 1 {
		t.Fatalf("provider's agreements: %+v", ags)
	}
	// Another organisation on B cannot pull B's consumer's transfer.
	other, _ := client.New(b.url, b.token).CreateOrg(ctx, party.NewOrg{Name: "other", Roles: []string{"consumer"}})
	req.Header.Set("Authorization", "Bearer "+other.Token)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("another organisation pulling: %d", resp.StatusCode)
	}

	// Every DSP message in and out is an audit event on each node, with its outcome.
	for _, n := range []*node{a, b} {
		var evs struct {
			Events []struct {
				Action  string
				Payload map[string]any
			} `json:"events"`
		}
		client.New(n.url, n.token).Do(ctx, "GET", "/api/v1/events?limit=1000", nil, &evs)
		in, out := map[string]bool{}, 0
		for _, e := range evs.Events {
			switch e.Action {
			case "dsp.in":
				in[fmt.Sprint(e.Payload["type"])] = true
			case "dsp.out":
				out++
			}
		}
		want := []string{"ContractRequestMessage", "ContractAgreementVerificationMessage", "TransferRequestMessage"}
		if n == b {
			want = []string{"ContractAgreementMessage", "ContractNegotiationEventMessage", "TransferStartMessage"}
		}
		for _, typ := range want {
			if !in[typ] {
				t.Errorf("node %s: no dsp.in event for %s (%v)", n.url, typ, in)
			}
		}
		if out < 2 {
			t.Errorf("node %s: %d dsp.out events", n.url, out)
		}
	}

	// A request for terms beyond the offer is refused by the provider's node.
	err = cc.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": a.self.ParticipantID, "dataset_id": dataset, "offer_id": "urn:uuid:00000000-0000-4000-8000-000000000000"}, nil)
	wantCode(t, err, dx.ENotFound)
}

// TestCrossNodeApprovalAndTermination: a manual offer is approved by the provider
// organisation on node A (its node signs and sends the agreement), and terminations from
// either side reach the other with their reasons.
func TestCrossNodeApprovalAndTermination(t *testing.T) {
	p := twoNodesWithOffer(t, "3")
	a, pc, cc, ctx := p.a, p.pc, p.cc, context.Background()
	res, manual := p.asset, p.offer
	dataset := "urn:dx:asset:" + res.Asset.ID
	start := func() string {
		var n struct {
			ConsumerPID string `json:"consumer_pid"`
		}
		if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": a.self.ParticipantID, "dataset_id": dataset, "offer_id": manual.ID}, &n); err != nil {
			t.Fatal(err)
		}
		return n.ConsumerPID
	}
	remoteState := func(pid string, want string) map[string]any {
		var got map[string]any
		for range 100 {
			got = nil
			cc.Do(ctx, "GET", "/api/v1/peers/negotiations/"+pid, nil, &got)
			if got["state"] == want {
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("negotiation %s on the consumer's node: %v, want %s", pid, got["state"], want)
		return nil
	}
	providerSide := func() []map[string]any {
		var list struct{ Negotiations []map[string]any }
		pc.Do(ctx, "GET", "/api/v1/negotiations", nil, &list)
		return list.Negotiations
	}
	// 1. Manual approval: waits in REQUESTED until the provider approves.
	pid1 := start()
	remoteState(pid1, "REQUESTED")
	negs := providerSide()
	if len(negs) != 1 || negs[0]["state"] != "REQUESTED" {
		t.Fatalf("provider side: %v", negs)
	}
	if _, err := pc.NegotiationAction(ctx, negs[0]["id"].(string), "approve", ""); err != nil {
		t.Fatal(err)
	}
	remoteState(pid1, "FINALIZED")
	// 2. The consumer terminates a second negotiation; the provider sees why.
	pid2 := start()
	remoteState(pid2, "REQUESTED")
	if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations/"+pid2+"/terminate", map[string]string{"reason": "budget cut"}, nil); err != nil {
		t.Fatal(err)
	}
	var seen bool
	for range 100 {
		for _, n := range providerSide() {
			if n["state"] == "TERMINATED" && strings.Contains(fmt.Sprint(n["reason"]), "budget cut") {
				seen = true
			}
		}
		if seen {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !seen {
		t.Fatalf("the provider did not see the consumer's termination: %v", providerSide())
	}
	// 3. The provider terminates a third; the consumer sees why.
	pid3 := start()
	remoteState(pid3, "REQUESTED")
	for _, n := range providerSide() {
		if n["state"] == "REQUESTED" {
			if _, err := pc.NegotiationAction(ctx, n["id"].(string), "terminate", "dataset withdrawn"); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := remoteState(pid3, "TERMINATED")
	if !strings.Contains(fmt.Sprint(got["reason"]), "dataset withdrawn") {
		t.Fatalf("consumer-side reason: %v", got)
	}
}

// TestCrossNodeCounterOffer: the provider answers a request with other terms; the
// consumer's organisation accepts them through its node; the agreement on the offered
// terms follows and is finalized.
func TestCrossNodeCounterOffer(t *testing.T) {
	p := twoNodesWithOffer(t, "10")
	a, pc, cc, ctx := p.a, p.pc, p.cc, context.Background()
	res, manual := p.asset, p.offer
	var started struct {
		ConsumerPID string `json:"consumer_pid"`
	}
	if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": a.self.ParticipantID, "dataset_id": "urn:dx:asset:" + res.Asset.ID, "offer_id": manual.ID}, &started); err != nil {
		t.Fatal(err)
	}
	wait := func(want string) map[string]any {
		var got map[string]any
		for range 100 {
			got = nil
			cc.Do(ctx, "GET", "/api/v1/peers/negotiations/"+started.ConsumerPID, nil, &got)
			if got["state"] == want {
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("consumer side: %v, want %s", got["state"], want)
		return nil
	}
	wait("REQUESTED")
	var list struct{ Negotiations []map[string]any }
	pc.Do(ctx, "GET", "/api/v1/negotiations", nil, &list)
	id := list.Negotiations[0]["id"].(string)
	two := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"2"}]}]}`)
	if err := pc.Do(ctx, "POST", "/api/v1/negotiations/"+id+"/offer", map[string]any{"policy": two}, nil); err != nil {
		t.Fatal(err)
	}
	wait("OFFERED")
	// The consumer's organisation answers with other terms; the provider offers again.
	three := json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"3"}]}]}`)
	if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations/"+started.ConsumerPID+"/request", map[string]any{"policy": three}, nil); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		pc.Do(ctx, "GET", "/api/v1/negotiations", nil, &list)
		if list.Negotiations[0]["state"] == "REQUESTED" && strings.Contains(mustJSON(list.Negotiations[0]["terms"]), `"3"`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(mustJSON(list.Negotiations[0]["terms"]), `"3"`) {
		t.Fatalf("the provider did not get the counter-request: %v", list.Negotiations[0])
	}
	if err := pc.Do(ctx, "POST", "/api/v1/negotiations/"+id+"/offer", map[string]any{"policy": two}, nil); err != nil {
		t.Fatal(err)
	}
	wait("OFFERED")
	if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations/"+started.ConsumerPID+"/accept", nil, nil); err != nil {
		t.Fatal(err)
	}
	final := wait("FINALIZED")
	if !strings.Contains(mustJSON(final["agreement"]), `"rightOperand":"2"`) {
		t.Fatalf("the agreement does not hold the offered terms: %v", final["agreement"])
	}
	pc.Do(ctx, "GET", "/api/v1/negotiations", nil, &list)
	if list.Negotiations[0]["state"] != "FINALIZED" {
		t.Fatalf("provider side: %v", list.Negotiations[0]["state"])
	}
}

// nodePair is a provider node a with an asset and a manual offer on it, and a consumer
// node b, trusting each other, with a client for each side's organisation.
type nodePair struct {
	a, b   *node
	pc, cc *client.Client
	asset  api.Registered
	offer  api.OfferView
}

// twoNodesWithOffer starts the pair; the offer allows count uses and needs approval.
func twoNodesWithOffer(t *testing.T, count string) nodePair {
	t.Helper()
	if testing.Short() {
		t.Skip("starts two dx processes")
	}
	p := nodePair{a: startNode(t), b: startNode(t)}
	p.a.trust(t, p.b)
	p.b.trust(t, p.a)
	ctx := context.Background()
	prov, err := client.New(p.a.url, p.a.token).CreateOrg(ctx, party.NewOrg{Name: "provider", Roles: []string{"provider"}})
	if err != nil {
		t.Fatal(err)
	}
	p.pc = client.New(p.a.url, prov.Token)
	if p.asset, err = p.pc.Register(ctx, asset.Register{Name: "x", FileName: "x.csv", Meta: asset.Meta{Title: asset.Text{En: "x"}, Industry: "A"}}, strings.NewReader("a\n1\n")); err != nil {
		t.Fatal(err)
	}
	policy := `{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"` + count + `"}]}]}`
	if p.offer, err = p.pc.CreateOffer(ctx, p.asset.Asset.ID, json.RawMessage(policy), false); err != nil {
		t.Fatal(err)
	}
	cons, err := client.New(p.b.url, p.b.token).CreateOrg(ctx, party.NewOrg{Name: "consumer", Roles: []string{"consumer"}})
	if err != nil {
		t.Fatal(err)
	}
	p.cc = client.New(p.b.url, cons.Token)
	return p
}

// TestPeerAbroadMeetsTheCrossBorderGate: a trusted peer whose organisation the
// operator attests to be abroad (the peers file's country) is a recipient abroad: its
// pull of personal information is refused under the 2024 rules, naming them.
func TestPeerAbroadMeetsTheCrossBorderGate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two dx processes")
	}
	a, b := startNode(t), startNode(t)
	abroad := b.self
	abroad.Country = "SG"
	list, _ := json.Marshal([]dsp.Peer{abroad})
	os.WriteFile(a.peersFile, list, 0o600)
	later := time.Now().Add(time.Second)
	os.Chtimes(a.peersFile, later, later)
	b.trust(t, a)
	ctx := context.Background()
	prov, err := client.New(a.url, a.token).CreateOrg(ctx, party.NewOrg{Name: "insurer", Roles: []string{"provider"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := client.New(a.url, prov.Token)
	var csv strings.Builder
	csv.WriteString("姓名,身份证号\n")
	for i := range 40 {
		fmt.Fprintf(&csv, "%s,%s\n", []string{"张三", "李四"}[i%2], []string{"110105201512313603", "310104198504121237"}[i%2])
	}
	res, err := pc.Register(ctx, asset.Register{Name: "policyholders", FileName: "p.csv", Meta: asset.Meta{Title: asset.Text{Zh: "投保人"}, Industry: "J"}}, strings.NewReader(csv.String()))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(ctx, res.Asset.ID, json.RawMessage(`{"@type":"Offer","permission":[{"action":"use"}]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := client.New(b.url, b.token).CreateOrg(ctx, party.NewOrg{Name: "overseas", Roles: []string{"consumer"}})
	if err != nil {
		t.Fatal(err)
	}
	cc := client.New(b.url, cons.Token)
	var started struct {
		ConsumerPID string `json:"consumer_pid"`
	}
	if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": a.self.ParticipantID, "dataset_id": "urn:dx:asset:" + res.Asset.ID, "offer_id": offer.ID}, &started); err != nil {
		t.Fatal(err)
	}
	var neg struct {
		State     string          `json:"state"`
		Agreement json.RawMessage `json:"agreement"`
	}
	if err := cc.Do(ctx, "GET", "/api/v1/peers/negotiations/"+started.ConsumerPID+"?changed_from=REQUESTED&wait=10s", nil, &neg); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if neg.State == "FINALIZED" {
			break
		}
		time.Sleep(50 * time.Millisecond)
		cc.Do(ctx, "GET", "/api/v1/peers/negotiations/"+started.ConsumerPID, nil, &neg)
	}
	var agreement struct {
		Agreement struct {
			ID string `json:"@id"`
		} `json:"agreement"`
	}
	json.Unmarshal(neg.Agreement, &agreement)
	var tr struct {
		ConsumerPID string `json:"consumer_pid"`
		State       string `json:"state"`
	}
	if err := cc.Do(ctx, "POST", "/api/v1/peers/transfers", map[string]string{"participant": a.self.ParticipantID, "agreement_id": agreement.Agreement.ID}, &tr); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		cc.Do(ctx, "GET", "/api/v1/peers/transfers/"+tr.ConsumerPID, nil, &tr)
		if tr.State == "STARTED" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", b.url+"/api/v1/peers/transfers/"+tr.ConsumerPID+"/data?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+cons.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 || strings.Contains(string(body), "310104198504121237") || !strings.Contains(string(body), "cross-border") {
		t.Fatalf("a peer abroad pulled personal information: %d %s", resp.StatusCode, body)
	}
	// The provider's node shows the peer's organisation abroad.
	var orgs struct {
		Orgs []party.Org `json:"orgs"`
	}
	client.New(a.url, a.token).Do(ctx, "GET", "/api/v1/orgs", nil, &orgs)
	found := false
	for _, o := range orgs.Orgs {
		found = found || strings.HasPrefix(o.Name, "peer:") && o.Country == "SG"
	}
	if !found {
		t.Fatalf("no peer organisation attested abroad: %+v", orgs.Orgs)
	}
}
