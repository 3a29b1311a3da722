// Package api is dx's JSON management API under /api/v1: organisations, tokens, assets
// (streamed multipart upload, download with Range), the catalog, access grants and the
// audit trail. It owns the only table that maps dx error codes to HTTP statuses, and its
// route table is also the source of the OpenAPI 3 document at /api/v1/openapi.json.
//
// Handlers authenticate with a bearer token, decode and bound the request, call one
// domain service and encode the answer; business rules stay in the services.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/access"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/crossborder"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/policy"
)

// API serves /api/v1.
type API struct {
	Parties *party.Service
	Assets  *asset.Service
	Access  *access.Service
	Catalog *catalog.Service
	Audit   *audit.Service
	// CrossBorder records providers' cross-border filings; nil leaves the routes out.
	CrossBorder *crossborder.Service
	// AuditLog is the Merkle audit log: answers carry receipts of the events they
	// commit, and its proofs are served; nil leaves both out.
	AuditLog *audit.Sequencer
	// Remote lets organisations browse peer connectors' catalogs; nil leaves it out.
	Remote    *dsp.Client
	Peers     func() []dsp.Peer
	Negotiate func(ctx context.Context, participant, datasetID, offerID string) (contract.RemoteNegotiation, error)
	Transfer  func(ctx context.Context, participant, agreementID string) (contract.RemoteTransfer, error)
	Pull      func(ctx context.Context, t contract.RemoteTransfer, format string, w http.ResponseWriter) error
	// Notify queues the message telling a remote consumer about a provider-side step
	// (offer, agreement, termination).
	Notify func(ctx context.Context, n contract.Negotiation) error
	// NotifyTransfer queues the message telling a remote consumer about a provider-side
	// transfer step.
	NotifyTransfer func(ctx context.Context, t contract.Transfer, addr contract.DataAddress) error
	// Atomically runs fn as one unit of work (a state change and the messages announcing
	// it are stored together); nil runs fn as it is.
	Atomically func(ctx context.Context, fn func(ctx context.Context) error) error
	// Changes returns a channel closed when the next audit event about subject commits
	// (long polls wait on it); nil makes them re-read every second.
	Changes func(subject string) <-chan struct{}
	// AcceptFromPeer accepts a peer's offer and tells the peer.
	AcceptFromPeer func(ctx context.Context, consumerPID string) (contract.RemoteNegotiation, error)
	// CounterWithPeer answers a peer's offer with other terms and tells the peer.
	CounterWithPeer func(ctx context.Context, consumerPID string, terms policy.Policy) (contract.RemoteNegotiation, error)
	// TerminateWithPeer ends a consumer-side negotiation with a peer and tells the peer.
	TerminateWithPeer func(ctx context.Context, consumerPID, reason string) (contract.RemoteNegotiation, error)
	// ChangeTransferWithPeer suspends, resumes, completes or terminates a transfer from a
	// peer and tells the peer.
	ChangeTransferWithPeer func(ctx context.Context, consumerPID, action, reason string) (contract.RemoteTransfer, error)
	// Compute runs differentially private queries; nil leaves its routes out.
	Compute *compute.Service
	// Contracts serves offers, negotiations and agreements; nil leaves them out.
	Contracts *contract.Service
	Log       *slog.Logger
	// MaxJSON bounds JSON request bodies (default 1 MiB).
	MaxJSON int64
}

// Route is one API operation; the table of routes drives both the mux and OpenAPI.
type Route struct {
	Method, Path string
	Summary      string
	Auth         bool     // needs a bearer token
	Query        []string // documented query parameters
	Body         string   // request body: "", "json" or "multipart"
	Response     string   // "json", "csv/parquet stream" …
	handler      func(w http.ResponseWriter, r *http.Request) error
}

// Status maps an error code to its HTTP status.
var Status = map[string]int{
	dx.EInvalid:       http.StatusBadRequest,
	dx.EUnauthorized:  http.StatusUnauthorized,
	dx.EForbidden:     http.StatusForbidden,
	dx.ENotFound:      http.StatusNotFound,
	dx.EConflict:      http.StatusConflict,
	dx.ETooLarge:      http.StatusRequestEntityTooLarge,
	dx.EUnprocessable: http.StatusUnprocessableEntity,
	dx.EInternal:      http.StatusInternalServerError,
}

// ErrorBody is the one shape of every error response.
type ErrorBody struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	} `json:"error"`
}

// WriteError writes err in the error shape with its status; internal causes are logged,
// never shown.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := dx.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = dx.ETooLarge, dx.Errorf(dx.ETooLarge, "请求体超过 %d 字节 / the request body is over %d bytes", mbe.Limit, mbe.Limit)
	}
	status, ok := Status[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	var body ErrorBody
	body.Error.Code, body.Error.Message, body.Error.Details = code, dx.ErrorMessage(err), dx.ErrorDetails(err)
	if code == dx.EUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dx"`)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decode reads a bounded JSON body into v, refusing unknown fields.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) error {
	max := a.MaxJSON
	if max <= 0 {
		max = 1 << 20
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return dx.Errorf(dx.EInvalid, "请求体不是有效的 JSON / the request body is not valid JSON: %v", err)
	}
	return nil
}

// Handler returns the API's handler (paths under /api/v1/).
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.Routes() {
		rt := rt
		mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
			w, r = a.withReceipts(w, r)
			if rt.Auth {
				ctx, err := a.authenticate(r)
				if err != nil {
					WriteError(w, r, a.Log, err)
					return
				}
				r = r.WithContext(ctx)
			}
			if err := rt.handler(w, r); err != nil {
				WriteError(w, r, a.Log, err)
			}
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, a.Log, dx.Errorf(dx.ENotFound, "没有这个接口 / no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (a *API) authenticate(r *http.Request) (context.Context, error) {
	h := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		return nil, dx.Errorf(dx.EUnauthorized, "需要 Authorization: Bearer 令牌 / an Authorization: Bearer token is required")
	}
	p, err := a.Parties.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		return nil, err
	}
	return dx.WithPrincipal(r.Context(), p), nil
}
