package dsp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

// EndpointTypeHTTP is the DataAddress endpoint type of dx's pull data plane.
const EndpointTypeHTTP = "https://w3id.org/idsa/v4.1/HTTP"

const extExpiresAt = policy.NS + "expiresAt"

func (h *Handler) registerTransfer(mux *http.ServeMux) {
	if h.Contracts == nil {
		return
	}
	mux.HandleFunc("POST "+BasePath+"/transfers/request", h.signed(h.transferRequest))
	mux.HandleFunc("POST "+BasePath+"/callback/transfers/{pid}/start", h.signed(h.callbackTransferStart))
	mux.HandleFunc("GET "+BasePath+"/transfers/{pid}", h.signed(h.transferGet))
	mux.HandleFunc("GET "+BasePath+"/callback/transfers/{pid}", h.signed(h.callbackTransferGet))
	for _, kind := range []string{"start", "completion", "termination", "suspension"} {
		mux.HandleFunc("POST "+BasePath+"/transfers/{pid}/"+kind, h.signed(h.transferChange(kind)))
		if kind != "start" {
			mux.HandleFunc("POST "+BasePath+"/callback/transfers/{pid}/"+kind, h.signed(h.callbackTransferChange(kind)))
		}
	}
}

func transferAck(providerPID, consumerPID string, state contract.TransferState) map[string]any {
	return map[string]any{"@context": []string{Context}, "@type": "TransferProcess", "providerPid": providerPID, "consumerPid": consumerPID, "state": string(state)}
}

func (h *Handler) transferRequest(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		Type        string `json:"@type"`
		ConsumerPID string `json:"consumerPid"`
		AgreementID string `json:"agreementId"`
		Format      string `json:"format"`
		Callback    string `json:"callbackAddress"`
	}
	fail := func(err error) error { return negError{err, "urn:dx:transfer:none", msg.ConsumerPID, "TransferError"} }
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "TransferRequestMessage" || msg.ConsumerPID == "" || msg.AgreementID == "" || msg.Callback == "" {
		return fail(dx.Errorf(dx.EInvalid, "需要 TransferRequestMessage / expected a TransferRequestMessage with consumerPid, agreementId, format and callbackAddress"))
	}
	var t contract.Transfer
	err := h.Atomically(r.Context(), func(ctx context.Context) error {
		var addr contract.DataAddress
		var err error
		if t, addr, err = h.Contracts.PeerTransfer(ctx, peer.ParticipantID, peer.PublicKey, msg.ConsumerPID, msg.AgreementID, msg.Format, strings.TrimRight(msg.Callback, "/")); err != nil || addr.Token == "" {
			return err
		}
		return h.sendStart(ctx, t, addr)
	})
	if err != nil {
		return fail(err)
	}
	writeJSON(w, 201, transferAck(t.ID, t.ConsumerPID, contract.TransferRequested))
	return nil
}

