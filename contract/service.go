package contract

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/policy"
)

// Keys gives an organisation's record and signing key (party.Store has them).
type Keys interface {
	SigningKey(ctx context.Context, orgID string) (ed25519.PrivateKey, error)
	Org(ctx context.Context, id string) (party.Org, error)
}

// Service is the use-case layer of offers, negotiations and agreements on one exchange,
// where both parties are organisations of this node (the DSP binding between nodes
// builds on the same records).
type Service struct {
	Store  Store
	Assets *asset.Service
	Keys   Keys
	// Node, when set, is this connector's identity: it signs agreements with remote
	// consumers (negotiations that came in over DSP).
	Node *Node
	// PeerCountry returns a peer participant's country as the node's trusted-peer list
	// attests it (ISO 3166-1; "" for mainland China); nil treats peers as domestic.
	PeerCountry func(participant string) string
	Clock       dx.Clock
	Log         *slog.Logger
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// AssetTarget is the Agreement target naming a dx asset.
func AssetTarget(assetID string) string { return "urn:dx:asset:" + assetID }

func notFound(what, id string) error {
	return dx.Errorf(dx.ENotFound, "%s不存在 / %s %q not found", map[string]string{"offer": "报价", "negotiation": "协商", "agreement": "协议"}[what], what, id)
}

// CreateOffer attaches a usage policy to one of the caller's assets.
func (s *Service) CreateOffer(ctx context.Context, assetID string, raw []byte, autoApprove bool) (o Offer, err error) {
	defer dx.WrapOp(&err, "contract.CreateOffer")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return o, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return o, err
	}
	a, err := s.Assets.Asset(ctx, assetID)
	if err != nil {
		return o, err
	}
	if a.OwnerID != p.OrgID {
		return o, dx.Errorf(dx.EForbidden, "只有数据所有者可以发布报价 / only the asset's owner can make offers")
	}
	pol, err := policy.Parse(raw)
	if err != nil {
		return o, err
	}
	if pol.Type == "Agreement" || pol.Target != "" || pol.Assignee != "" {
		return o, dx.Errorf(dx.EInvalid, "报价不能有 target、assignee 或 Agreement 类型 / an offer has no target or assignee and is not an Agreement")
	}
	now := s.now()
	pol.ID, pol.Type = NewUUID(), "Offer"
	if len(pol.Profile) == 0 {
		pol.Profile = []string{policy.Profile}
	}
	pol.Assigner = p.OrgID
	o = Offer{ID: pol.ID, AssetID: a.ID, ProviderID: p.OrgID, Policy: pol, Digest: policy.Digest(pol), AutoApprove: autoApprove, CreatedAt: now}
	ev := dx.NewEvent(now, p, "offer.create", o.ID, map[string]any{"asset": a.ID, "terms_sha256": o.Digest, "auto_approve": autoApprove})
	return o, s.Store.CreateOffer(ctx, o, []dx.Event{ev})
}

// Offers lists the live offers on an asset the caller can see.
func (s *Service) Offers(ctx context.Context, assetID string) ([]Offer, error) {
	if _, err := s.Assets.Asset(ctx, assetID); err != nil {
		return nil, err
	}
	all, err := s.Store.Offers(ctx, assetID)
	if err != nil {
		return nil, err
	}
	live := []Offer{}
	for _, o := range all {
		if o.WithdrawnAt == nil {
			live = append(live, o)
		}
	}
	return live, nil
}

// visibleNegotiation loads a negotiation the caller is a party to (or may see all).
func (s *Service) visibleNegotiation(ctx context.Context, p dx.Principal, id string) (Negotiation, error) {
	if !dx.ValidID("neg", id) {
		return Negotiation{}, notFound("negotiation", id)
	}
	n, err := s.Store.Negotiation(ctx, id)
	if err != nil {
		return n, err
	}
	if n.ProviderID != p.OrgID && n.ConsumerID != p.OrgID && !p.SeesAll() {
		return Negotiation{}, notFound("negotiation", id)
	}
	return n, nil
}

