package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

// contractRoutes are the offer, negotiation and agreement operations.
func (a *API) contractRoutes() []Route {
	if a.Contracts == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/assets/{id}/offers", Summary: "List an asset's offers (ODRL usage policies)", Auth: true, Response: "json", handler: a.listOffers},
		{Method: "POST", Path: "/api/v1/assets/{id}/offers", Summary: "Make an offer on one's asset: {policy, auto_approve}", Auth: true, Body: "json", Response: "json", handler: a.createOffer},
		{Method: "GET", Path: "/api/v1/negotiations", Summary: "List the caller's contract negotiations", Auth: true, Response: "json", handler: a.listNegotiations},
		{Method: "POST", Path: "/api/v1/negotiations", Summary: "Request a contract: {offer_id, terms?, consumer_pid?}; terms must equal or narrow the offer", Auth: true, Body: "json", Response: "json", handler: a.requestContract},
		{Method: "GET", Path: "/api/v1/negotiations/{id}", Summary: "Show a negotiation", Auth: true, Response: "json", handler: a.getNegotiation},
		{Method: "POST", Path: "/api/v1/negotiations/{id}/approve", Summary: "Agree to a requested contract (provider); both parties sign", Auth: true, Response: "json", handler: a.approveNegotiation},
		{Method: "POST", Path: "/api/v1/negotiations/{id}/offer", Summary: "Counter-offer other terms to a requested contract (provider): {policy}", Auth: true, Body: "json", Response: "json", handler: a.counterOffer},
		{Method: "POST", Path: "/api/v1/negotiations/{id}/request", Summary: "Answer the provider's offer with other terms (consumer): {policy}", Auth: true, Body: "json", Response: "json", handler: a.counterRequest},
		{Method: "POST", Path: "/api/v1/negotiations/{id}/accept", Summary: "Accept the provider's offer (consumer); the provider then approves", Auth: true, Response: "json", handler: a.acceptOffer},
		{Method: "POST", Path: "/api/v1/negotiations/{id}/terminate", Summary: "Terminate a negotiation with a reason (either party)", Auth: true, Body: "json", Response: "json", handler: a.terminateNegotiation},
		{Method: "GET", Path: "/api/v1/agreements", Summary: "List the caller's agreements with their use counts", Auth: true, Response: "json", handler: a.listAgreements},
		{Method: "GET", Path: "/api/v1/agreements/{id}", Summary: "Show an agreement with its signed document", Auth: true, Response: "json", handler: a.getAgreement},
		{Method: "GET", Path: "/api/v1/agreements/{id}/document", Summary: "The signed agreement document (for dx agreement verify)", Auth: true, Response: "json", handler: a.agreementDocument},
		{Method: "POST", Path: "/api/v1/agreements/{id}/revoke", Summary: "Revoke an agreement (provider), effective immediately", Auth: true, Body: "json", Response: "json", handler: a.revokeAgreement},
		{Method: "GET", Path: "/api/v1/obligations", Summary: "The duties of the caller's agreements (delete after the agreement ends) with their status: pending, due, overdue, fulfilled", Auth: true, Response: "json", handler: a.listObligations},
		{Method: "POST", Path: "/api/v1/agreements/{id}/deleted", Summary: "Attest that the copies received under an agreement were deleted (consumer): {note}", Auth: true, Body: "json", Response: "json", handler: a.attestDeleted},
		{Method: "GET", Path: "/api/v1/transfers", Summary: "List the caller's transfer processes", Auth: true, Response: "json", handler: a.listTransfers},
		{Method: "POST", Path: "/api/v1/transfers", Summary: "Request a pull transfer under an agreement: {agreement_id, format?, purpose?, consumer_pid?}; counts one use; returns a data address with a token shown once", Auth: true, Body: "json", Response: "json", handler: a.requestTransfer},
		{Method: "GET", Path: "/api/v1/transfers/{id}", Summary: "Show a transfer process", Auth: true, Response: "json", handler: a.getTransfer},
		{Method: "POST", Path: "/api/v1/transfers/{id}/{action}", Summary: "Suspend, resume, complete or terminate a transfer: {reason?}; resume returns a new data address", Auth: true, Body: "json", Response: "json", handler: a.changeTransfer},
		{Method: "GET", Path: "/api/v1/transfers/{id}/data", Summary: "Data plane: pull a started transfer's data with its transfer token (Authorization: Bearer dxt_…); Range supported", Query: []string{"format"}, Response: "stream", handler: a.transferData},
	}
}