// sendStart queues a TransferStartMessage with a fresh data address to the consumer.
func (h *Handler) sendStart(ctx context.Context, t contract.Transfer, addr contract.DataAddress) error {
	start := map[string]any{"@context": []string{Context}, "@type": "TransferStartMessage", "providerPid": t.ID, "consumerPid": t.ConsumerPID,
		"dataAddress": map[string]any{"@type": "DataAddress", "endpointType": EndpointTypeHTTP, "endpoint": h.PublicURL + addr.Endpoint,
			"endpointProperties": []any{
				map[string]any{"@type": "EndpointProperty", "name": "authorization", "value": addr.Token},
				map[string]any{"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
				map[string]any{"@type": "EndpointProperty", "name": extExpiresAt, "value": addr.ExpiresAt.Format(time.RFC3339)},
			}}}
	return h.dispatch(ctx, t.Callback+"/transfers/"+t.ConsumerPID+"/start", start)
}

// transferChanges maps the provider's transfer endpoints to actions and message types.
var transferChanges = map[string]struct {
	action, typ string
	msg         contract.TransferMessage
}{
	"start":       {"resume", "TransferStartMessage", contract.TMsgStart},
	"completion":  {"complete", "TransferCompletionMessage", contract.TMsgCompletion},
	"termination": {"terminate", "TransferTerminationMessage", contract.TMsgTermination},
	"suspension":  {"suspend", "TransferSuspensionMessage", contract.TMsgSuspension},
}

type transferChangeMsg struct {
	envelope
	Code   string `json:"code"`
	Reason []any  `json:"reason"`
}

func (m transferChangeMsg) text() string {
	return terminationMsg{Code: m.Code, Reason: m.Reason}.text()
}

// transferChange handles a consumer's start (resume), completion, termination or
// suspension on the provider's node.
func (h *Handler) transferChange(kind string) func(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	c := transferChanges[kind]
	return func(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
		var msg transferChangeMsg
		pid := r.PathValue("pid")
		fail := func(err error) error { return negError{err, pid, msg.ConsumerPID, "TransferError"} }
		if err := json.Unmarshal(body, &msg); err != nil || msg.Type != c.typ || msg.ProviderPID != pid {
			return fail(dx.Errorf(dx.EInvalid, "需要 %s / expected a %s for %s", c.typ, c.typ, pid))
		}
		var t contract.Transfer
		err := h.Atomically(r.Context(), func(ctx context.Context) error {
			var addr contract.DataAddress
			var err error
			if t, addr, err = h.Contracts.PeerChangeTransfer(ctx, peer.ParticipantID, peer.PublicKey, pid, c.action, msg.text()); err != nil || addr.Token == "" || t.Callback == "" {
				return err
			}
			return h.sendStart(ctx, t, addr) // a resumption: the new data address
		})
		if err != nil {
			return fail(err)
		}
		writeJSON(w, 200, transferAck(t.ID, t.ConsumerPID, t.State))
		return nil
	}
}

func (h *Handler) transferGet(w http.ResponseWriter, r *http.Request, peer Peer, _ []byte) error {
	t, err := h.Contracts.PeerTransferState(r.Context(), peer.ParticipantID, peer.PublicKey, r.PathValue("pid"))
	if err != nil {
		return negError{err, r.PathValue("pid"), "urn:dx:unknown", "TransferError"}
	}
	writeJSON(w, 200, transferAck(t.ID, t.ConsumerPID, t.State))
	return nil
}

// callbackTransferChange handles the provider's completion, termination or suspension
// on the consumer's node.
func (h *Handler) callbackTransferChange(kind string) func(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	c := transferChanges[kind]
	return func(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
		var msg transferChangeMsg
		pid := r.PathValue("pid")
		fail := func(err error) error { return negError{err, msg.ProviderPID, pid, "TransferError"} }
		if err := json.Unmarshal(body, &msg); err != nil || msg.Type != c.typ || msg.ConsumerPID != pid {
			return fail(dx.Errorf(dx.EInvalid, "需要 %s / expected a %s for %s", c.typ, c.typ, pid))
		}
		t, err := h.Contracts.OnTransferChange(r.Context(), peer.ParticipantID, pid, c.msg, msg.text())
		if err != nil {
			return fail(err)
		}
		writeJSON(w, 200, transferAck(msg.ProviderPID, pid, t.State))
		return nil
	}
}

func (h *Handler) callbackTransferStart(w http.ResponseWriter, r *http.Request, peer Peer, body []byte) error {
	var msg struct {
		envelope
		DataAddress struct {
			EndpointType string `json:"endpointType"`
			Endpoint     string `json:"endpoint"`
			Properties   []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"endpointProperties"`
		} `json:"dataAddress"`
	}
	pid := r.PathValue("pid")
	fail := func(err error) error { return negError{err, msg.ProviderPID, pid, "TransferError"} }
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "TransferStartMessage" || msg.ConsumerPID != pid {
		return fail(dx.Errorf(dx.EInvalid, "需要 TransferStartMessage / expected a TransferStartMessage for %s", pid))
	}
	props := map[string]string{}
	for _, p := range msg.DataAddress.Properties {
		props[p.Name] = p.Value
	}
	// A peer that does not say when its token expires (not a dx node) is assumed to grant
	// dx's own token lifetime; the data plane refuses an expired token anyway.
	expires, err := h.Clock.Now().Add(contract.TokenTTL), error(nil)
	if v, ok := props[extExpiresAt]; ok {
		expires, err = time.Parse(time.RFC3339, v)
	}
	if msg.DataAddress.EndpointType != EndpointTypeHTTP || msg.DataAddress.Endpoint == "" || props["authorization"] == "" || !strings.EqualFold(props["authType"], "bearer") || err != nil {
		return fail(dx.Errorf(dx.EInvalid, "数据地址不完整 / the data address lacks endpoint, authorization or authType bearer, or has an invalid expiresAt"))
	}
	t, err := h.Contracts.OnTransferStart(r.Context(), peer.ParticipantID, pid, msg.ProviderPID, msg.DataAddress.Endpoint, props["authorization"], expires)
	if err != nil {
		return fail(err)
	}
	writeJSON(w, 200, transferAck(msg.ProviderPID, pid, t.State))
	return nil
}

// Transfer asks a peer, for the calling organisation, to start a pull transfer under an
// agreement negotiated with it; the data address arrives in the peer's start message.
func (h *Handler) Transfer(ctx context.Context, participant, agreementID string) (contract.RemoteTransfer, error) {
	peer, ok := h.peer(participant)
	if !ok {
		return contract.RemoteTransfer{}, dx.Errorf(dx.ENotFound, "未配置的对端 %q / no trusted peer %q", participant, participant)
	}
	t, err := h.Contracts.StartRemoteTransfer(ctx, participant, agreementID)
	if err != nil {
		return t, err
	}
	msg := map[string]any{"@context": []string{Context}, "@type": "TransferRequestMessage", "consumerPid": t.ConsumerPID, "agreementId": agreementID,
		"format": FormatPull, "callbackAddress": h.PublicURL + BasePath + "/callback"}
	var answer struct {
		ProviderPID string `json:"providerPid"`
	}
	sendErr := h.client().Do(ctx, peer, "POST", "/transfers/request", msg, &answer)
	// the outcome and its audit record in one unit
	err = h.Atomically(ctx, func(ctx context.Context) error {
		h.record(ctx, "dsp.out", peer.URL+BasePath+"/transfers/request", peer.ParticipantID, mustMarshal(msg), sendErr)
		var err error
		if sendErr != nil {
			t, err = h.Contracts.RemoteTransferFailed(ctx, t, dx.ErrorMessage(sendErr))
		} else {
			t, err = h.Contracts.RemoteTransferAcked(ctx, t, answer.ProviderPID)
		}
		return err
	})
	if sendErr != nil {
		return t, sendErr
	}
	return t, err
}

// ChangeTransferWithPeer suspends, resumes, completes or terminates, for the calling
// organisation, a transfer from a peer and tells the peer (a resumption is a
// TransferStartMessage to the provider, which answers with a new data address).
func (h *Handler) ChangeTransferWithPeer(ctx context.Context, consumerPID, action, reason string) (contract.RemoteTransfer, error) {
	var t contract.RemoteTransfer
	err := h.Atomically(ctx, func(ctx context.Context) error {
		var m contract.TransferMessage
		var err error
		if t, m, err = h.Contracts.RemoteChangeTransfer(ctx, consumerPID, action, reason); err != nil {
			return err
		}
		peer, ok := h.peer(t.Peer)
		if !ok || t.ProviderPID == "" {
			return nil // nobody to tell: the peer is no longer trusted or never answered
		}
		kind := map[contract.TransferMessage]string{contract.TMsgStart: "start", contract.TMsgSuspension: "suspension",
			contract.TMsgCompletion: "completion", contract.TMsgTermination: "termination"}[m]
		msg := map[string]any{"@context": []string{Context}, "@type": string(m), "providerPid": t.ProviderPID, "consumerPid": t.ConsumerPID}
		if (kind == "suspension" || kind == "termination") && t.Reason != "" {
			msg["reason"] = []string{t.Reason}
		}
		return h.dispatch(ctx, strings.TrimRight(peer.URL, "/")+BasePath+"/transfers/"+t.ProviderPID+"/"+kind, msg)
	})
	return t, err
}

// callbackTransferGet answers a provider's GET of a consumer-side transfer.
func (h *Handler) callbackTransferGet(w http.ResponseWriter, r *http.Request, peer Peer, _ []byte) error {
	pid := r.PathValue("pid")
	t, err := h.Contracts.Store.RemoteTransfer(r.Context(), pid)
	if err != nil || t.Peer != peer.ParticipantID {
		return negError{dx.Errorf(dx.ENotFound, "传输不存在 / transfer not found"), "urn:dx:unknown", pid, "TransferError"}
	}
	provider := t.ProviderPID
	if provider == "" {
		provider = "urn:dx:unknown"
	}
	writeJSON(w, 200, transferAck(provider, pid, t.State))
	return nil
}

// Pull streams a started transfer's data from the peer's data plane to w (the consumer
// pulls through its own node, which holds the token).
func (h *Handler) Pull(ctx context.Context, t contract.RemoteTransfer, format string, w http.ResponseWriter) error {
	if t.State != contract.TransferStarted || t.Endpoint == "" || !time.Now().Before(t.ExpiresAt) {
		return dx.Errorf(dx.EConflict, "传输未开始或令牌已过期 / the transfer has not started or its token expired (state %s)", t.State)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", t.Endpoint+"?format="+format, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.Token)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return dx.Wrap(err, dx.EInternal, "无法连接对端数据平面 / cannot reach the peer's data plane")
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return dx.Errorf(dx.EForbidden, "对端拒绝提供数据 / the peer's data plane answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Disposition", "ETag", "X-Dx-Version"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, err = io.Copy(w, resp.Body)
	return err
}

// NotifyTransfer queues the message telling a remote consumer what its provider-side
// transfer t just did through the management API: a new start (with the new data
// address), a suspension, a completion or a termination. Local transfers need nothing.
func (h *Handler) NotifyTransfer(ctx context.Context, t contract.Transfer, addr contract.DataAddress) error {
	if t.Callback == "" {
		return nil
	}
	if t.State == contract.TransferStarted {
		if addr.Token != "" {
			return h.sendStart(ctx, t, addr)
		}
		return nil
	}
	kind := map[contract.TransferState]string{contract.TransferSuspended: "suspension", contract.TransferCompleted: "completion", contract.TransferTerminated: "termination"}[t.State]
	if kind == "" {
		return nil
	}
	msg := map[string]any{"@context": []string{Context}, "@type": transferChanges[kind].typ, "providerPid": t.ID, "consumerPid": t.ConsumerPID}
	if kind != "completion" && t.Reason != "" {
		msg["reason"] = []string{t.Reason}
	}
	return h.dispatch(ctx, t.Callback+"/transfers/"+t.ConsumerPID+"/"+kind, msg)
}
