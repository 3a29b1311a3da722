package dsp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/outbox"
	"github.com/dxexchange/dx/policy"
)

// Extension keys dx-to-dx messages carry beside the DSP shapes (JSON-LD peers drop them;
// dx peers need them to exchange agreement signatures).
const (
	extSignatures = policy.NS + "signatures"
	extSignature  = policy.NS + "signature"
)

// registerNegotiation mounts the provider and consumer-callback negotiation endpoints.
func (h *Handler) registerNegotiation(mux *http.ServeMux) {
	if h.Contracts == nil {
		return
	}
	mux.HandleFunc("POST "+BasePath+"/negotiations/request", h.signed(h.negotiationRequest))
	mux.HandleFunc("GET "+BasePath+"/negotiations/{pid}", h.signed(h.negotiationGet))
	mux.HandleFunc("GET "+BasePath+"/callback/negotiations/{pid}", h.signed(h.callbackGet))
	mux.HandleFunc("POST "+BasePath+"/negotiations/{pid}/agreement/verification", h.signed(h.negotiationVerification))
	mux.HandleFunc("POST "+BasePath+"/callback/negotiations/{pid}/agreement", h.signed(h.callbackAgreement))
	mux.HandleFunc("POST "+BasePath+"/callback/negotiations/{pid}/events", h.signed(h.callbackEvents))
	mux.HandleFunc("POST "+BasePath+"/negotiations/{pid}/termination", h.signed(h.negotiationTermination))
	mux.HandleFunc("POST "+BasePath+"/negotiations/{pid}/events", h.signed(h.negotiationEvents))
	mux.HandleFunc("POST "+BasePath+"/negotiations/{pid}/request", h.signed(h.negotiationCounter))
	mux.HandleFunc("POST "+BasePath+"/callback/negotiations/{pid}/offers", h.signed(h.callbackOffers))
	mux.HandleFunc("POST "+BasePath+"/callback/negotiations/{pid}/termination", h.signed(h.callbackTermination))
}

func (h *Handler) node() contract.Node {
	return contract.Node{Participant: h.ParticipantID, Key: h.Key}
}

func ack(providerPID, consumerPID string, state contract.State) map[string]any {
	return map[string]any{"@context": []string{Context}, "@type": "ContractNegotiation", "providerPid": providerPID, "consumerPid": consumerPID, "state": string(state)}
}

// envelope is what every DSP process message carries besides its own fields.
type envelope struct {
	Type        string `json:"@type"`
	ProviderPID string `json:"providerPid"`
	ConsumerPID string `json:"consumerPid"`
}

// negError is an error answered in the ContractNegotiationError shape (or, with typ
// "TransferError", in the transfer protocol's).
type negError struct {
	err                      error
	providerPID, consumerPID string
	typ                      string
}

func (e negError) Error() string { return e.err.Error() }
func (e negError) Unwrap() error { return e.err }

