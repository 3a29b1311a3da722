package contract

import (
	"context"
	"crypto/ed25519"
	"strings"
	"time"

	"github.com/dxexchange/dx"
)

// RemoteTransfer is, on the consumer's node, a transfer from a provider's connector.
type RemoteTransfer struct {
	ConsumerPID string        `json:"consumer_pid"`
	OrgID       string        `json:"org_id"`
	Peer        string        `json:"peer"`
	ProviderPID string        `json:"provider_pid,omitempty"`
	AgreementID string        `json:"agreement_id"`
	State       TransferState `json:"state"`
	Endpoint    string        `json:"endpoint,omitempty"` // the provider's data plane URL
	Token       string        `json:"-"`                  // kept to pull; short-lived
	ExpiresAt   time.Time     `json:"expires_at"`
	Reason      string        `json:"reason,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// RemoteTransferStore is the persistence port of transfers from peers (part of Store).
type RemoteTransferStore interface {
	CreateRemoteTransfer(ctx context.Context, t RemoteTransfer, events []dx.Event) error
	RemoteTransfer(ctx context.Context, consumerPID string) (RemoteTransfer, error)
	RemoteTransfers(ctx context.Context, orgID string) ([]RemoteTransfer, error)
	UpdateRemoteTransfer(ctx context.Context, t RemoteTransfer, from TransferState, events []dx.Event) error
	// SetRemoteTransferProviderPID records the provider's process ID if none is recorded
	// yet (its start message may overtake its answer to the request).
	SetRemoteTransferProviderPID(ctx context.Context, consumerPID, providerPID string) error
}

// PeerTransfer handles a peer's TransferRequestMessage on the provider's node: the
// agreement must be the peer's; the transfer starts at once (one counted use) and its data
// address is returned for the TransferStartMessage.
func (s *Service) PeerTransfer(ctx context.Context, peer string, peerKey ed25519.PublicKey, consumerPID, agreementID, format, callback string) (Transfer, DataAddress, error) {
	pctx, err := s.asPeer(ctx, peer, peerKey)
	if err != nil {
		return Transfer{}, DataAddress{}, err
	}
	return s.requestTransfer(pctx, agreementID, format, "", consumerPID, callback)
}

// asPeer returns ctx acting as the organisation that stands for a peer participant.
func (s *Service) asPeer(ctx context.Context, peer string, peerKey ed25519.PublicKey) (context.Context, error) {
	orgID, err := s.peerOrg(ctx, peer, peerKey, s.now())
	if err != nil {
		return ctx, err
	}
	return dx.WithPrincipal(ctx, dx.Principal{OrgID: orgID, Roles: []string{dx.RoleConsumer}, Scopes: []string{dx.ScopeRead, dx.ScopeWrite}}), nil
}

// PeerChangeTransfer applies a remote consumer's suspension, start (resume), completion
// or termination on the provider's node.
func (s *Service) PeerChangeTransfer(ctx context.Context, peer string, peerKey ed25519.PublicKey, transferID, action, reason string) (Transfer, DataAddress, error) {
	pctx, err := s.asPeer(ctx, peer, peerKey)
	if err != nil {
		return Transfer{}, DataAddress{}, err
	}
	return s.ChangeTransfer(pctx, transferID, action, reason)
}

// PeerTransferState returns a transfer a remote consumer asks about.
func (s *Service) PeerTransferState(ctx context.Context, peer string, peerKey ed25519.PublicKey, transferID string) (Transfer, error) {
	pctx, err := s.asPeer(ctx, peer, peerKey)
	if err != nil {
		return Transfer{}, err
	}
	return s.Transfer(pctx, transferID)
}

// OnTransferChange handles the provider's suspension, completion or termination of a
// transfer on the consumer's node.
func (s *Service) OnTransferChange(ctx context.Context, peer, consumerPID string, m TransferMessage, reason string) (t RemoteTransfer, err error) {
	if t, err = s.Store.RemoteTransfer(ctx, consumerPID); err != nil || t.Peer != peer {
		return RemoteTransfer{}, transferNotFound(consumerPID)
	}
	from := t.State
	next, err := NextTransfer(from, m, true)
	if err != nil || next == from {
		return t, err
	}
	t.State, t.Reason, t.UpdatedAt = next, reason, s.now()
	t.Token = "" // only a start message brings a token
	ev := dx.NewEvent(t.UpdatedAt, dx.Principal{OrgID: t.OrgID}, "remote.transfer."+strings.ToLower(string(next)), t.ConsumerPID, map[string]any{"peer": peer, "reason": reason})
	return t, s.Store.UpdateRemoteTransfer(ctx, t, from, []dx.Event{ev})
}

// StartRemoteTransfer records, on the consumer's node, a transfer to request from a peer
// under an agreement the calling organisation negotiated with it.
func (s *Service) StartRemoteTransfer(ctx context.Context, peer, agreementID string) (t RemoteTransfer, err error) {
	defer dx.WrapOp(&err, "contract.StartRemoteTransfer")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return t, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return t, err
	}
	n, err := s.Store.RemoteByAgreement(ctx, p.OrgID, agreementID)
	if err != nil && dx.ErrorCode(err) != dx.ENotFound {
		return t, err
	}
	if err != nil || n.Peer != peer || n.State != Finalized {
		return t, dx.Errorf(dx.ENotFound, "没有与该对端的此协议 / no finalized agreement %q with peer %q", agreementID, peer)
	}
	now := s.now()
	t = RemoteTransfer{ConsumerPID: NewUUID(), OrgID: p.OrgID, Peer: peer, AgreementID: agreementID, State: TransferRequested, CreatedAt: now, UpdatedAt: now}
	ev := dx.NewEvent(now, p, "remote.transfer.requested", t.ConsumerPID, map[string]any{"peer": peer, "agreement": agreementID})
	return t, s.Store.CreateRemoteTransfer(ctx, t, []dx.Event{ev})
}

// OnTransferStart handles the provider's TransferStartMessage on the consumer's node.
func (s *Service) OnTransferStart(ctx context.Context, peer, consumerPID, providerPID, endpoint, token string, expires time.Time) (t RemoteTransfer, err error) {
	if t, err = s.Store.RemoteTransfer(ctx, consumerPID); err != nil || t.Peer != peer {
		return RemoteTransfer{}, transferNotFound(consumerPID)
	}
	from := t.State
	next, err := NextTransfer(from, TMsgStart, true)
	if err != nil {
		return t, err
	}
	t.State, t.ProviderPID, t.Endpoint, t.Token, t.ExpiresAt, t.UpdatedAt = next, providerPID, endpoint, token, expires, s.now()
	ev := dx.NewEvent(t.UpdatedAt, dx.Principal{OrgID: t.OrgID}, "remote.transfer.started", t.ConsumerPID, map[string]any{"peer": peer, "token_sha256": TokenHash(token)})
	return t, s.Store.UpdateRemoteTransfer(ctx, t, from, []dx.Event{ev})
}

// RemoteTransfers lists the caller's transfers from peers.
func (s *Service) RemoteTransfers(ctx context.Context) ([]RemoteTransfer, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.Store.RemoteTransfers(ctx, p.ListScope())
}

// RemoteTransferFor returns one of the caller's transfers from peers.
func (s *Service) RemoteTransferFor(ctx context.Context, consumerPID string) (RemoteTransfer, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return RemoteTransfer{}, err
	}
	t, err := s.Store.RemoteTransfer(ctx, consumerPID)
	if err != nil || (t.OrgID != p.OrgID && !p.SeesAll()) {
		return RemoteTransfer{}, transferNotFound(consumerPID)
	}
	return t, nil
}

// RemoteTransferAcked records the provider's process ID from its answer to the request
// and returns the transfer as stored.
func (s *Service) RemoteTransferAcked(ctx context.Context, t RemoteTransfer, providerPID string) (RemoteTransfer, error) {
	if providerPID != "" {
		if err := s.Store.SetRemoteTransferProviderPID(ctx, t.ConsumerPID, providerPID); err != nil {
			return t, err
		}
	}
	return s.Store.RemoteTransfer(ctx, t.ConsumerPID)
}

// RemoteTransferFailed terminates a transfer whose request the peer refused or never
// answered, with the reason, so that it does not wait in REQUESTED forever.
func (s *Service) RemoteTransferFailed(ctx context.Context, t RemoteTransfer, reason string) (RemoteTransfer, error) {
	return s.changeRemoteTransfer(ctx, dx.Principal{OrgID: t.OrgID}, t, TMsgTermination, reason)
}

// RemoteChangeTransfer applies, for the calling organisation, its own suspension,
// resumption, completion or termination of a transfer from a peer; the caller then sends
// the message to the peer. A resumed transfer is STARTED again but has no token until the
// provider's start message brings a new data address.
func (s *Service) RemoteChangeTransfer(ctx context.Context, consumerPID, action, reason string) (RemoteTransfer, TransferMessage, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return RemoteTransfer{}, "", err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return RemoteTransfer{}, "", err
	}
	t, err := s.RemoteTransferFor(ctx, consumerPID)
	if err != nil {
		return t, "", err
	}
	msg, ok := map[string]TransferMessage{"suspend": TMsgSuspension, "resume": TMsgStart, "complete": TMsgCompletion, "terminate": TMsgTermination}[action]
	if !ok {
		return t, "", dx.Errorf(dx.EInvalid, "未知操作 %q / unknown action %q (suspend, resume, complete, terminate)", action, action)
	}
	if t.ProviderPID == "" && msg != TMsgTermination {
		return t, "", dx.Errorf(dx.EConflict, "对端尚未确认传输请求 / the peer has not acknowledged the transfer request yet")
	}
	t, err = s.changeRemoteTransfer(ctx, p, t, msg, strings.TrimSpace(reason))
	return t, msg, err
}

func (s *Service) changeRemoteTransfer(ctx context.Context, p dx.Principal, t RemoteTransfer, m TransferMessage, reason string) (RemoteTransfer, error) {
	from := t.State
	next, err := NextTransfer(from, m, false)
	if err != nil || next == from {
		return t, err
	}
	t.State, t.Reason, t.UpdatedAt = next, reason, s.now()
	t.Token = ""
	ev := dx.NewEvent(t.UpdatedAt, p, "remote.transfer."+strings.ToLower(string(next)), t.ConsumerPID, map[string]any{"by": p.OrgID, "reason": reason})
	return t, s.Store.UpdateRemoteTransfer(ctx, t, from, []dx.Event{ev})
}