// partyAction loads negotiation id for a state change by the caller, who must hold the
// write scope and be its provider (role "provider"), consumer ("consumer") or either
// ("party").
func (s *Service) partyAction(ctx context.Context, id, role string) (dx.Principal, Negotiation, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return p, Negotiation{}, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return p, Negotiation{}, err
	}
	n, err := s.visibleNegotiation(ctx, p, id)
	if err != nil {
		return p, n, err
	}
	ok := map[string]bool{"provider": n.ProviderID == p.OrgID, "consumer": n.ConsumerID == p.OrgID,
		"party": n.ProviderID == p.OrgID || n.ConsumerID == p.OrgID}[role]
	if !ok {
		zh := map[string]string{"provider": "提供方", "consumer": "使用方", "party": "协商双方"}[role]
		en := map[string]string{"provider": "the provider", "consumer": "the consumer", "party": "the parties"}[role]
		return p, Negotiation{}, dx.Errorf(dx.EForbidden, "只有%s可以这样做 / only %s can do this", zh, en)
	}
	return p, n, nil
}

// Negotiation returns a negotiation the caller is a party to.
func (s *Service) Negotiation(ctx context.Context, id string) (Negotiation, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Negotiation{}, err
	}
	return s.visibleNegotiation(ctx, p, id)
}

// Negotiations lists the caller's negotiations.
func (s *Service) Negotiations(ctx context.Context) ([]Negotiation, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.Store.Negotiations(ctx, p.ListScope())
}

// Request starts a negotiation for an offer. terms, if given, must equal or narrow the
// offer's (the consumer declares a purpose, fewer uses …); nil takes the offer as it is.
// consumerPID makes the request idempotent: repeating it returns the same negotiation.
// With an auto-approve offer the agreement is made and signed at once.
func (s *Service) Request(ctx context.Context, offerID string, terms []byte, consumerPID string) (n Negotiation, err error) {
	defer dx.WrapOp(&err, "contract.Request")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return n, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return n, err
	}
	if consumerPID == "" {
		consumerPID = NewUUID()
	} else if prior, err := s.Store.NegotiationByConsumerPID(ctx, p.OrgID, consumerPID); err == nil {
		return prior, nil // a retried request
	} else if dx.ErrorCode(err) != dx.ENotFound {
		return n, err
	}
	o, err := s.Store.Offer(ctx, offerID)
	if dx.ErrorCode(err) == dx.ENotFound {
		return n, notFound("offer", offerID)
	} else if err != nil {
		return n, err
	}
	if _, err := s.Assets.Asset(ctx, o.AssetID); err != nil || o.WithdrawnAt != nil {
		return n, notFound("offer", offerID)
	}
	if o.ProviderID == p.OrgID {
		return n, dx.Errorf(dx.EInvalid, "不能与自己协商 / you are the provider of this offer")
	}
	want := o.Policy
	if len(terms) > 0 {
		if want, err = policy.Parse(terms); err != nil {
			return n, err
		}
		if ok, why := policy.Narrows(want, o.Policy); !ok {
			return n, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "policy-mismatch", "pointer": why},
				Message: "请求的条款超出报价 / the requested terms go beyond the offer at " + why}
		}
		want.ID, want.Type = o.ID, "Offer"
	}
	now := s.now()
	n = Negotiation{ID: dx.NewID("neg", now), ConsumerPID: consumerPID, OfferID: o.ID, AssetID: o.AssetID, ProviderID: o.ProviderID,
		ConsumerID: p.OrgID, State: Requested, Terms: want, CreatedAt: now, UpdatedAt: now}
	events := []dx.Event{dx.NewEvent(now, p, "negotiation.requested", n.ID, map[string]any{"offer": o.ID, "asset": o.AssetID, "terms_sha256": policy.Digest(want)})}
	var rec *Record
	if o.AutoApprove {
		var evs []dx.Event
		if rec, evs, err = s.agree(ctx, dx.Principal{OrgID: o.ProviderID}, &n, now); err != nil {
			return Negotiation{}, err
		}
		events = append(events, evs...)
	}
	if err := s.Store.CreateNegotiation(ctx, n, rec, events); err != nil {
		if dx.ErrorCode(err) == dx.EConflict { // the same consumerPID raced in
			return s.Store.NegotiationByConsumerPID(ctx, p.OrgID, consumerPID)
		}
		return Negotiation{}, err
	}
	return n, nil
}