// OfferView is an offer with its policy in the compact DSP form.
type OfferView struct {
	contract.Offer
	Policy map[string]any `json:"policy"`
}

func offerView(o contract.Offer) OfferView { return OfferView{Offer: o, Policy: policy.JSON(o.Policy)} }

// NegotiationView is a negotiation with its terms.
type NegotiationView struct {
	contract.Negotiation
	Terms map[string]any `json:"terms"`
}

func negotiationView(n contract.Negotiation) NegotiationView {
	return NegotiationView{Negotiation: n, Terms: policy.JSON(n.Terms)}
}

// AgreementView is an agreement record with its signed document.
type AgreementView struct {
	contract.Record
	Document contract.Agreement `json:"document"`
}

func (a *API) listOffers(w http.ResponseWriter, r *http.Request) error {
	os, err := a.Contracts.Offers(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]OfferView, len(os))
	for i, o := range os {
		out[i] = offerView(o)
	}
	writeJSON(w, 200, map[string]any{"offers": out})
	return nil
}

func (a *API) createOffer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Policy      json.RawMessage `json:"policy"`
		AutoApprove bool            `json:"auto_approve"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	o, err := a.Contracts.CreateOffer(r.Context(), r.PathValue("id"), req.Policy, req.AutoApprove)
	if err != nil {
		return err
	}
	writeJSON(w, 201, offerView(o))
	return nil
}

func (a *API) listNegotiations(w http.ResponseWriter, r *http.Request) error {
	ns, err := a.Contracts.Negotiations(r.Context())
	if err != nil {
		return err
	}
	out := make([]NegotiationView, len(ns))
	for i, n := range ns {
		out[i] = negotiationView(n)
	}
	writeJSON(w, 200, map[string]any{"negotiations": out})
	return nil
}

func (a *API) requestContract(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		OfferID     string          `json:"offer_id"`
		Terms       json.RawMessage `json:"terms,omitempty"`
		ConsumerPID string          `json:"consumer_pid,omitempty"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	n, err := a.Contracts.Request(r.Context(), req.OfferID, req.Terms, req.ConsumerPID)
	if err != nil {
		return err
	}
	writeJSON(w, 201, negotiationView(n))
	return nil
}

func (a *API) getNegotiation(w http.ResponseWriter, r *http.Request) error {
	n, err := a.Contracts.Negotiation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, negotiationView(n))
	return nil
}

func (a *API) approveNegotiation(w http.ResponseWriter, r *http.Request) error {
	return a.step(w, r, func(ctx context.Context) (contract.Negotiation, error) {
		return a.Contracts.Approve(ctx, r.PathValue("id"))
	})
}

func (a *API) terminateNegotiation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	return a.step(w, r, func(ctx context.Context) (contract.Negotiation, error) {
		return a.Contracts.Terminate(ctx, r.PathValue("id"), req.Reason)
	})
}

func (a *API) listAgreements(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.Contracts.Agreements(r.Context())
	if err != nil {
		return err
	}
	out := make([]AgreementView, len(rs))
	for i, rec := range rs {
		out[i] = AgreementView{Record: rec, Document: rec.Agreement}
	}
	writeJSON(w, 200, map[string]any{"agreements": out})
	return nil
}

func (a *API) getAgreement(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.Contracts.Agreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, AgreementView{Record: rec, Document: rec.Agreement})
	return nil
}

func (a *API) agreementDocument(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.Contracts.Agreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, rec.Agreement)
	return nil
}

func (a *API) revokeAgreement(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if err := a.Contracts.Revoke(r.Context(), r.PathValue("id"), req.Reason); err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"revoked": r.PathValue("id")})
	return nil
}

// TransferView is a transfer, with a data address when one was just issued.
type TransferView struct {
	contract.Transfer
	DataAddress *contract.DataAddress `json:"data_address,omitempty"`
}

func transferView(t contract.Transfer, addr contract.DataAddress) TransferView {
	v := TransferView{Transfer: t}
	if addr.Token != "" {
		v.DataAddress = &addr
	}
	return v
}

func (a *API) listTransfers(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.Contracts.Transfers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"transfers": ts})
	return nil
}

