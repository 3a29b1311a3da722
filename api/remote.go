package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/policy"
)

// remoteRoutes let an organisation use its node's trusted peers.
func (a *API) remoteRoutes() []Route {
	if a.Remote == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/peers", Summary: "List the peer connectors this node trusts", Auth: true, Response: "json", handler: a.listPeers},
		{Method: "GET", Path: "/api/v1/peers/negotiations", Summary: "List the caller's contract negotiations with peer connectors", Auth: true, Response: "json", handler: a.listPeerNegotiations},
		{Method: "POST", Path: "/api/v1/peers/negotiations", Summary: "Negotiate with a peer connector for an offer of a dataset in its catalog: {participant, dataset_id, offer_id}", Auth: true, Body: "json", Response: "json", handler: a.negotiateWithPeer},
		{Method: "GET", Path: "/api/v1/peers/negotiations/{pid}", Summary: "Show one negotiation with a peer (by consumer process ID); with changed_from=STATE and wait=DURATION (≤ 60s), answer as soon as its state is no longer STATE", Auth: true, Query: []string{"changed_from", "wait"}, Response: "json", handler: a.getPeerNegotiation},
		{Method: "POST", Path: "/api/v1/peers/negotiations/{pid}/request", Summary: "Answer a peer's offer with other terms and tell the peer: {policy}", Auth: true, Body: "json", Response: "json", handler: a.counterPeerOffer},
		{Method: "POST", Path: "/api/v1/peers/negotiations/{pid}/accept", Summary: "Accept a peer's offer and tell the peer; its agreement follows", Auth: true, Response: "json", handler: a.acceptPeerOffer},
		{Method: "POST", Path: "/api/v1/peers/negotiations/{pid}/terminate", Summary: "End a negotiation with a peer and tell the peer: {reason}", Auth: true, Body: "json", Response: "json", handler: a.terminatePeerNegotiation},
		{Method: "GET", Path: "/api/v1/peers/transfers/{pid}", Summary: "Show one transfer from a peer (by consumer process ID); with changed_from=STATE and wait=DURATION (≤ 60s), answer as soon as its state is no longer STATE", Auth: true, Query: []string{"changed_from", "wait"}, Response: "json", handler: a.getPeerTransfer},
		{Method: "GET", Path: "/api/v1/peers/transfers", Summary: "List the caller's transfers from peer connectors", Auth: true, Response: "json", handler: a.listPeerTransfers},
		{Method: "POST", Path: "/api/v1/peers/transfers", Summary: "Ask a peer connector to start a pull transfer under an agreement: {participant, agreement_id}", Auth: true, Body: "json", Response: "json", handler: a.transferFromPeer},
		{Method: "POST", Path: "/api/v1/peers/transfers/{pid}/{action}", Summary: "Suspend, resume, complete or terminate a transfer from a peer and tell the peer: {reason?}", Auth: true, Body: "json", Response: "json", handler: a.changePeerTransfer},
		{Method: "GET", Path: "/api/v1/peers/transfers/{pid}/data", Summary: "Pull a started transfer's data from the peer through this node", Auth: true, Query: []string{"format"}, Response: "stream", handler: a.pullFromPeer},
		{Method: "GET", Path: "/api/v1/peers/catalog", Summary: "Fetch a peer connector's DSP catalog through this node (signed request)", Auth: true, Query: []string{"participant"}, Response: "json", handler: a.peerCatalog},
	}
}

func (a *API) peer(participant string) (dsp.Peer, error) {
	for _, p := range a.Peers() {
		if p.ParticipantID == participant {
			return p, nil
		}
	}
	return dsp.Peer{}, dx.Errorf(dx.ENotFound, "未配置的对端 %q / no trusted peer %q", participant, participant)
}

func (a *API) listPeers(w http.ResponseWriter, r *http.Request) error {
	peers := a.Peers()
	if peers == nil {
		peers = []dsp.Peer{}
	}
	writeJSON(w, 200, map[string]any{"peers": peers})
	return nil
}

func (a *API) peerCatalog(w http.ResponseWriter, r *http.Request) error {
	if _, err := dx.PrincipalFrom(r.Context()); err != nil {
		return err
	}
	p, err := a.peer(r.URL.Query().Get("participant"))
	if err != nil {
		return err
	}
	cat, err := a.Remote.Catalog(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, 200, cat)
	return nil
}

// RemoteNegotiationView is a negotiation with a peer, with its signed agreement once made.
type RemoteNegotiationView struct {
	contract.RemoteNegotiation
	Agreement *contract.Agreement `json:"agreement,omitempty"`
}

