package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
)

// auditRoutes serve proofs and receipts of the Merkle audit log (public: the log is).
func (a *API) auditRoutes() []Route {
	if a.AuditLog == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/audit/proof", Summary: "Inclusion proof of log entry index in the tree of size size (default: the current size)", Query: []string{"index", "size"}, Response: "json", handler: a.auditProof},
		{Method: "GET", Path: "/api/v1/audit/consistency", Summary: "Consistency proof between two sizes of the audit log (default to: the current size)", Query: []string{"from", "to"}, Response: "json", handler: a.auditConsistency},
		{Method: "GET", Path: "/api/v1/audit/receipts/{event_id}", Summary: "An event's receipt (c2sp.org/tlog-proof@v1) against the current checkpoint; 404 until integrated", Response: "text", handler: a.auditReceipt},
	}
}

func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, dx.Errorf(dx.EInvalid, "%s 应为整数 / %s must be an integer", name, name)
	}
	return n, nil
}

func hashStrings(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

func (a *API) auditProof(w http.ResponseWriter, r *http.Request) error {
	head := a.AuditLog.Head()
	index, err := queryInt(r, "index", -1)
	if err != nil {
		return err
	}
	size, err := queryInt(r, "size", head.Size)
	if err != nil {
		return err
	}
	proof, err := a.AuditLog.ProveInclusion(r.Context(), index, size)
	if err != nil {
		return err
	}
	root, err := a.AuditLog.TreeRoot(r.Context(), size)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"index": index, "size": size, "root": root.String(), "hashes": hashStrings(proof)})
	return nil
}

func (a *API) auditConsistency(w http.ResponseWriter, r *http.Request) error {
	head := a.AuditLog.Head()
	from, err := queryInt(r, "from", 0)
	if err != nil {
		return err
	}
	to, err := queryInt(r, "to", head.Size)
	if err != nil {
		return err
	}
	proof, err := a.AuditLog.ProveConsistency(r.Context(), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "hashes": hashStrings(proof)})
	return nil
}

func (a *API) auditReceipt(w http.ResponseWriter, r *http.Request) error {
	receipt, err := a.AuditLog.ReceiptFor(r.Context(), r.PathValue("event_id"))
	if err != nil {
		if dx.ErrorCode(err) == dx.ENotFound {
			return dx.Errorf(dx.ENotFound, "事件尚未进入日志 / the event is not in the log (yet)")
		}
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(receipt)
	return nil
}

// ReceiptWait bounds how long an answer waits for its events to be sequenced.
const ReceiptWait = 3 * time.Second

// withReceipts collects the audit events a request commits; before the first byte of
// the answer goes out (a download's data included), it waits for them to be integrated
// into the log and adds their receipts as headers: Dx-Audit-Event, Dx-Audit-Index and
// Dx-Audit-Leaf (comma-separated, in order). If sequencing takes too long the answer
// carries Dx-Audit-Pending instead, and GET /api/v1/audit/receipts/{event_id} gives the
// receipt later.
func (a *API) withReceipts(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	if a.AuditLog == nil {
		return w, r
	}
	ctx, c := audit.WithCollector(r.Context())
	return &receiptWriter{ResponseWriter: w, ctx: ctx, collected: c, log: a.AuditLog}, r.WithContext(ctx)
}

type receiptWriter struct {
	http.ResponseWriter
	ctx       context.Context
	collected *audit.Collector
	log       *audit.Sequencer
	done      bool
}

func (rw *receiptWriter) stamp() {
	if rw.done {
		return
	}
	rw.done = true
	ids := rw.collected.IDs()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(rw.ctx, ReceiptWait)
	defer cancel()
	receipts, err := rw.log.Await(ctx, ids)
	h := rw.Header()
	if err != nil {
		h.Set("Dx-Audit-Pending", strings.Join(ids, ","))
		return
	}
	var idx, leaves []string
	for _, rc := range receipts {
		idx = append(idx, strconv.FormatInt(rc.Index, 10))
		leaves = append(leaves, rc.Leaf.String())
	}
	h.Set("Dx-Audit-Event", strings.Join(ids, ","))
	h.Set("Dx-Audit-Index", strings.Join(idx, ","))
	h.Set("Dx-Audit-Leaf", strings.Join(leaves, ","))
}

func (rw *receiptWriter) WriteHeader(code int) {
	rw.stamp()
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *receiptWriter) Write(p []byte) (int, error) {
	rw.stamp()
	return rw.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rw *receiptWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }
