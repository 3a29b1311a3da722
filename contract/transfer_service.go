package contract

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/policy"
)

// FormatHTTPPull is the DSP transfer format of a pull download (channel download).
const FormatHTTPPull = "HttpData-PULL"

// DataAddress tells a consumer where and how to pull a started transfer. The token is
// shown once; only its hash is stored.
type DataAddress struct {
	Endpoint  string    `json:"endpoint"`
	AuthType  string    `json:"auth_type"` // bearer
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func transferNotFound(id string) error {
	return dx.Errorf(dx.ENotFound, "传输不存在 / transfer %q not found", id)
}

// RequestTransfer starts a pull transfer under one of the caller's agreements: the
// agreement is evaluated and one use counted (a transfer is one use however many Range
// requests it takes), then the transfer is STARTED with a fresh data-plane token. A
// repeated request with the same consumerPID returns the same transfer with a new token.
func (s *Service) RequestTransfer(ctx context.Context, agreementID, format, purpose, consumerPID string) (t Transfer, addr DataAddress, err error) {
	return s.requestTransfer(ctx, agreementID, format, purpose, consumerPID, "")
}

func (s *Service) requestTransfer(ctx context.Context, agreementID, format, purpose, consumerPID, callback string) (t Transfer, addr DataAddress, err error) {
	defer dx.WrapOp(&err, "contract.RequestTransfer")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return t, addr, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return t, addr, err
	}
	if consumerPID != "" {
		if prior, err := s.Store.TransferByConsumerPID(ctx, p.OrgID, consumerPID); err == nil {
			return s.reissue(ctx, p, prior)
		} else if dx.ErrorCode(err) != dx.ENotFound {
			return t, addr, err
		}
	} else {
		consumerPID = NewUUID()
	}
	rec, err := s.Agreement(ctx, agreementID)
	if err != nil {
		return t, addr, err
	}
	if rec.ConsumerID != p.OrgID {
		return t, addr, dx.Errorf(dx.EForbidden, "只有协议的使用方可以发起传输 / only the agreement's assignee can request transfers")
	}
	if format == "" {
		format = FormatHTTPPull
	}
	if format != FormatHTTPPull {
		return t, addr, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "format-not-permitted"},
			Message: fmt.Sprintf("不支持的传输格式 %q / transfer format %q is not offered (use %s)", format, format, FormatHTTPPull)}
	}
	a, err := s.Assets.Store.Asset(ctx, rec.AssetID)
	if err != nil {
		return t, addr, err
	}
	v, err := s.Assets.Store.Version(ctx, a.ID, a.LatestVersion)
	if err != nil {
		return t, addr, err
	}
	now := s.now()
	token, hash := newDataToken()
	t = Transfer{ID: NewUUID(), ConsumerPID: consumerPID, AgreementID: rec.ID, AssetID: a.ID, VersionID: v.ID, Version: v.Number,
		ProviderID: rec.ProviderID, ConsumerID: p.OrgID, Format: format, Purpose: purpose, State: TransferStarted,
		TokenHash: hash, TokenExpires: now.Add(TokenTTL), Callback: callback, CreatedAt: now, UpdatedAt: now}
	decider, err := Compile(rec.Agreement)
	if err != nil {
		return t, addr, err
	}
	dec, err := s.Store.StartTransfer(ctx, t, func(cur Record) (policy.Decision, []dx.Event) {
		if cur.RevokedAt != nil {
			return policy.Decision{Reasons: []string{"协议已撤销 / the agreement was revoked"}}, nil
		}
		req := request(cur.Agreement, now, "download", purpose, cur.Uses)
		d := decider.Decide(&req)
		if !d.Allow {
			return d, nil
		}
		return d, []dx.Event{
			dx.NewEvent(now, p, "transfer.requested", t.ID, map[string]any{"agreement": rec.ID, "format": format}),
			dx.NewEvent(now, dx.Principal{OrgID: rec.ProviderID}, "transfer.started", t.ID, map[string]any{"version": v.ID, "token_sha256": hash}),
			dx.NewEvent(now, p, "agreement.use", rec.ID, map[string]any{"asset": a.ID, "version": v.ID, "channel": "download", "purpose": req.Purpose, "use": cur.Uses + 1, "transfer": t.ID}),
		}
	})
	if dx.ErrorCode(err) == dx.EConflict { // the same consumerPID raced in
		prior, perr := s.Store.TransferByConsumerPID(ctx, p.OrgID, consumerPID)
		if perr != nil {
			return t, addr, err
		}
		return s.reissue(ctx, p, prior)
	}
	if err != nil {
		return t, addr, err
	}
	if !dec.Allow {
		s.recordDenial(ctx, p, rec.ID, "download", dec.Reasons)
		code := "usage-denied"
		if strings.Contains(strings.Join(dec.Reasons, " "), "count") {
			code = "usage-exhausted"
		}
		return t, addr, &dx.Error{Code: dx.EForbidden, Details: map[string]any{"code": code, "reasons": dec.Reasons},
			Message: "协议不允许这次传输 / the agreement does not allow this transfer: " + strings.Join(dec.Reasons, "; ")}
	}
	return t, s.address(t, token), nil
}

func (s *Service) address(t Transfer, token string) DataAddress {
	return DataAddress{Endpoint: "/api/v1/transfers/" + t.ID + "/data", AuthType: "bearer", Token: token, ExpiresAt: t.TokenExpires}
}