func (a *API) listPeerNegotiations(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.Contracts.RemoteNegotiations(r.Context())
	if err != nil {
		return err
	}
	out := make([]RemoteNegotiationView, len(rs))
	for i, rn := range rs {
		out[i] = RemoteNegotiationView{RemoteNegotiation: rn, Agreement: rn.Agreement}
	}
	writeJSON(w, 200, map[string]any{"negotiations": out})
	return nil
}

func (a *API) negotiateWithPeer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Participant string `json:"participant"`
		DatasetID   string `json:"dataset_id"`
		OfferID     string `json:"offer_id"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	rn, err := a.Negotiate(r.Context(), req.Participant, req.DatasetID, req.OfferID)
	if err != nil {
		return err
	}
	writeJSON(w, 201, RemoteNegotiationView{RemoteNegotiation: rn})
	return nil
}

func (a *API) listPeerTransfers(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.Contracts.RemoteTransfers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"transfers": ts})
	return nil
}

func (a *API) transferFromPeer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Participant string `json:"participant"`
		AgreementID string `json:"agreement_id"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	t, err := a.Transfer(r.Context(), req.Participant, req.AgreementID)
	if err != nil {
		return err
	}
	writeJSON(w, 201, t)
	return nil
}

func (a *API) pullFromPeer(w http.ResponseWriter, r *http.Request) error {
	t, err := a.Contracts.RemoteTransferFor(r.Context(), r.PathValue("pid"))
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	return a.Pull(r.Context(), t, format, w)
}

func (a *API) getPeerNegotiation(w http.ResponseWriter, r *http.Request) error {
	var rn contract.RemoteNegotiation
	err := a.longPoll(r, r.PathValue("pid"), func() (string, error) {
		var err error
		rn, err = a.Contracts.RemoteNegotiation(r.Context(), r.PathValue("pid"))
		return string(rn.State), err
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, RemoteNegotiationView{RemoteNegotiation: rn, Agreement: rn.Agreement})
	return nil
}

func (a *API) getPeerTransfer(w http.ResponseWriter, r *http.Request) error {
	var t contract.RemoteTransfer
	err := a.longPoll(r, r.PathValue("pid"), func() (string, error) {
		var err error
		t, err = a.Contracts.RemoteTransferFor(r.Context(), r.PathValue("pid"))
		return string(t.State), err
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, t)
	return nil
}

func (a *API) terminatePeerNegotiation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	rn, err := a.TerminateWithPeer(r.Context(), r.PathValue("pid"), req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, 200, RemoteNegotiationView{RemoteNegotiation: rn, Agreement: rn.Agreement})
	return nil
}

func (a *API) acceptPeerOffer(w http.ResponseWriter, r *http.Request) error {
	rn, err := a.AcceptFromPeer(r.Context(), r.PathValue("pid"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, RemoteNegotiationView{RemoteNegotiation: rn, Agreement: rn.Agreement})
	return nil
}

func (a *API) counterPeerOffer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Policy json.RawMessage `json:"policy"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	terms, err := policy.Parse(req.Policy)
	if err != nil {
		return err
	}
	rn, err := a.CounterWithPeer(r.Context(), r.PathValue("pid"), terms)
	if err != nil {
		return err
	}
	writeJSON(w, 200, RemoteNegotiationView{RemoteNegotiation: rn, Agreement: rn.Agreement})
	return nil
}

func (a *API) changePeerTransfer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
	}
	t, err := a.ChangeTransferWithPeer(r.Context(), r.PathValue("pid"), r.PathValue("action"), req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, 200, t)
	return nil
}

// MaxWait bounds a long poll.
const MaxWait = 60 * time.Second

// longPoll reads a process with read; with ?changed_from=STATE&wait=DURATION it answers
// as soon as the state is no longer STATE, re-reading when an audit event about subject
// commits on this node (and every second, for commits by other replicas), or when the
// wait is over — so clients follow a negotiation without polling.
func (a *API) longPoll(r *http.Request, subject string, read func() (state string, err error)) error {
	q := r.URL.Query()
	from := q.Get("changed_from")
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return dx.Errorf(dx.EInvalid, "wait 应为时长（如 10s）/ wait must be a duration such as 10s")
		}
		wait = min(d, MaxWait)
	}
	deadline := time.Now().Add(wait)
	for {
		var changed <-chan struct{}
		if a.Changes != nil {
			changed = a.Changes(subject) // before the read: a commit after it wakes us
		}
		state, err := read()
		if err != nil || from == "" || state != from {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		timer := time.NewTimer(min(left, time.Second))
		select {
		case <-changed:
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return r.Context().Err()
		}
		timer.Stop()
	}
}
