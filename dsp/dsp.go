// Package dsp is dx's Dataspace Protocol 2025-1 HTTP binding, the connector-to-connector
// side of a node: version discovery, the catalog protocol, and (next) the negotiation and
// transfer endpoints over the contract package. Messages are plain JSON in the compacted
// 2025-1 shape; every request from a peer is signed and checked against the configured
// trusted peers, with replay protection. It is a transport: it never imports a storage
// adapter, and business rules stay in the domain packages.
package dsp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

// Version is the protocol version dx speaks, and BasePath its path under a node's root.
const (
	Version  = "2025-1"
	BasePath = "/dsp/2025-1"
	Context  = "https://w3id.org/dspace/2025/1/context.jsonld"
	// FormatPull is the only transfer format dx offers so far.
	FormatPull = contract.FormatHTTPPull
)

// Handler serves the DSP endpoints of one node.
type Handler struct {
	ParticipantID string
	Key           ed25519.PrivateKey // the node's signing key
	PublicURL     string             // the node's root as peers reach it, e.g. http://127.0.0.1:8081
	PeersFile     string             // JSON list of Peer; re-read when it changes
	Nonces        NonceStore
	// Events records every DSP message in and out as an audit event (store.Store does).
	Events interface {
		RecordEvents(ctx context.Context, events []dx.Event) error
	}
	Catalog catalog.Store
	Offers  interface {
		Offers(ctx context.Context, assetID string) ([]contract.Offer, error)
	}
	Assets interface {
		Asset(ctx context.Context, id string) (asset.Asset, error)
	}
	// Outbox stores outbound messages until peers acknowledge them; nil sends them from
	// goroutines (tests).
	Outbox interface {
		Post(ctx context.Context, url string, body []byte) error
		Wake()
	}
	// Units runs units of work (store.Store does); nil runs each step as it is.
	Units interface {
		Atomically(ctx context.Context, fn func(ctx context.Context) error) error
	}
	// Contracts runs negotiations with peers; nil leaves the negotiation endpoints out.
	Contracts *contract.Service
	Clock     dx.Clock
	Log       *slog.Logger

	mu        sync.Mutex
	peers     []Peer
	peersTime time.Time
}

// ServiceID is the @id of this node's DataService.
func (h *Handler) ServiceID() string { return "urn:dx:service:" + h.ParticipantID }

// Peers returns the trusted peers, re-reading the peers file when it changed.
func (h *Handler) Peers() []Peer {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.PeersFile == "" {
		return nil
	}
	st, err := os.Stat(h.PeersFile)
	if err != nil {
		h.Log.Warn("cannot read the peers file", "file", h.PeersFile, "err", err)
		return h.peers
	}
	if !st.ModTime().Equal(h.peersTime) {
		b, err := os.ReadFile(h.PeersFile)
		var peers []Peer
		if err == nil {
			err = json.Unmarshal(b, &peers)
		}
		if err != nil {
			h.Log.Error("bad peers file; keeping the previous peers", "file", h.PeersFile, "err", err)
			return h.peers
		}
		h.peers, h.peersTime = peers, st.ModTime()
	}
	return h.peers
}

func (h *Handler) peer(participant string) (Peer, bool) {
	for _, p := range h.Peers() {
		if p.ParticipantID == participant && participant != "" && len(p.PublicKey) == ed25519.PublicKeySize {
			return p, true
		}
	}
	return Peer{}, false
}

// PeerCountry returns a trusted peer's attested country ("" if unknown or mainland China).
func (h *Handler) PeerCountry(participant string) string {
	p, ok := h.peer(participant)
	if !ok || strings.EqualFold(p.Country, "CN") {
		return ""
	}
	return strings.ToUpper(p.Country)
}

// Register mounts the well-known documents and the DSP endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/dspace-version", h.version)
	mux.HandleFunc("GET /.well-known/dx-node", h.nodeInfo)
	mux.HandleFunc("POST "+BasePath+"/catalog/request", h.signed(h.catalogRequest))
	mux.HandleFunc("GET "+BasePath+"/catalog/datasets/{id}", h.signed(h.dataset))
	h.registerNegotiation(mux)
	h.registerTransfer(mux)
}

func (h *Handler) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"protocolVersions": []any{map[string]any{
		"version": Version, "path": BasePath, "binding": "HTTPS", "serviceId": h.ServiceID(), "identifierType": "dx:participant",
	}}})
}

// node tells operators what to put into a peer's peers file.
func (h *Handler) nodeInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, Peer{ParticipantID: h.ParticipantID, PublicKey: h.Key.Public().(ed25519.PublicKey), URL: h.PublicURL})
}