func (a *API) requestTransfer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		AgreementID string `json:"agreement_id"`
		Format      string `json:"format,omitempty"`
		Purpose     string `json:"purpose,omitempty"`
		ConsumerPID string `json:"consumer_pid,omitempty"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	t, addr, err := a.Contracts.RequestTransfer(r.Context(), req.AgreementID, req.Format, req.Purpose, req.ConsumerPID)
	if err != nil {
		return err
	}
	writeJSON(w, 201, transferView(t, addr))
	return nil
}

func (a *API) getTransfer(w http.ResponseWriter, r *http.Request) error {
	t, err := a.Contracts.Transfer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, t)
	return nil
}

func (a *API) changeTransfer(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
	}
	var t contract.Transfer
	var addr contract.DataAddress
	err := a.atomically(r.Context(), func(ctx context.Context) (err error) {
		if t, addr, err = a.Contracts.ChangeTransfer(ctx, r.PathValue("id"), r.PathValue("action"), req.Reason); err != nil || a.NotifyTransfer == nil {
			return err
		}
		return a.NotifyTransfer(ctx, t, addr)
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, transferView(t, addr))
	return nil
}

// transferData is the data plane of pull transfers: the transfer token, not an API
// token, authorises; the use was counted when the transfer started.
func (a *API) transferData(w http.ResponseWriter, r *http.Request) error {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	t, err := a.Contracts.OpenTransfer(r.Context(), r.PathValue("id"), strings.TrimSpace(token))
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	v, err := a.Assets.Store.Version(r.Context(), t.AssetID, t.Version)
	if err != nil {
		return err
	}
	to := asset.Recipient{Owner: t.ConsumerID == t.ProviderID, OrgID: t.ConsumerID, Purpose: t.Purpose}
	if org, err := a.Parties.Store.Org(r.Context(), t.ConsumerID); err == nil {
		to.Country = org.Country
	}
	if rec, err := a.Contracts.Store.Agreement(r.Context(), t.AgreementID); err == nil {
		to.Pseudonymise = policy.RequiresAnonymize(rec.Agreement.Policy)
	}
	f, _, err := a.Assets.Egress(r.Context(), v, format, to)
	if err != nil {
		return err
	}
	defer f.Close()
	serveVersion(w, r, f, v, format)
	return nil
}

func (a *API) counterOffer(w http.ResponseWriter, r *http.Request) error {
	return a.newTerms(w, r, a.Contracts.CounterOffer)
}

func (a *API) counterRequest(w http.ResponseWriter, r *http.Request) error {
	return a.newTerms(w, r, a.Contracts.Counter)
}

// newTerms answers a negotiation step that brings new terms ({"policy": …}).
func (a *API) newTerms(w http.ResponseWriter, r *http.Request, step func(ctx context.Context, id string, raw []byte) (contract.Negotiation, error)) error {
	var req struct {
		Policy json.RawMessage `json:"policy"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	return a.step(w, r, func(ctx context.Context) (contract.Negotiation, error) {
		return step(ctx, r.PathValue("id"), req.Policy)
	})
}

func (a *API) acceptOffer(w http.ResponseWriter, r *http.Request) error {
	return a.step(w, r, func(ctx context.Context) (contract.Negotiation, error) {
		return a.Contracts.Accept(ctx, r.PathValue("id"))
	})
}

// step runs a negotiation step and queues the message that tells a remote consumer what
// changed (the offer, the agreement, the termination) as one unit of work, then answers;
// for local negotiations Notify queues nothing.
func (a *API) step(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context) (contract.Negotiation, error)) error {
	var n contract.Negotiation
	err := a.atomically(r.Context(), func(ctx context.Context) (err error) {
		if n, err = fn(ctx); err != nil || a.Notify == nil {
			return err
		}
		return a.Notify(ctx, n)
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, negotiationView(n))
	return nil
}

// atomically runs fn as one unit of work where the API has them.
func (a *API) atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if a.Atomically == nil {
		return fn(ctx)
	}
	return a.Atomically(ctx, fn)
}

func (a *API) listObligations(w http.ResponseWriter, r *http.Request) error {
	os, err := a.Contracts.Obligations(r.Context())
	if err != nil {
		return err
	}
	if os == nil {
		os = []contract.Obligation{}
	}
	writeJSON(w, 200, map[string]any{"obligations": os})
	return nil
}

func (a *API) attestDeleted(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Note string `json:"note"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if err := a.Contracts.FulfilDelete(r.Context(), r.PathValue("id"), req.Note); err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"fulfilled": "odrl:delete", "agreement_id": r.PathValue("id")})
	return nil
}