// agree makes and signs the agreement for n, moving it through AGREED and VERIFIED to
// FINALIZED (both parties are on this node, so each step is immediate).
func (s *Service) agree(ctx context.Context, actor dx.Principal, n *Negotiation, now time.Time) (*Record, []dx.Event, error) {
	terms := n.Terms
	terms.ID, terms.Type = NewUUID(), "Agreement"
	terms.Target, terms.Assigner, terms.Assignee = AssetTarget(n.AssetID), n.ProviderID, n.ConsumerID
	terms.Timestamp = now.Format(time.RFC3339Nano)
	a := Agreement{Policy: terms}
	for _, org := range []string{n.ProviderID, n.ConsumerID} {
		key, err := s.Keys.SigningKey(ctx, org)
		if err != nil {
			return nil, nil, err
		}
		if err := a.Sign(org, key); err != nil {
			return nil, nil, err
		}
	}
	state := n.State
	var events []dx.Event
	for _, m := range []Message{MsgAgreement, MsgVerification, MsgFinalized} {
		next, err := Next(state, m)
		if err != nil {
			return nil, nil, err
		}
		state = next
		events = append(events, dx.NewEvent(now, actor, "negotiation."+strings.ToLower(string(state)), n.ID, map[string]any{"agreement": terms.ID}))
	}
	digest := policy.Digest(terms)
	events = append(events, dx.NewEvent(now, actor, "agreement.create", terms.ID, map[string]any{"negotiation": n.ID, "asset": n.AssetID,
		"provider": n.ProviderID, "consumer": n.ConsumerID, "terms_sha256": digest}))
	n.State, n.AgreementID, n.UpdatedAt = state, terms.ID, now
	return &Record{ID: terms.ID, NegotiationID: n.ID, AssetID: n.AssetID, ProviderID: n.ProviderID, ConsumerID: n.ConsumerID,
		Agreement: a, Digest: digest, CreatedAt: now}, events, nil
}

// Approve agrees to a requested negotiation (the provider).
func (s *Service) Approve(ctx context.Context, id string) (n Negotiation, err error) {
	defer dx.WrapOp(&err, "contract.Approve")
	p, n, err := s.partyAction(ctx, id, "provider")
	if err != nil {
		return Negotiation{}, err
	}
	from := n.State
	if n.Callback != "" { // a remote consumer: this node signs; the consumer's node countersigns
		consumer, err := s.Keys.Org(ctx, n.ConsumerID)
		if err != nil {
			return Negotiation{}, err
		}
		if s.Node == nil || consumer.Peer == "" {
			return Negotiation{}, dx.Errorf(dx.EInternal, "本节点未启用连接器 / this node has no connector identity")
		}
		if _, err := Next(from, MsgAgreement); err != nil {
			return Negotiation{}, err
		}
		rec, ev, err := agreeWithPeer(&n, *s.Node, consumer.Peer, AssetTarget(n.AssetID), s.now())
		if err != nil {
			return Negotiation{}, err
		}
		return n, s.Store.UpdateNegotiation(ctx, n, from, rec, []dx.Event{ev})
	}
	rec, events, err := s.agree(ctx, p, &n, s.now())
	if err != nil {
		return Negotiation{}, err
	}
	return n, s.Store.UpdateNegotiation(ctx, n, from, rec, events)
}

// Terminate ends a negotiation (either party), with a reason both sides see.
func (s *Service) Terminate(ctx context.Context, id, reason string) (n Negotiation, err error) {
	defer dx.WrapOp(&err, "contract.Terminate")
	p, n, err := s.partyAction(ctx, id, "party")
	if err != nil {
		return Negotiation{}, err
	}
	from := n.State
	next, err := Next(from, MsgTermination)
	if err != nil || next == from {
		return n, err
	}
	now := s.now()
	n.State, n.Reason, n.UpdatedAt = next, strings.TrimSpace(reason), now
	ev := dx.NewEvent(now, p, "negotiation.terminated", n.ID, map[string]any{"by": p.OrgID, "reason": n.Reason})
	return n, s.Store.UpdateNegotiation(ctx, n, from, nil, []dx.Event{ev})
}

// Agreement returns an agreement the caller is a party to.
func (s *Service) Agreement(ctx context.Context, id string) (Record, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Record{}, err
	}
	r, err := s.Store.Agreement(ctx, id)
	if dx.ErrorCode(err) == dx.ENotFound || (err == nil && r.ProviderID != p.OrgID && r.ConsumerID != p.OrgID && !p.SeesAll()) {
		return Record{}, notFound("agreement", id)
	}
	return r, err
}