// signed wraps a handler with body limits and request verification. A verified request
// is one unit of work — its nonce, the state change, the messages it queues and its
// audit event commit together — and its answer is sent only after the commit. A refused
// request changes nothing but still uses up its nonce and is recorded.
func (h *Handler) signed(next func(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			h.fail(w, r, dx.Errorf(dx.ETooLarge, "请求体过大 / request body too large"))
			return
		}
		var peer Peer
		answer := &bufferedResponse{header: http.Header{}}
		verified := false
		err = h.Atomically(r.Context(), func(ctx context.Context) error {
			r := r.WithContext(ctx)
			var err error
			if peer, err = h.verify(r, body); err != nil {
				return err
			}
			verified = true
			if err := next(answer, r, peer, body); err != nil {
				return err
			}
			return h.record(ctx, "dsp.in", r.Method+" "+r.URL.Path, peer.ParticipantID, body, nil)
		})
		if err != nil {
			h.fail(w, r, err)
			if verified { // the unit rolled back: keep the nonce used, record the refusal
				h.useNonce(r)
				h.record(context.Background(), "dsp.in", r.Method+" "+r.URL.Path, peer.ParticipantID, body, err)
			}
			return
		}
		answer.send(w)
	}
}

// bufferedResponse holds a handler's answer until its unit of work commits.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = 200
	}
	return b.body.Write(p)
}
func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) send(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = 200
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}

// record writes a DSP message as an audit event: its type and process IDs, the peer, and
// whether it was accepted (never the message's terms or tokens).
func (h *Handler) record(ctx context.Context, action, target, peer string, body []byte, failure error) error {
	if h.Events == nil {
		return nil
	}
	var head envelope
	json.Unmarshal(body, &head)
	payload := map[string]any{"target": target, "peer": peer, "type": head.Type, "provider_pid": head.ProviderPID, "consumer_pid": head.ConsumerPID, "ok": failure == nil}
	if failure != nil {
		payload["code"] = dx.ErrorCode(failure)
	}
	subject := head.ConsumerPID
	if subject == "" {
		subject = target
	}
	ev := dx.NewEvent(h.Clock.Now(), dx.Principal{}, action, subject, payload)
	err := h.Events.RecordEvents(ctx, []dx.Event{ev})
	if err != nil {
		h.Log.Error("cannot record a DSP message", "err", err)
	}
	return err
}

// status maps error codes to HTTP statuses the DSP binding uses.
var status = map[string]int{dx.EInvalid: 400, dx.EUnauthorized: 401, dx.EForbidden: 403, dx.ENotFound: 404,
	dx.EConflict: 409, dx.ETooLarge: 413, dx.EUnprocessable: 400, dx.EInternal: 500}

