package dsp

import (
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
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/internal/dspschema"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/policy"
	"github.com/dxexchange/dx/store/sqldb"
	"github.com/dxexchange/dx/store/sqlite"
)

type fixture struct {
	srv     *httptest.Server
	h       *Handler
	client  *Client
	peer    Peer
	schemas *dspschema.Schemas
	assetID string
	st      *sqldb.DB
}

func openStore(t *testing.T) (*sqldb.DB, error) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dx.db"), true)
	if err == nil {
		t.Cleanup(func() { st.Close() })
	}
	return st, err
}

func setup(t *testing.T) *fixture {
	ctx := context.Background()
	st, err := openStore(t)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	org := party.Org{ID: dx.NewID(dx.PrefixOrg, now), Name: "p", Roles: []string{"provider"}, PublicKey: pub, CreatedAt: now}
	tok := party.Token{ID: dx.NewID(dx.PrefixToken, now), OrgID: org.ID, Name: "t", Scopes: []string{"read"}, Hash: []byte("x"), CreatedAt: now}
	if err := st.CreateOrg(ctx, org, key, tok, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(name, vis string, offer bool) string {
		a := asset.Asset{ID: dx.NewID(dx.PrefixAsset, now), OwnerID: org.ID, Name: name, Format: "csv", LatestVersion: 1, CreatedAt: now, UpdatedAt: now,
			Meta:   asset.Meta{Title: asset.Text{Zh: "充电桩负荷 " + name, En: "EV load"}, Keywords: []string{"能源"}, Industry: "D", Region: "310000", Visibility: vis},
			Rights: asset.Rights{Holder: org.ID, ProcessingUse: []string{org.ID}, ProductOperator: org.ID}, Lineage: []asset.Parent{}}
		v := asset.Version{ID: dx.NewID(dx.PrefixVersion, now), AssetID: a.ID, Number: 1, Digest: "d", CreatedAt: now}
		if err := st.CreateAsset(ctx, a, v, asset.Search{}, nil); err != nil {
			t.Fatal(err)
		}
		if offer {
			p, err := policy.Parse([]byte(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:elapsedTime","operator":"lteq","rightOperand":"P90D"}]}]}`))
			if err != nil {
				t.Fatal(err)
			}
			p.ID, p.Profile, p.Assigner = contract.NewUUID(), []string{policy.Profile}, org.ID
			if err := st.CreateOffer(ctx, contract.Offer{ID: p.ID, AssetID: a.ID, ProviderID: org.ID, Policy: p, Digest: policy.Digest(p), CreatedAt: now}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return a.ID
	}
	listed := mk("listed", asset.Listed, true)
	mk("private", asset.Private, true)
	mk("no-offer", asset.Listed, false)

	_, nodeKey, _ := ed25519.GenerateKey(rand.Reader)
	peerPub, peerKey, _ := ed25519.GenerateKey(rand.Reader)
	peer := Peer{ParticipantID: "did:web:consumer.example", PublicKey: peerPub}
	peersFile := filepath.Join(t.TempDir(), "peers.json")
	b, _ := json.Marshal([]Peer{peer})
	os.WriteFile(peersFile, b, 0o600)
	h := &Handler{ParticipantID: "did:web:provider.example", Key: nodeKey, PeersFile: peersFile, Nonces: st, Catalog: st, Offers: st,
		Assets: st, Units: st, Clock: dx.SystemClock{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.PublicURL = srv.URL
	peer.URL = srv.URL
	f := &fixture{srv: srv, h: h, peer: peer, assetID: listed, st: st,
		client: &Client{ParticipantID: peer.ParticipantID, Key: peerKey, HTTP: srv.Client(), Clock: dx.SystemClock{}}}
	if dir := dspschema.Dir(); dir != "" {
		if f.schemas, err = dspschema.Load(dir); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("DSP artifacts not found beside the repository: messages are not schema-validated here")
	}
	return f
}

func (f *fixture) validate(t *testing.T, ref string, v any) {
	t.Helper()
	if f.schemas == nil {
		return
	}
	b, _ := json.Marshal(v)
	if err := f.schemas.Validate(ref, b); err != nil {
		t.Fatalf("%s does not validate against %s: %v\n%s", "message", ref, err, b)
	}
}

const schemaBase = "https://w3id.org/dspace/2025/1/"

func TestCatalog(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	cat, err := f.client.Catalog(ctx, f.peer)
	if err != nil {
		t.Fatal(err)
	}
	f.validate(t, schemaBase+"catalog/catalog-schema.json", cat)
	if f.schemas != nil { // the validator is not vacuous: a catalog without participantId fails
		broken := map[string]any{}
		for k, v := range cat {
			if k != "participantId" {
				broken[k] = v
			}
		}
		b, _ := json.Marshal(broken)
		if f.schemas.Validate(schemaBase+"catalog/catalog-schema.json", b) == nil {
			t.Fatal("a catalog without participantId validated")
		}
	}
	ds, _ := cat["dataset"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["@id"] != DatasetID(f.assetID) || cat["participantId"] != "did:web:provider.example" {
		t.Fatalf("catalog = %v", cat)
	}
	var d map[string]any
	if err := f.client.Do(ctx, f.peer, "GET", "/catalog/datasets/"+DatasetID(f.assetID), nil, &d); err != nil {
		t.Fatal(err)
	}
	f.validate(t, schemaBase+"catalog/dataset-schema.json", d)
	for _, id := range []string{"urn:dx:asset:ast_00000000000000000000000000", "nonsense", DatasetID(dx.NewID(dx.PrefixAsset, time.Now()))} {
		err := f.client.Do(ctx, f.peer, "GET", "/catalog/datasets/"+id, nil, nil)
		if dx.ErrorCode(err) != dx.ENotFound || dx.ErrorDetails(err)["code"] != "dataset-not-found" {
			t.Errorf("dataset %s: %v", id, err)
		}
	}
	// The version document is unauthenticated and validates.
	resp, err := http.Get(f.srv.URL + "/.well-known/dspace-version")
	if err != nil {
		t.Fatal(err)
	}
	var ver map[string]any
	json.NewDecoder(resp.Body).Decode(&ver)
	resp.Body.Close()
	f.validate(t, schemaBase+"common/protocol-version-schema.json", ver)
}

func TestSignedRequests(t *testing.T) {
	f := setup(t)
	body := `{"@context":["` + Context + `"],"@type":"CatalogRequestMessage"}`
	post := func(mutate func(r *http.Request)) (int, map[string]any) {
		req, _ := http.NewRequest("POST", f.srv.URL+BasePath+"/catalog/request", strings.NewReader(body))
		Sign(req, f.client.ParticipantID, f.client.Key, []byte(body), time.Now())
		mutate(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := post(func(*http.Request) {}); code != 200 {
		t.Fatalf("signed request: %d", code)
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	cases := map[string]func(r *http.Request){
		"unsigned":         func(r *http.Request) { r.Header.Del(HeaderSignature) },
		"unknown peer":     func(r *http.Request) { r.Header.Set(HeaderParticipant, "did:web:stranger") },
		"forged signature": func(r *http.Request) { Sign(r, f.client.ParticipantID, stranger, []byte(body), time.Now()) },
		"stale": func(r *http.Request) {
			Sign(r, f.client.ParticipantID, f.client.Key, []byte(body), time.Now().Add(-time.Hour))
		},
		"body changed": func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(body + " "))
			r.ContentLength = int64(len(body) + 1)
		},
	}
	for name, mutate := range cases {
		code, out := post(mutate)
		if code != 401 || out["@type"] != "CatalogError" {
			t.Errorf("%s: %d %v", name, code, out)
		} else {
			f.validate(t, schemaBase+"catalog/catalog-error-schema.json", out)
		}
	}
	// A replay of a captured request is refused.
	req, _ := http.NewRequest("POST", f.srv.URL+BasePath+"/catalog/request", strings.NewReader(body))
	Sign(req, f.client.ParticipantID, f.client.Key, []byte(body), time.Now())
	replay := req.Clone(context.Background())
	for i, want := range []int{200, 401} {
		r := req
		if i == 1 {
			r = replay
			r.Body = io.NopCloser(strings.NewReader(body))
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	// Malformed messages and filters.
	for _, bad := range []string{`{"@type":"CatalogRequestMessage"}`, `not json`, `{"@context":["` + Context + `"],"@type":"CatalogRequestMessage","filter":[{"x":1}]}`} {
		req, _ := http.NewRequest("POST", f.srv.URL+BasePath+"/catalog/request", strings.NewReader(bad))
		Sign(req, f.client.ParticipantID, f.client.Key, []byte(bad), time.Now())
		replay := req.Clone(context.Background())
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", bad, resp.StatusCode)
		}
		// The refused request rolled back, but its nonce stays used.
		replay.Body = io.NopCloser(strings.NewReader(bad))
		resp, _ = http.DefaultClient.Do(replay)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("replayed refusal %s: %d, want 401", bad, resp.StatusCode)
		}
	}
}