// Agreements lists the caller's agreements.
func (s *Service) Agreements(ctx context.Context) ([]Record, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.Store.Agreements(ctx, p.ListScope())
}

// Revoke ends an agreement at once (the provider); later uses are refused.
func (s *Service) Revoke(ctx context.Context, id, reason string) (err error) {
	defer dx.WrapOp(&err, "contract.Revoke")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return err
	}
	r, err := s.Agreement(ctx, id)
	if err != nil {
		return err
	}
	if r.ProviderID != p.OrgID {
		return dx.Errorf(dx.EForbidden, "只有提供方可以撤销协议 / only the provider can revoke an agreement")
	}
	now := s.now()
	ev := dx.NewEvent(now, p, "agreement.revoke", id, map[string]any{"reason": reason})
	return s.Store.RevokeAgreement(ctx, id, now, []dx.Event{ev})
}

// Use is the enforcement point for agreements: it evaluates the caller's agreements on
// an asset for one use through channel with the declared purpose ("" takes the purpose
// the agreement pins), and records the use — count, decision and event in one
// transaction, so a count limit holds exactly under concurrency. It returns the ID of
// the agreement used, or EForbidden with every agreement's reasons; ENotFound-free
// ErrNoAgreement when the caller has none.
func (s *Service) Use(ctx context.Context, assetID, versionID, channel, purpose string) (string, error) {
	return s.UseUnder(ctx, "", assetID, versionID, channel, purpose)
}

// UseUnder is Use restricted to one agreement (all of the caller's when agreementID is "").
func (s *Service) UseUnder(ctx context.Context, agreementID, assetID, versionID, channel, purpose string) (string, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return "", err
	}
	recs, err := s.Store.ActiveAgreements(ctx, assetID, p.OrgID)
	if err != nil {
		return "", err
	}
	if agreementID != "" {
		recs = slices.DeleteFunc(recs, func(r Record) bool { return r.ID != agreementID })
	}
	if len(recs) == 0 {
		return "", ErrNoAgreement
	}
	var reasons []string
	for _, rec := range recs {
		decider, err := Compile(rec.Agreement)
		if err != nil {
			return "", err
		}
		dec, err := s.Store.UseAgreement(ctx, rec.ID, func(cur Record) (policy.Decision, []dx.Event) {
			if cur.RevokedAt != nil {
				return policy.Decision{Reasons: []string{"协议已撤销 / the agreement was revoked"}}, nil
			}
			now := s.now()
			req := request(cur.Agreement, now, channel, purpose, cur.Uses)
			d := decider.Decide(&req)
			if !d.Allow {
				return d, nil
			}
			return d, []dx.Event{dx.NewEvent(now, p, "agreement.use", cur.ID, map[string]any{"asset": assetID, "version": versionID,
				"channel": channel, "purpose": req.Purpose, "use": cur.Uses + 1})}
		})
		if err != nil {
			return "", err
		}
		if dec.Allow {
			return rec.ID, nil
		}
		for _, r := range dec.Reasons {
			reasons = append(reasons, fmt.Sprintf("%s: %s", rec.ID, r))
		}
		s.recordDenial(ctx, p, rec.ID, channel, dec.Reasons)
	}
	return "", &dx.Error{Code: dx.EForbidden, Details: map[string]any{"reasons": reasons},
		Message: "协议不允许这次使用 / no agreement allows this use: " + strings.Join(reasons, "; ")}
}

// Eligible returns the caller's active agreements on an asset whose terms allow a use
// on channel for purpose now, without counting a use (Use or UseUnder does that).
func (s *Service) Eligible(ctx context.Context, assetID, channel, purpose string) ([]Record, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.Store.ActiveAgreements(ctx, assetID, p.OrgID)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, rec := range recs {
		decider, err := Compile(rec.Agreement)
		if err != nil {
			return nil, err
		}
		req := request(rec.Agreement, s.now(), channel, purpose, rec.Uses)
		if rec.RevokedAt == nil && decider.Decide(&req).Allow {
			out = append(out, rec)
		}
	}
	return out, nil
}