// reissue answers a repeated request or a resume: a started transfer gets a new token.
func (s *Service) reissue(ctx context.Context, p dx.Principal, t Transfer) (Transfer, DataAddress, error) {
	if t.State != TransferStarted {
		return t, DataAddress{}, nil
	}
	now := s.now()
	token, hash := newDataToken()
	from := t.State
	t.TokenHash, t.TokenExpires, t.UpdatedAt = hash, now.Add(TokenTTL), now
	ev := dx.NewEvent(now, p, "transfer.token", t.ID, map[string]any{"token_sha256": hash})
	if err := s.Store.UpdateTransfer(ctx, t, from, []dx.Event{ev}); err != nil {
		return t, DataAddress{}, err
	}
	return t, s.address(t, token), nil
}

// visibleTransfer loads a transfer the caller is a party to.
func (s *Service) visibleTransfer(ctx context.Context, p dx.Principal, id string) (Transfer, error) {
	t, err := s.Store.Transfer(ctx, id)
	if dx.ErrorCode(err) == dx.ENotFound || (err == nil && t.ProviderID != p.OrgID && t.ConsumerID != p.OrgID && !p.SeesAll()) {
		return Transfer{}, transferNotFound(id)
	}
	return t, err
}

// Transfer returns a transfer the caller is a party to.
func (s *Service) Transfer(ctx context.Context, id string) (Transfer, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Transfer{}, err
	}
	return s.visibleTransfer(ctx, p, id)
}

// Transfers lists the caller's transfers.
func (s *Service) Transfers(ctx context.Context) ([]Transfer, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.Store.Transfers(ctx, p.ListScope())
}

// ChangeTransfer applies suspend, resume, complete or terminate (either party). Leaving
// STARTED revokes the data-plane token; resuming issues a new one (returned).
func (s *Service) ChangeTransfer(ctx context.Context, id, action, reason string) (t Transfer, addr DataAddress, err error) {
	defer dx.WrapOp(&err, "contract.ChangeTransfer")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return t, addr, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return t, addr, err
	}
	if t, err = s.visibleTransfer(ctx, p, id); err != nil {
		return t, addr, err
	}
	if t.ProviderID != p.OrgID && t.ConsumerID != p.OrgID {
		return Transfer{}, addr, dx.Errorf(dx.EForbidden, "只有传输双方可以操作 / only the parties can change a transfer")
	}
	msg, ok := map[string]TransferMessage{"suspend": TMsgSuspension, "resume": TMsgStart, "complete": TMsgCompletion, "terminate": TMsgTermination}[action]
	if !ok {
		return t, addr, dx.Errorf(dx.EInvalid, "未知操作 %q / unknown action %q (suspend, resume, complete, terminate)", action, action)
	}
	from := t.State
	next, err := NextTransfer(from, msg, t.ProviderID == p.OrgID)
	if err != nil || next == from {
		return t, addr, err
	}
	now := s.now()
	t.State, t.UpdatedAt, t.Reason = next, now, strings.TrimSpace(reason)
	var token string
	if next == TransferStarted {
		var hash string
		token, hash = newDataToken()
		t.TokenHash, t.TokenExpires = hash, now.Add(TokenTTL)
	} else {
		t.TokenHash, t.TokenExpires = "", now
	}
	ev := dx.NewEvent(now, p, "transfer."+strings.ToLower(string(next)), t.ID, map[string]any{"by": p.OrgID, "reason": t.Reason})
	if err := s.Store.UpdateTransfer(ctx, t, from, []dx.Event{ev}); err != nil {
		return Transfer{}, addr, err
	}
	if token != "" {
		addr = s.address(t, token)
	}
	return t, addr, nil
}

// OpenTransfer is the data plane's check of a pull request: the token must belong to a
// STARTED transfer, be unexpired, and the agreement must still allow the use now (not
// revoked, within its time window; the use was counted when the transfer started).
func (s *Service) OpenTransfer(ctx context.Context, id, token string) (Transfer, error) {
	bad := dx.Errorf(dx.EUnauthorized, "传输令牌无效或已过期 / invalid or expired transfer token")
	if !strings.HasPrefix(token, "dxt_") {
		return Transfer{}, bad
	}
	t, err := s.Store.TransferByToken(ctx, TokenHash(token))
	if dx.ErrorCode(err) == dx.ENotFound || (err == nil && t.ID != id) {
		return Transfer{}, bad
	} else if err != nil {
		return Transfer{}, err
	}
	now := s.now()
	if t.State != TransferStarted || !now.Before(t.TokenExpires) {
		return Transfer{}, bad
	}
	rec, err := s.Store.Agreement(ctx, t.AgreementID)
	if err != nil {
		return Transfer{}, err
	}
	if rec.RevokedAt != nil {
		return Transfer{}, dx.Errorf(dx.EForbidden, "协议已撤销 / the agreement was revoked")
	}
	decider, err := Compile(rec.Agreement)
	if err != nil {
		return Transfer{}, err
	}
	req := request(rec.Agreement, now, "download", t.Purpose, 0) // counted at start
	if d := decider.Decide(&req); !d.Allow {
		return Transfer{}, &dx.Error{Code: dx.EForbidden, Details: map[string]any{"reasons": d.Reasons},
			Message: "协议不再允许此传输 / the agreement no longer allows this transfer: " + strings.Join(d.Reasons, "; ")}
	}
	return t, nil
}