func (h *Handler) negotiationRequest(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		Type        string          `json:"@type"`
		ConsumerPID string          `json:"consumerPid"`
		ProviderPID string          `json:"providerPid"`
		Offer       json.RawMessage `json:"offer"`
		Callback    string          `json:"callbackAddress"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractRequestMessage" || msg.ConsumerPID == "" || msg.Callback == "" || msg.ProviderPID != "" {
		return negError{dx.Errorf(dx.EInvalid, "需要初始 ContractRequestMessage / expected an initial ContractRequestMessage with consumerPid and callbackAddress"), "urn:dx:negotiation:none", msg.ConsumerPID, ""}
	}
	terms, err := policy.Parse(msg.Offer)
	if err != nil {
		return negError{err, "urn:dx:negotiation:none", msg.ConsumerPID, ""}
	}
	var n contract.Negotiation
	err = h.Atomically(r.Context(), func(ctx context.Context) error {
		var rec *contract.Record
		if n, rec, err = h.Contracts.PeerRequest(ctx, h.node(), peer.ParticipantID, peer.PublicKey, msg.ConsumerPID, terms.Target, strings.TrimRight(msg.Callback, "/"), terms); err != nil || rec == nil {
			return err
		}
		// agreed at once: the agreement goes out with the state change
		return h.dispatch(ctx, n.Callback+"/negotiations/"+n.ConsumerPID+"/agreement", map[string]any{"@context": []string{Context}, "@type": "ContractAgreementMessage",
			"providerPid": contract.ProviderPID(n), "consumerPid": n.ConsumerPID, "agreement": policy.JSON(rec.Agreement.Policy), extSignatures: rec.Agreement.Signatures})
	})
	if err != nil {
		return negError{err, "urn:dx:negotiation:none", msg.ConsumerPID, ""}
	}
	writeJSON(w, 201, ack(contract.ProviderPID(n), n.ConsumerPID, n.State))
	return nil
}

func (h *Handler) negotiationGet(w http.ResponseWriter, r *http.Request, peer Peer, _ []byte) error {
	id, ok := contract.NegotiationID(r.PathValue("pid"))
	n, err := h.Contracts.Store.Negotiation(r.Context(), id)
	if !ok || err != nil {
		return negError{dx.Errorf(dx.ENotFound, "协商不存在 / negotiation not found"), r.PathValue("pid"), "urn:dx:unknown", ""}
	}
	orgID, err := h.Contracts.Store.PeerOrg(r.Context(), peer.ParticipantID, peer.PublicKey, h.PeerCountry(peer.ParticipantID), h.Clock.Now())
	if err != nil || n.ConsumerID != orgID {
		return negError{dx.Errorf(dx.ENotFound, "协商不存在 / negotiation not found"), r.PathValue("pid"), "urn:dx:unknown", ""}
	}
	writeJSON(w, 200, ack(contract.ProviderPID(n), n.ConsumerPID, n.State))
	return nil
}

func (h *Handler) negotiationVerification(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		envelope
		Signature contract.Signature `json:"https://dx.example/ns/v1/signature"`
	}
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractAgreementVerificationMessage" || msg.ProviderPID != pid {
		return negError{dx.Errorf(dx.EInvalid, "需要 ContractAgreementVerificationMessage / expected a ContractAgreementVerificationMessage for %s", pid), pid, msg.ConsumerPID, ""}
	}
	var n contract.Negotiation
	err := h.Atomically(r.Context(), func(ctx context.Context) (err error) {
		if n, err = h.Contracts.PeerVerify(ctx, h.node(), peer.ParticipantID, peer.PublicKey, pid, msg.Signature); err != nil {
			return err
		}
		return h.dispatch(ctx, n.Callback+"/negotiations/"+n.ConsumerPID+"/events", map[string]any{"@context": []string{Context},
			"@type": "ContractNegotiationEventMessage", "providerPid": pid, "consumerPid": n.ConsumerPID, "eventType": "FINALIZED"})
	})
	if err != nil {
		return negError{err, pid, msg.ConsumerPID, ""}
	}
	writeJSON(w, 200, ack(pid, n.ConsumerPID, n.State))
	return nil
}

func (h *Handler) callbackAgreement(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		envelope
		Agreement  json.RawMessage      `json:"agreement"`
		Signatures []contract.Signature `json:"https://dx.example/ns/v1/signatures"`
	}
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractAgreementMessage" || msg.ConsumerPID != pid {
		return negError{dx.Errorf(dx.EInvalid, "需要 ContractAgreementMessage / expected a ContractAgreementMessage for %s", pid), msg.ProviderPID, pid, ""}
	}
	p, err := policy.Parse(msg.Agreement)
	if err != nil {
		return negError{err, msg.ProviderPID, pid, ""}
	}
	var rn contract.RemoteNegotiation
	err = h.Atomically(r.Context(), func(ctx context.Context) error {
		var sig contract.Signature
		var err error
		if rn, sig, err = h.Contracts.OnAgreement(ctx, h.node(), peer.ParticipantID, peer.PublicKey, pid, contract.Agreement{Policy: p, Signatures: msg.Signatures}); err != nil {
			return err
		}
		if rn.ProviderPID == "" {
			if acked, err := h.Contracts.RemoteAcked(ctx, rn, msg.ProviderPID); err == nil {
				rn = acked
			}
		}
		return h.dispatch(ctx, strings.TrimRight(peer.URL, "/")+BasePath+"/negotiations/"+msg.ProviderPID+"/agreement/verification", map[string]any{
			"@context": []string{Context}, "@type": "ContractAgreementVerificationMessage", "providerPid": msg.ProviderPID, "consumerPid": pid, extSignature: sig})
	})
	if err != nil {
		return negError{err, msg.ProviderPID, pid, ""}
	}
	writeJSON(w, 200, ack(msg.ProviderPID, pid, rn.State))
	return nil
}

func (h *Handler) callbackEvents(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		envelope
		EventType string `json:"eventType"`
	}
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractNegotiationEventMessage" || msg.EventType != "FINALIZED" {
		return negError{&dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "invalid-transition"}, Message: "消费方只接受 FINALIZED 事件 / a consumer accepts only the FINALIZED event"}, msg.ProviderPID, pid, ""}
	}
	rn, err := h.Contracts.OnFinalized(r.Context(), peer.ParticipantID, pid)
	if err != nil {
		return negError{err, msg.ProviderPID, pid, ""}
	}
	writeJSON(w, 200, ack(msg.ProviderPID, pid, rn.State))
	return nil
}

// dispatch sends a message to a peer's endpoint right away. With an outbox the message
// is stored first — inside ctx's unit of work, so together with the state change it
// announces — and retried with backoff until the peer acknowledges it, across restarts;
// without one (tests) it is sent from a goroutine with a few retries.
func (h *Handler) dispatch(ctx context.Context, url string, msg any) error {
	body := mustMarshal(msg)
	if h.Outbox != nil {
		return h.Outbox.Post(ctx, url, body)
	}
	go func() {
		delay := 500 * time.Millisecond
		for attempt := 1; ; attempt++ {
			err := h.Deliver(context.Background(), url, body)
			if err == nil || dx.ErrorCode(err) != dx.EInternal || attempt == 5 {
				h.record(context.Background(), "dsp.out", url, "", body, err)
				return
			}
			time.Sleep(delay)
			delay *= 2
		}
	}()
	return nil
}

// Atomically runs fn as one unit of work where the node has them (a state change and
// the messages announcing it are stored together or not at all), then wakes the outbox
// to send what the unit queued.
func (h *Handler) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if h.Units == nil {
		return fn(ctx)
	}
	err := h.Units.Atomically(ctx, fn)
	if err == nil && h.Outbox != nil {
		h.Outbox.Wake()
	}
	return err
}

// Deliver sends one stored message to a peer's endpoint.
func (h *Handler) Deliver(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return h.client().DoURL(ctx, "POST", url, json.RawMessage(body), nil)
}

// Delivered records a message's final outcome as an audit event (the outbox calls it in
// the transaction that marks the message sent or given up).
func (h *Handler) Delivered(ctx context.Context, m outbox.Message, err error) error {
	return h.record(ctx, "dsp.out", m.URL, "", m.Body, err)
}

func (h *Handler) client() *Client {
	return &Client{ParticipantID: h.ParticipantID, Key: h.Key, HTTP: &http.Client{Timeout: 30 * time.Second}, Clock: h.Clock}
}

// Negotiate starts, for the calling organisation, a negotiation with a peer for one of the
// offers of a dataset in its catalog, taking the offer's terms as they are. The rest of
// the exchange (agreement, verification, finalization) runs between the nodes; the
// negotiation's state is in RemoteNegotiations.
func (h *Handler) Negotiate(ctx context.Context, participant, datasetID, offerID string) (contract.RemoteNegotiation, error) {
	peer, ok := h.peer(participant)
	if !ok {
		return contract.RemoteNegotiation{}, dx.Errorf(dx.ENotFound, "未配置的对端 %q / no trusted peer %q", participant, participant)
	}
	c := h.client()
	var ds struct {
		HasPolicy []json.RawMessage `json:"hasPolicy"`
	}
	if err := c.Do(ctx, peer, "GET", "/catalog/datasets/"+datasetID, nil, &ds); err != nil {
		return contract.RemoteNegotiation{}, err
	}
	var terms policy.Policy
	for _, raw := range ds.HasPolicy {
		p, err := policy.Parse(raw)
		if err == nil && p.ID == offerID {
			terms = p
		}
	}
	if terms.ID == "" {
		return contract.RemoteNegotiation{}, dx.Errorf(dx.ENotFound, "数据集没有此报价 / the dataset has no offer %q", offerID)
	}
	rn, err := h.Contracts.StartRemote(ctx, participant, datasetID, terms)
	if err != nil {
		return rn, err
	}
	offer := policy.JSON(terms)
	offer["target"] = datasetID
	msg := map[string]any{"@context": []string{Context}, "@type": "ContractRequestMessage", "consumerPid": rn.ConsumerPID, "offer": offer,
		"callbackAddress": h.PublicURL + BasePath + "/callback"}
	var answer struct {
		ProviderPID string `json:"providerPid"`
	}
	sendErr := c.Do(ctx, peer, "POST", "/negotiations/request", msg, &answer)
	// the outcome and its audit record in one unit
	err = h.Atomically(ctx, func(ctx context.Context) error {
		h.record(ctx, "dsp.out", peer.URL+BasePath+"/negotiations/request", peer.ParticipantID, mustMarshal(msg), sendErr)
		var err error
		if sendErr != nil {
			rn, err = h.Contracts.RemoteFailed(ctx, rn, dx.ErrorMessage(sendErr))
		} else {
			rn, err = h.Contracts.RemoteAcked(ctx, rn, answer.ProviderPID)
		}
		return err
	})
	if sendErr != nil {
		return rn, sendErr
	}
	return rn, err
}

type terminationMsg struct {
	envelope
	Code   string `json:"code"`
	Reason []any  `json:"reason"`
}

func (m terminationMsg) text() string {
	var parts []string
	if m.Code != "" {
		parts = append(parts, m.Code)
	}
	for _, r := range m.Reason {
		if s, ok := r.(string); ok {
			parts = append(parts, s)
		} else if b, err := json.Marshal(r); err == nil {
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, ": ")
}

func terminationJSON(providerPID, consumerPID, reason string) map[string]any {
	m := map[string]any{"@context": []string{Context}, "@type": "ContractNegotiationTerminationMessage", "providerPid": providerPID, "consumerPid": consumerPID, "code": "terminated"}
	if reason != "" {
		m["reason"] = []string{reason}
	}
	return m
}

func (h *Handler) negotiationTermination(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg terminationMsg
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractNegotiationTerminationMessage" || msg.ProviderPID != pid {
		return negError{dx.Errorf(dx.EInvalid, "需要 ContractNegotiationTerminationMessage / expected a ContractNegotiationTerminationMessage for %s", pid), pid, msg.ConsumerPID, ""}
	}
	n, err := h.Contracts.PeerTerminate(r.Context(), peer.ParticipantID, peer.PublicKey, pid, msg.text())
	if err != nil {
		return negError{err, pid, msg.ConsumerPID, ""}
	}
	writeJSON(w, 200, ack(pid, n.ConsumerPID, n.State))
	return nil
}

func (h *Handler) callbackTermination(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg terminationMsg
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractNegotiationTerminationMessage" || msg.ConsumerPID != pid {
		return negError{dx.Errorf(dx.EInvalid, "需要 ContractNegotiationTerminationMessage / expected a ContractNegotiationTerminationMessage for %s", pid), msg.ProviderPID, pid, ""}
	}
	rn, err := h.Contracts.OnTerminated(r.Context(), peer.ParticipantID, pid, msg.text())
	if err != nil {
		return negError{err, msg.ProviderPID, pid, ""}
	}
	writeJSON(w, 200, ack(msg.ProviderPID, pid, rn.State))
	return nil
}

// Notify queues the message telling a remote consumer what its provider-side
// negotiation n just did: the offer, the agreement after a manual approval, or the
// termination. Local negotiations need nothing.
func (h *Handler) Notify(ctx context.Context, n contract.Negotiation) error {
	if n.Callback == "" {
		return nil
	}
	switch n.State {
	case contract.Offered:
		offer := policy.JSON(n.Terms)
		offer["target"] = DatasetID(n.AssetID)
		delete(offer, "assigner")
		return h.dispatch(ctx, n.Callback+"/negotiations/"+n.ConsumerPID+"/offers", map[string]any{"@context": []string{Context}, "@type": "ContractOfferMessage",
			"providerPid": contract.ProviderPID(n), "consumerPid": n.ConsumerPID, "offer": offer})
	case contract.Agreed:
		rec, err := h.Contracts.Store.Agreement(ctx, n.AgreementID)
		if err != nil {
			return err
		}
		return h.dispatch(ctx, n.Callback+"/negotiations/"+n.ConsumerPID+"/agreement", map[string]any{"@context": []string{Context}, "@type": "ContractAgreementMessage",
			"providerPid": contract.ProviderPID(n), "consumerPid": n.ConsumerPID, "agreement": policy.JSON(rec.Agreement.Policy), extSignatures: rec.Agreement.Signatures})
	case contract.Terminated:
		return h.dispatch(ctx, n.Callback+"/negotiations/"+n.ConsumerPID+"/termination", terminationJSON(contract.ProviderPID(n), n.ConsumerPID, n.Reason))
	}
	return nil
}

// TerminateWithPeer ends, for the calling organisation, a negotiation with a peer and
// tells the peer.
func (h *Handler) TerminateWithPeer(ctx context.Context, consumerPID, reason string) (contract.RemoteNegotiation, error) {
	var rn contract.RemoteNegotiation
	err := h.Atomically(ctx, func(ctx context.Context) (err error) {
		if rn, err = h.Contracts.RemoteTerminate(ctx, consumerPID, reason); err != nil {
			return err
		}
		if peer, ok := h.peer(rn.Peer); ok && rn.ProviderPID != "" {
			return h.dispatch(ctx, strings.TrimRight(peer.URL, "/")+BasePath+"/negotiations/"+rn.ProviderPID+"/termination", terminationJSON(rn.ProviderPID, rn.ConsumerPID, reason))
		}
		return nil
	})
	return rn, err
}

// callbackGet answers a provider's GET of a consumer-side negotiation (the TCK checks
// states this way).
func (h *Handler) callbackGet(w http.ResponseWriter, r *http.Request, peer Peer, _ []byte) error {
	pid := r.PathValue("pid")
	rn, err := h.Contracts.Store.Remote(r.Context(), pid)
	if err != nil || rn.Peer != peer.ParticipantID {
		return negError{dx.Errorf(dx.ENotFound, "协商不存在 / negotiation not found"), "urn:dx:unknown", pid, ""}
	}
	writeJSON(w, 200, ack(rn.ProviderPID, pid, rn.State))
	return nil
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// negotiationEvents handles the consumer's ACCEPTED event on the provider's node; the
// agreement on the accepted offer follows at once.
func (h *Handler) negotiationEvents(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		envelope
		EventType string `json:"eventType"`
	}
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractNegotiationEventMessage" || msg.ProviderPID != pid || msg.EventType != "ACCEPTED" {
		return negError{&dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "invalid-transition"},
			Message: "提供方只接受 ACCEPTED 事件 / a provider accepts only the ACCEPTED event"}, pid, msg.ConsumerPID, ""}
	}
	var n contract.Negotiation
	err := h.Atomically(r.Context(), func(ctx context.Context) (err error) {
		if n, _, err = h.Contracts.PeerAccept(ctx, h.node(), peer.ParticipantID, peer.PublicKey, pid); err != nil {
			return err
		}
		return h.Notify(ctx, n) // the agreement
	})
	if err != nil {
		return negError{err, pid, msg.ConsumerPID, ""}
	}
	writeJSON(w, 200, ack(pid, n.ConsumerPID, contract.Accepted))
	return nil
}

// callbackOffers handles the provider's ContractOfferMessage on the consumer's node.
func (h *Handler) callbackOffers(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		envelope
		Offer json.RawMessage `json:"offer"`
	}
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractOfferMessage" || msg.ConsumerPID != pid {
		return negError{dx.Errorf(dx.EInvalid, "需要 ContractOfferMessage / expected a ContractOfferMessage for %s", pid), msg.ProviderPID, pid, ""}
	}
	terms, err := policy.Parse(msg.Offer)
	if err != nil {
		return negError{err, msg.ProviderPID, pid, ""}
	}
	rn, err := h.Contracts.OnOffer(r.Context(), peer.ParticipantID, pid, terms)
	if err != nil {
		return negError{err, msg.ProviderPID, pid, ""}
	}
	writeJSON(w, 200, ack(msg.ProviderPID, pid, rn.State))
	return nil
}

// AcceptFromPeer accepts, for the calling organisation, a peer's offer and tells the peer.
func (h *Handler) AcceptFromPeer(ctx context.Context, consumerPID string) (contract.RemoteNegotiation, error) {
	var rn contract.RemoteNegotiation
	err := h.Atomically(ctx, func(ctx context.Context) (err error) {
		if rn, err = h.Contracts.RemoteAccept(ctx, consumerPID); err != nil {
			return err
		}
		if peer, ok := h.peer(rn.Peer); ok {
			return h.dispatch(ctx, strings.TrimRight(peer.URL, "/")+BasePath+"/negotiations/"+rn.ProviderPID+"/events", map[string]any{"@context": []string{Context},
				"@type": "ContractNegotiationEventMessage", "providerPid": rn.ProviderPID, "consumerPid": rn.ConsumerPID, "eventType": "ACCEPTED"})
		}
		return nil
	})
	return rn, err
}

// negotiationCounter handles a consumer's counter-request on the provider's node.
func (h *Handler) negotiationCounter(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		envelope
		Offer    json.RawMessage `json:"offer"`
		Callback string          `json:"callbackAddress"`
	}
	pid := r.PathValue("pid")
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "ContractRequestMessage" || msg.ProviderPID != pid || msg.Callback != "" {
		return negError{dx.Errorf(dx.EInvalid, "需要带 providerPid 的 ContractRequestMessage / expected a counter ContractRequestMessage for %s", pid), pid, msg.ConsumerPID, ""}
	}
	terms, err := policy.Parse(msg.Offer)
	if err != nil {
		return negError{err, pid, msg.ConsumerPID, ""}
	}
	n, err := h.Contracts.PeerCounter(r.Context(), peer.ParticipantID, peer.PublicKey, pid, terms)
	if err != nil {
		return negError{err, pid, msg.ConsumerPID, ""}
	}
	writeJSON(w, 200, ack(pid, n.ConsumerPID, n.State))
	return nil
}

// CounterWithPeer answers, for the calling organisation, a peer's offer with other terms
// and sends the counter-request.
func (h *Handler) CounterWithPeer(ctx context.Context, consumerPID string, terms policy.Policy) (contract.RemoteNegotiation, error) {
	var rn contract.RemoteNegotiation
	err := h.Atomically(ctx, func(ctx context.Context) (err error) {
		if rn, err = h.Contracts.RemoteCounter(ctx, consumerPID, terms); err != nil {
			return err
		}
		if peer, ok := h.peer(rn.Peer); ok {
			offer := policy.JSON(rn.Terms)
			offer["target"] = rn.DatasetID
			return h.dispatch(ctx, strings.TrimRight(peer.URL, "/")+BasePath+"/negotiations/"+rn.ProviderPID+"/request", map[string]any{"@context": []string{Context},
				"@type": "ContractRequestMessage", "providerPid": rn.ProviderPID, "consumerPid": rn.ConsumerPID, "offer": offer})
		}
		return nil
	})
	return rn, err
}