// ErrNoAgreement says the caller holds no agreement on the asset.
var ErrNoAgreement = dx.Errorf(dx.EForbidden, "没有有效的协议 / no agreement on this asset")

// Compile compiles an agreement's terms for decisions.
func Compile(a Agreement) (*policy.Decider, error) { return policy.Compile(a.Policy) }

// request builds the decision context of one use under agreement a.
func request(a Agreement, now time.Time, channel, purpose string, uses int64) policy.Request {
	agreed, _ := time.Parse(time.RFC3339Nano, a.Policy.Timestamp)
	if purpose == "" {
		purpose = pinnedPurpose(a.Policy)
	}
	return policy.Request{Time: now, AgreedAt: agreed, Purpose: purpose, Channel: channel, Recipient: a.Policy.Assignee, Uses: uses}
}

// pinnedPurpose returns the purpose an agreement fixes with a top-level purpose eq, if any.
func pinnedPurpose(p policy.Policy) string {
	for _, r := range p.Permission {
		for _, c := range r.Constraint {
			if c.Logic == "" && c.Left == policy.Purpose && c.Op == "eq" {
				return strings.TrimPrefix(c.Right[0], policy.NS+"purpose/")
			}
		}
	}
	return ""
}

// CounterOffer replaces the terms of a requested negotiation with the provider's offer
// (REQUESTED → OFFERED); the consumer then accepts, counters or terminates.
func (s *Service) CounterOffer(ctx context.Context, id string, raw []byte) (n Negotiation, err error) {
	defer dx.WrapOp(&err, "contract.CounterOffer")
	p, n, err := s.partyAction(ctx, id, "provider")
	if err != nil {
		return Negotiation{}, err
	}
	terms, err := policy.Parse(raw)
	if err != nil {
		return Negotiation{}, err
	}
	return s.move(ctx, p, n, MsgOffer, &terms)
}

// Counter answers the provider's offer with other terms (OFFERED → REQUESTED). Unlike a
// first request, a counter need not narrow anything: the provider decides.
func (s *Service) Counter(ctx context.Context, id string, raw []byte) (n Negotiation, err error) {
	defer dx.WrapOp(&err, "contract.Counter")
	p, n, err := s.partyAction(ctx, id, "consumer")
	if err != nil {
		return Negotiation{}, err
	}
	terms, err := policy.Parse(raw)
	if err != nil {
		return Negotiation{}, err
	}
	return s.move(ctx, p, n, MsgCounter, &terms)
}

// Accept accepts the provider's latest offer (OFFERED → ACCEPTED); the provider then
// agrees.
func (s *Service) Accept(ctx context.Context, id string) (n Negotiation, err error) {
	defer dx.WrapOp(&err, "contract.Accept")
	p, n, err := s.partyAction(ctx, id, "consumer")
	if err != nil {
		return Negotiation{}, err
	}
	return s.move(ctx, p, n, MsgAccepted, nil)
}

// move applies message m to n (with new terms, if given) and stores the step.
func (s *Service) move(ctx context.Context, p dx.Principal, n Negotiation, m Message, terms *policy.Policy) (Negotiation, error) {
	from := n.State
	next, err := Next(from, m)
	if err != nil {
		return Negotiation{}, err
	}
	now := s.now()
	n.State, n.UpdatedAt = next, now
	payload := map[string]any{"by": p.OrgID}
	if terms != nil {
		terms.ID, terms.Type = n.OfferID, "Offer"
		n.Terms = *terms
		payload["terms_sha256"] = policy.Digest(*terms)
	}
	ev := dx.NewEvent(now, p, "negotiation."+strings.ToLower(string(next)), n.ID, payload)
	return n, s.Store.UpdateNegotiation(ctx, n, from, nil, []dx.Event{ev})
}

// recordDenial writes a refused use as an audit event of its own (the refusal changes
// nothing else). A failure to record it is logged, not returned: the use stays refused.
func (s *Service) recordDenial(ctx context.Context, p dx.Principal, agreementID, channel string, reasons []string) {
	ev := dx.NewEvent(s.now(), p, "agreement.denied", agreementID, map[string]any{"channel": channel, "reasons": reasons})
	if err := s.Store.RecordEvents(ctx, []dx.Event{ev}); err != nil {
		s.Log.Error("cannot record a refused use", "agreement", agreementID, "err", err)
	}
}