// fail writes a CatalogError (the catalog protocol's error shape), or for negotiation
// messages a ContractNegotiationError.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := dx.ErrorCode(err)
	st, ok := status[code]
	if !ok {
		st = 500
	}
	if st >= 500 {
		h.Log.Error("dsp request failed", "path", r.URL.Path, "err", err)
	}
	dspCode := code
	if c, ok := dx.ErrorDetails(err)["code"].(string); ok {
		dspCode = c
	}
	body := map[string]any{"@context": []string{Context}, "@type": "CatalogError", "code": dspCode, "reason": []string{dx.ErrorMessage(err)}}
	var ne negError
	if errors.As(err, &ne) {
		typ := ne.typ
		if typ == "" {
			typ = "ContractNegotiationError"
		}
		body["@type"], body["providerPid"], body["consumerPid"] = typ, ne.providerPID, ne.consumerPID
		if ne.consumerPID == "" {
			body["consumerPid"] = "urn:dx:unknown"
		}
	}
	writeJSON(w, st, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// DatasetID is the DSP @id of an asset: an absolute IRI, so JSON-LD peers never resolve
// it against a request URL.
func DatasetID(assetID string) string { return contract.AssetTarget(assetID) }

func (h *Handler) datasetJSON(ctx context.Context, a asset.Asset, inlineService bool) (map[string]any, bool, error) {
	offers, err := h.Offers.Offers(ctx, a.ID)
	if err != nil {
		return nil, false, err
	}
	var pols []any
	for _, o := range offers {
		if o.WithdrawnAt != nil {
			continue
		}
		pj := policy.JSON(o.Policy)
		delete(pj, "assigner") // the catalog's participantId is the assigner
		pols = append(pols, pj)
	}
	if len(pols) == 0 {
		return nil, false, nil // a Dataset needs an offer
	}
	var svc any = h.ServiceID()
	if inlineService {
		svc = h.service()
	}
	d := map[string]any{"@id": DatasetID(a.ID), "@type": "Dataset", "hasPolicy": pols,
		"distribution": []any{map[string]any{"@type": "Distribution", "format": FormatPull, "accessService": svc}},
		"dct:title":    title(a.Meta.Title), "dct:modified": a.UpdatedAt.Format(time.RFC3339)}
	if desc := title(a.Meta.Description); desc != "" {
		d["dct:description"] = desc
	}
	if len(a.Meta.Keywords) > 0 {
		d["dcat:keyword"] = a.Meta.Keywords
	}
	return d, true, nil
}

func title(t asset.Text) string {
	switch {
	case t.Zh != "" && t.En != "":
		return t.Zh + " / " + t.En
	case t.Zh != "":
		return t.Zh
	}
	return t.En
}

func (h *Handler) service() map[string]any {
	return map[string]any{"@id": h.ServiceID(), "@type": "DataService", "endpointURL": h.PublicURL + BasePath}
}

// catalogRequest answers a CatalogRequestMessage with the listed assets that have offers,
// 100 a page, newest first, with a Link header to the next page.
func (h *Handler) catalogRequest(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		Context any    `json:"@context"`
		Type    string `json:"@type"`
		Filter  []any  `json:"filter"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "CatalogRequestMessage" || msg.Context == nil {
		return dx.Errorf(dx.EInvalid, "需要 CatalogRequestMessage / expected a CatalogRequestMessage with @context")
	}
	if len(msg.Filter) > 0 {
		return &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "unsupported-filter"}, Message: "不支持的过滤条件 / unsupported filter"}
	}
	q := catalog.StoreQuery{Limit: 101}
	if c := r.URL.Query().Get("cursor"); c != "" {
		t, id, ok := parseCursor(c)
		if !ok {
			return dx.Errorf(dx.EInvalid, "分页游标无效 / invalid cursor")
		}
		q.After = &catalog.Cursor{UpdatedAt: t, ID: id}
	}
	hits, err := h.Catalog.Search(r.Context(), q)
	if err != nil {
		return err
	}
	more := len(hits) == 101
	if more {
		hits = hits[:100]
		last := hits[len(hits)-1].Asset
		w.Header().Set("Link", "<"+h.PublicURL+BasePath+"/catalog/request?cursor="+last.UpdatedAt.Format(time.RFC3339Nano)+"~"+last.ID+`>; rel="next"`)
	}
	var datasets []any
	for _, hit := range hits {
		d, ok, err := h.datasetJSON(r.Context(), hit.Asset, false)
		if err != nil {
			return err
		}
		if ok {
			datasets = append(datasets, d)
		}
	}
	cat := map[string]any{"@context": []string{Context}, "@id": "urn:dx:catalog:" + h.ParticipantID, "@type": "Catalog",
		"participantId": h.ParticipantID, "service": []any{h.service()}}
	if len(datasets) > 0 {
		cat["dataset"] = datasets // an empty catalog omits dataset (minItems 1)
	}
	h.Log.Debug("catalog served", "peer", peer.ParticipantID, "datasets", len(datasets))
	writeJSON(w, 200, cat)
	return nil
}

func parseCursor(c string) (time.Time, string, bool) {
	ts, id, ok := strings.Cut(c, "~")
	t, err := time.Parse(time.RFC3339Nano, ts)
	return t, id, ok && err == nil && dx.ValidID(dx.PrefixAsset, id)
}

// dataset answers GET /catalog/datasets/{id}; unknown, private and offer-less datasets
// are all 404, so existence is not revealed.
func (h *Handler) dataset(w http.ResponseWriter, r *http.Request, peer Peer, _ []byte) error {
	notFound := &dx.Error{Code: dx.ENotFound, Details: map[string]any{"code": "dataset-not-found"}, Message: "数据集不存在或无权访问 / dataset not found"}
	id := r.PathValue("id")
	assetID, ok := strings.CutPrefix(id, "urn:dx:asset:")
	if !ok || !dx.ValidID(dx.PrefixAsset, assetID) {
		return notFound
	}
	a, err := h.Assets.Asset(r.Context(), assetID)
	if dx.ErrorCode(err) == dx.ENotFound || (err == nil && a.Meta.Visibility == asset.Private) {
		return notFound
	} else if err != nil {
		return err
	}
	d, ok, err := h.datasetJSON(r.Context(), a, true)
	if err != nil {
		return err
	}
	if !ok {
		return notFound
	}
	d["@context"] = []string{Context}
	writeJSON(w, 200, d)
	return nil
}
