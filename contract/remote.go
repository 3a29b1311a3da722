package contract

import (
	"context"
	"crypto/ed25519"
	"slices"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/policy"
)

// Node is this connector's identity in the dataspace: it signs agreements with remote
// participants.
type Node struct {
	Participant string
	Key         ed25519.PrivateKey
}

// RemoteNegotiation is, on the consumer's node, a negotiation with a provider's
// connector on behalf of a local organisation.
type RemoteNegotiation struct {
	ConsumerPID string        `json:"consumer_pid"`
	OrgID       string        `json:"org_id"`
	Peer        string        `json:"peer"` // the provider's participant ID
	ProviderPID string        `json:"provider_pid,omitempty"`
	DatasetID   string        `json:"dataset_id"`
	OfferID     string        `json:"offer_id"`
	State       State         `json:"state"`
	Terms       policy.Policy `json:"-"`
	Agreement   *Agreement    `json:"-"`
	Reason      string        `json:"reason,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// RemoteStore is the persistence port of cross-node negotiations (part of Store).
type RemoteStore interface {
	// PeerOrg returns (creating on first use) the organisation standing for a peer
	// participant, with its attested country ("" for mainland China) kept current.
	PeerOrg(ctx context.Context, participant string, pub ed25519.PublicKey, country string, at time.Time) (string, error)
	ReplaceAgreementDocument(ctx context.Context, id string, a Agreement, events []dx.Event) error
	CreateRemote(ctx context.Context, r RemoteNegotiation, events []dx.Event) error
	Remote(ctx context.Context, consumerPID string) (RemoteNegotiation, error)
	// RemoteNegotiations lists an organisation's negotiations with peers ("" for all).
	RemoteNegotiations(ctx context.Context, orgID string) ([]RemoteNegotiation, error)
	// RemoteByAgreement finds an organisation's negotiation with a peer by its agreement ID.
	RemoteByAgreement(ctx context.Context, orgID, agreementID string) (RemoteNegotiation, error)
	// SetRemoteProviderPID records the provider's process ID if none is recorded yet.
	SetRemoteProviderPID(ctx context.Context, consumerPID, providerPID string) error
	// UpdateRemote moves r from state `from` (EConflict if no longer there).
	UpdateRemote(ctx context.Context, r RemoteNegotiation, from State, events []dx.Event) error
	// UpdateRemoteTerms is UpdateRemote that also replaces the terms (an offer from the peer).
	UpdateRemoteTerms(ctx context.Context, r RemoteNegotiation, from State, events []dx.Event) error
}

// ProviderPID is the DSP process ID of a provider-side negotiation: an absolute IRI.
func ProviderPID(n Negotiation) string { return "urn:dx:negotiation:" + n.ID }

// NegotiationID reads a ProviderPID back.
func NegotiationID(pid string) (string, bool) {
	id, ok := strings.CutPrefix(pid, "urn:dx:negotiation:")
	return id, ok && dx.ValidID("neg", id)
}

// PeerRequest handles a peer's initial ContractRequestMessage on the provider's node:
// the offer must be live and about target, the terms must equal or narrow it. With an
// auto-approve offer the agreement is made and signed by this node at once (state
// AGREED) and returned, for the caller to send to the consumer's callback. A repeated
// request (same peer and consumerPID) returns the existing negotiation.
func (s *Service) PeerRequest(ctx context.Context, node Node, peer string, peerKey ed25519.PublicKey, consumerPID, target, callback string, terms policy.Policy) (n Negotiation, rec *Record, err error) {
	defer dx.WrapOp(&err, "contract.PeerRequest")
	now := s.now()
	orgID, err := s.peerOrg(ctx, peer, peerKey, now)
	if err != nil {
		return n, nil, err
	}
	if prior, err := s.Store.NegotiationByConsumerPID(ctx, orgID, consumerPID); err == nil {
		return prior, nil, nil
	}
	o, err := s.Store.Offer(ctx, terms.ID)
	if err != nil || o.WithdrawnAt != nil {
		return n, nil, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "unknown-offer"}, Message: "报价不存在 / unknown offer " + terms.ID}
	}
	if target != AssetTarget(o.AssetID) {
		return n, nil, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "target-mismatch"}, Message: "报价不属于该数据集 / the offer is not for target " + target}
	}
	if ok, why := policy.Narrows(terms, o.Policy); !ok {
		return n, nil, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "policy-mismatch", "pointer": why}, Message: "请求的条款超出报价 / the requested terms go beyond the offer at " + why}
	}
	terms.Target = ""
	n = Negotiation{ID: dx.NewID("neg", now), ConsumerPID: consumerPID, OfferID: o.ID, AssetID: o.AssetID, ProviderID: o.ProviderID,
		ConsumerID: orgID, State: Requested, Terms: terms, Callback: callback, CreatedAt: now, UpdatedAt: now}
	events := []dx.Event{dx.NewEvent(now, dx.Principal{OrgID: orgID}, "negotiation.requested", n.ID, map[string]any{"offer": o.ID, "peer": peer, "terms_sha256": policy.Digest(terms)})}
	if o.AutoApprove {
		var ev dx.Event
		if rec, ev, err = agreeWithPeer(&n, node, peer, target, now); err != nil {
			return n, nil, err
		}
		events = append(events, ev)
	}
	if err := s.Store.CreateNegotiation(ctx, n, rec, events); err != nil {
		return Negotiation{}, nil, err
	}
	return n, rec, nil
}

// agreeWithPeer makes the agreement for a negotiation with a remote consumer, signed by
// this node (the consumer's node countersigns with its verification), and moves n to AGREED.
func agreeWithPeer(n *Negotiation, node Node, peer, target string, now time.Time) (*Record, dx.Event, error) {
	agreement := n.Terms
	agreement.ID, agreement.Type = NewUUID(), "Agreement"
	agreement.Target, agreement.Assigner, agreement.Assignee = target, node.Participant, peer
	agreement.Timestamp = now.Format(time.RFC3339)
	a := Agreement{Policy: agreement}
	if err := a.Sign(node.Participant, node.Key); err != nil {
		return nil, dx.Event{}, err
	}
	n.State, n.AgreementID, n.UpdatedAt = Agreed, agreement.ID, now
	rec := &Record{ID: agreement.ID, NegotiationID: n.ID, AssetID: n.AssetID, ProviderID: n.ProviderID, ConsumerID: n.ConsumerID,
		Agreement: a, Digest: policy.Digest(agreement), CreatedAt: now}
	ev := dx.NewEvent(now, dx.Principal{OrgID: n.ProviderID}, "negotiation.agreed", n.ID, map[string]any{"agreement": agreement.ID, "terms_sha256": rec.Digest})
	return rec, ev, nil
}

// PeerTerminate handles a remote consumer's termination on the provider's node.
func (s *Service) PeerTerminate(ctx context.Context, peer string, peerKey ed25519.PublicKey, providerPID, reason string) (n Negotiation, err error) {
	id, ok := NegotiationID(providerPID)
	if !ok {
		return n, notFound("negotiation", providerPID)
	}
	if n, err = s.Store.Negotiation(ctx, id); err != nil {
		return n, notFound("negotiation", providerPID)
	}
	orgID, err := s.peerOrg(ctx, peer, peerKey, s.now())
	if err != nil || n.ConsumerID != orgID {
		return Negotiation{}, notFound("negotiation", providerPID)
	}
	from := n.State
	next, err := Next(from, MsgTermination)
	if err != nil || next == from {
		return n, err
	}
	n.State, n.Reason, n.UpdatedAt = next, reason, s.now()
	ev := dx.NewEvent(n.UpdatedAt, dx.Principal{OrgID: orgID}, "negotiation.terminated", n.ID, map[string]any{"by": peer, "reason": reason})
	return n, s.Store.UpdateNegotiation(ctx, n, from, nil, []dx.Event{ev})
}

// OnTerminated handles the provider's termination on the consumer's node.
func (s *Service) OnTerminated(ctx context.Context, peer, consumerPID, reason string) (r RemoteNegotiation, err error) {
	if r, err = s.Store.Remote(ctx, consumerPID); err != nil || r.Peer != peer {
		return RemoteNegotiation{}, notFound("negotiation", consumerPID)
	}
	return s.terminateRemote(ctx, r, reason)
}

// RemoteTerminate ends, for the calling organisation, a negotiation with a peer; the
// caller then tells the peer.
func (s *Service) RemoteTerminate(ctx context.Context, consumerPID, reason string) (RemoteNegotiation, error) {
	r, err := s.RemoteNegotiation(ctx, consumerPID)
	if err != nil {
		return r, err
	}
	return s.terminateRemote(ctx, r, reason)
}

func (s *Service) terminateRemote(ctx context.Context, r RemoteNegotiation, reason string) (RemoteNegotiation, error) {
	from := r.State
	next, err := Next(from, MsgTermination)
	if err != nil || next == from {
		return r, err
	}
	r.State, r.Reason, r.UpdatedAt = next, reason, s.now()
	ev := dx.NewEvent(r.UpdatedAt, dx.Principal{OrgID: r.OrgID}, "remote.terminated", r.ConsumerPID, map[string]any{"reason": reason})
	return r, s.Store.UpdateRemote(ctx, r, from, []dx.Event{ev})
}

// PeerVerify handles the consumer's verification on the provider's node: its signature
// over the agreement is checked with the peer's key and stored, and the negotiation is
// FINALIZED (the caller then sends the FINALIZED event).
func (s *Service) PeerVerify(ctx context.Context, node Node, peer string, peerKey ed25519.PublicKey, providerPID string, sig Signature) (n Negotiation, err error) {
	defer dx.WrapOp(&err, "contract.PeerVerify")
	id, ok := NegotiationID(providerPID)
	if !ok {
		return n, notFound("negotiation", providerPID)
	}
	if n, err = s.Store.Negotiation(ctx, id); err != nil {
		return n, err
	}
	orgID, err := s.peerOrg(ctx, peer, peerKey, s.now())
	if err != nil || n.ConsumerID != orgID {
		return Negotiation{}, notFound("negotiation", providerPID)
	}
	if _, err := Next(n.State, MsgVerification); err != nil {
		return n, err
	}
	rec, err := s.Store.Agreement(ctx, n.AgreementID)
	if err != nil {
		return n, err
	}
	a := rec.Agreement
	a.Signatures = append(a.Signatures, sig)
	keys := map[string]ed25519.PublicKey{node.Participant: node.Key.Public().(ed25519.PublicKey), peer: peerKey}
	if err := a.Verify(keys); err != nil {
		return n, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "invalid-signature"}, Message: dx.ErrorMessage(err)}
	}
	now := s.now()
	if err := s.Store.ReplaceAgreementDocument(ctx, rec.ID, a, []dx.Event{dx.NewEvent(now, dx.Principal{OrgID: orgID}, "agreement.signed", rec.ID, map[string]any{"party": peer})}); err != nil {
		return n, err
	}
	from := n.State
	n.State, n.UpdatedAt = Finalized, now
	events := []dx.Event{
		dx.NewEvent(now, dx.Principal{OrgID: orgID}, "negotiation.verified", n.ID, map[string]any{"agreement": rec.ID}),
		dx.NewEvent(now, dx.Principal{OrgID: n.ProviderID}, "negotiation.finalized", n.ID, map[string]any{"agreement": rec.ID}),
		dx.NewEvent(now, dx.Principal{OrgID: n.ProviderID}, "agreement.create", rec.ID, map[string]any{"negotiation": n.ID, "asset": n.AssetID,
			"provider": n.ProviderID, "consumer": orgID, "terms_sha256": rec.Digest}),
	}
	return n, s.Store.UpdateNegotiation(ctx, n, from, nil, events)
}

// StartRemote records, on the consumer's node, a new negotiation with a peer for the
// calling organisation (the caller then sends the request).
func (s *Service) StartRemote(ctx context.Context, peer, datasetID string, terms policy.Policy) (r RemoteNegotiation, err error) {
	defer dx.WrapOp(&err, "contract.StartRemote")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return r, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return r, err
	}
	now := s.now()
	r = RemoteNegotiation{ConsumerPID: NewUUID(), OrgID: p.OrgID, Peer: peer, DatasetID: datasetID, OfferID: terms.ID,
		State: Requested, Terms: terms, CreatedAt: now, UpdatedAt: now}
	ev := dx.NewEvent(now, p, "remote.requested", r.ConsumerPID, map[string]any{"peer": peer, "dataset": datasetID, "offer": terms.ID, "terms_sha256": policy.Digest(terms)})
	return r, s.Store.CreateRemote(ctx, r, []dx.Event{ev})
}

// RemoteAcked records the provider's process ID, from its answer to the request or from
// its first message (whichever comes first: the agreement may overtake the answer), and
// returns the negotiation as stored.
func (s *Service) RemoteAcked(ctx context.Context, r RemoteNegotiation, providerPID string) (RemoteNegotiation, error) {
	if err := s.Store.SetRemoteProviderPID(ctx, r.ConsumerPID, providerPID); err != nil {
		return r, err
	}
	return s.Store.Remote(ctx, r.ConsumerPID)
}

// RemoteFailed terminates a remote negotiation whose message the peer refused.
func (s *Service) RemoteFailed(ctx context.Context, r RemoteNegotiation, reason string) (RemoteNegotiation, error) {
	return s.terminateRemote(ctx, r, reason)
}

// OnAgreement handles the provider's ContractAgreementMessage on the consumer's node:
// the agreement must name the dataset, this node as assignee and the peer as assigner,
// carry exactly the requested terms and the peer's valid signature. This node signs and
// the negotiation becomes VERIFIED; the caller sends the verification with the returned
// signature.
func (s *Service) OnAgreement(ctx context.Context, node Node, peer string, peerKey ed25519.PublicKey, consumerPID string, a Agreement) (r RemoteNegotiation, sig Signature, err error) {
	defer dx.WrapOp(&err, "contract.OnAgreement")
	if r, err = s.Store.Remote(ctx, consumerPID); err != nil || r.Peer != peer {
		return RemoteNegotiation{}, sig, notFound("negotiation", consumerPID)
	}
	if _, err := Next(r.State, MsgAgreement); err != nil {
		return r, sig, err
	}
	mismatch := func(what string) error {
		return &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "policy-mismatch"}, Message: "协议与请求不符 / the agreement does not match the request: " + what}
	}
	p := a.Policy
	switch {
	case p.Target != r.DatasetID:
		return r, sig, mismatch("target")
	case p.Assignee != node.Participant:
		return r, sig, mismatch("assignee")
	case p.Assigner != peer:
		return r, sig, mismatch("assigner")
	case policy.Digest(p) != policy.Digest(r.Terms):
		return r, sig, mismatch("terms differ at " + policy.FirstDifference(p, r.Terms))
	}
	if ts, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil || ts.After(s.now().Add(5*time.Minute)) {
		return r, sig, mismatch("timestamp")
	}
	if !slices.ContainsFunc(a.Signatures, func(sg Signature) bool { return sg.Party == peer && ed25519.PublicKey(sg.PublicKey).Equal(peerKey) }) {
		return r, sig, mismatch("no signature of the provider")
	}
	if err := a.Sign(node.Participant, node.Key); err != nil {
		return r, sig, err
	}
	if err := a.Verify(map[string]ed25519.PublicKey{peer: peerKey, node.Participant: node.Key.Public().(ed25519.PublicKey)}); err != nil {
		return r, sig, mismatch(dx.ErrorMessage(err))
	}
	sig = a.Signatures[len(a.Signatures)-1]
	from := r.State
	r.State, r.Agreement, r.UpdatedAt = Verified, &a, s.now()
	ev := dx.NewEvent(r.UpdatedAt, dx.Principal{OrgID: r.OrgID}, "remote.verified", r.ConsumerPID, map[string]any{"agreement": p.ID, "terms_sha256": policy.Digest(p)})
	return r, sig, s.Store.UpdateRemote(ctx, r, from, []dx.Event{ev})
}

// OnFinalized handles the provider's FINALIZED event on the consumer's node.
func (s *Service) OnFinalized(ctx context.Context, peer, consumerPID string) (r RemoteNegotiation, err error) {
	if r, err = s.Store.Remote(ctx, consumerPID); err != nil || r.Peer != peer {
		return RemoteNegotiation{}, notFound("negotiation", consumerPID)
	}
	from := r.State
	next, err := Next(from, MsgFinalized)
	if err != nil {
		return r, err
	}
	r.State, r.UpdatedAt = next, s.now()
	ev := dx.NewEvent(r.UpdatedAt, dx.Principal{OrgID: r.OrgID}, "remote.finalized", r.ConsumerPID, map[string]any{"agreement": r.Agreement.Policy.ID})
	return r, s.Store.UpdateRemote(ctx, r, from, []dx.Event{ev})
}

// RemoteNegotiations lists the caller's negotiations with peers.
func (s *Service) RemoteNegotiations(ctx context.Context) ([]RemoteNegotiation, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.Store.RemoteNegotiations(ctx, p.ListScope())
}

// RemoteNegotiation returns one of the caller's negotiations with peers.
func (s *Service) RemoteNegotiation(ctx context.Context, consumerPID string) (RemoteNegotiation, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return RemoteNegotiation{}, err
	}
	r, err := s.Store.Remote(ctx, consumerPID)
	if err != nil || (r.OrgID != p.OrgID && !p.SeesAll()) {
		return RemoteNegotiation{}, notFound("negotiation", consumerPID)
	}
	return r, nil
}

// PeerAccept handles a remote consumer's ACCEPTED event on the provider's node: it
// accepts the provider's last offer, so the agreement on those terms is made and signed
// at once (ACCEPTED → AGREED) and returned for the caller to send.
func (s *Service) PeerAccept(ctx context.Context, node Node, peer string, peerKey ed25519.PublicKey, providerPID string) (n Negotiation, rec *Record, err error) {
	defer dx.WrapOp(&err, "contract.PeerAccept")
	if n, err = s.peerNegotiation(ctx, peer, peerKey, providerPID); err != nil {
		return n, nil, err
	}
	from := n.State
	if _, err := Next(from, MsgAccepted); err != nil {
		return n, nil, err
	}
	now := s.now()
	accepted := dx.NewEvent(now, dx.Principal{OrgID: n.ConsumerID}, "negotiation.accepted", n.ID, map[string]any{"by": peer})
	rec, agreed, err := agreeWithPeer(&n, node, peer, AssetTarget(n.AssetID), now)
	if err != nil {
		return n, nil, err
	}
	return n, rec, s.Store.UpdateNegotiation(ctx, n, from, rec, []dx.Event{accepted, agreed})
}

// peerNegotiation loads a provider-side negotiation whose consumer is the peer.
func (s *Service) peerNegotiation(ctx context.Context, peer string, peerKey ed25519.PublicKey, providerPID string) (Negotiation, error) {
	id, ok := NegotiationID(providerPID)
	if !ok {
		return Negotiation{}, notFound("negotiation", providerPID)
	}
	n, err := s.Store.Negotiation(ctx, id)
	if err != nil {
		return Negotiation{}, notFound("negotiation", providerPID)
	}
	orgID, err := s.peerOrg(ctx, peer, peerKey, s.now())
	if err != nil || n.ConsumerID != orgID {
		return Negotiation{}, notFound("negotiation", providerPID)
	}
	return n, nil
}

// OnOffer handles the provider's offer on the consumer's node (REQUESTED → OFFERED): the
// offered terms replace the requested ones until the consumer accepts or answers.
func (s *Service) OnOffer(ctx context.Context, peer, consumerPID string, terms policy.Policy) (r RemoteNegotiation, err error) {
	if r, err = s.Store.Remote(ctx, consumerPID); err != nil || r.Peer != peer {
		return RemoteNegotiation{}, notFound("negotiation", consumerPID)
	}
	from := r.State
	next, err := Next(from, MsgOffer)
	if err != nil {
		return r, err
	}
	terms.Target = ""
	r.State, r.Terms, r.UpdatedAt = next, terms, s.now()
	ev := dx.NewEvent(r.UpdatedAt, dx.Principal{OrgID: r.OrgID}, "remote.offered", r.ConsumerPID, map[string]any{"peer": peer, "terms_sha256": policy.Digest(terms)})
	return r, s.Store.UpdateRemoteTerms(ctx, r, from, []dx.Event{ev})
}

// RemoteAccept accepts, for the calling organisation, the peer's last offer (OFFERED →
// ACCEPTED); the caller sends the ACCEPTED event.
func (s *Service) RemoteAccept(ctx context.Context, consumerPID string) (RemoteNegotiation, error) {
	r, err := s.RemoteNegotiation(ctx, consumerPID)
	if err != nil {
		return r, err
	}
	from := r.State
	next, err := Next(from, MsgAccepted)
	if err != nil {
		return r, err
	}
	r.State, r.UpdatedAt = next, s.now()
	ev := dx.NewEvent(r.UpdatedAt, dx.Principal{OrgID: r.OrgID}, "remote.accepted", r.ConsumerPID, map[string]any{"terms_sha256": policy.Digest(r.Terms)})
	return r, s.Store.UpdateRemote(ctx, r, from, []dx.Event{ev})
}

// PeerCounter handles a remote consumer's counter-request on the provider's node
// (OFFERED → REQUESTED with the consumer's terms, for the provider to decide on).
func (s *Service) PeerCounter(ctx context.Context, peer string, peerKey ed25519.PublicKey, providerPID string, terms policy.Policy) (n Negotiation, err error) {
	if n, err = s.peerNegotiation(ctx, peer, peerKey, providerPID); err != nil {
		return n, err
	}
	terms.Target = ""
	return s.move(ctx, dx.Principal{OrgID: n.ConsumerID}, n, MsgCounter, &terms)
}

// RemoteCounter answers, for the calling organisation, a peer's offer with other terms
// (OFFERED → REQUESTED); the caller sends the counter-request.
func (s *Service) RemoteCounter(ctx context.Context, consumerPID string, terms policy.Policy) (RemoteNegotiation, error) {
	r, err := s.RemoteNegotiation(ctx, consumerPID)
	if err != nil {
		return r, err
	}
	from := r.State
	next, err := Next(from, MsgCounter)
	if err != nil {
		return r, err
	}
	terms.ID, terms.Type, terms.Target = r.OfferID, "Offer", ""
	r.State, r.Terms, r.UpdatedAt = next, terms, s.now()
	ev := dx.NewEvent(r.UpdatedAt, dx.Principal{OrgID: r.OrgID}, "remote.requested", r.ConsumerPID, map[string]any{"counter": true, "terms_sha256": policy.Digest(terms)})
	return r, s.Store.UpdateRemoteTerms(ctx, r, from, []dx.Event{ev})
}

// peerOrg is Store.PeerOrg with the peer's country as the node's configuration attests it.
func (s *Service) peerOrg(ctx context.Context, peer string, key ed25519.PublicKey, at time.Time) (string, error) {
	country := ""
	if s.PeerCountry != nil {
		country = s.PeerCountry(peer)
	}
	return s.Store.PeerOrg(ctx, peer, key, country, at)
}
