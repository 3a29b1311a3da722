// Package access decides who may fetch an asset's data, in its simplest form: a consumer
// requests access with a stated purpose and the provider approves or rejects. (Usage
// contracts with ODRL policies replace these grants later.) Every fetch passes Fetch,
// which authorises, records a download event and opens the data.
//
// The owner of an asset and everyone, for open data, may fetch without a grant.
// Operators and regulators see every asset's metadata but need a grant for its data.
package access

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/blob"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

// Grant statuses.
const (
	Pending  = "pending"
	Approved = "approved"
	Rejected = "rejected"
	Revoked  = "revoked"
)

// Grant is a consumer's request for access to an asset, and its outcome.
type Grant struct {
	ID         string     `json:"id"`
	AssetID    string     `json:"asset_id"`
	ConsumerID string     `json:"consumer_id"`
	ProviderID string     `json:"provider_id"`
	Purpose    string     `json:"purpose"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"` // the provider's reason for its decision
	CreatedAt  time.Time  `json:"created_at"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
}

// Store is the persistence port of this package.
type Store interface {
	// CreateGrant inserts a pending grant; EConflict if the consumer already has a pending
	// or approved grant on the asset.
	CreateGrant(ctx context.Context, g Grant, events []dx.Event) error
	Grant(ctx context.Context, id string) (Grant, error)
	// DecideGrant moves a grant from status `from` to g.Status; EConflict if it is no
	// longer in `from`.
	DecideGrant(ctx context.Context, g Grant, from string, events []dx.Event) error
	// Grants lists grants where orgID is consumer or provider (all grants if orgID is "").
	Grants(ctx context.Context, orgID, status string) ([]Grant, error)
	// ActiveGrant returns the consumer's approved grant on the asset, or ENotFound.
	ActiveGrant(ctx context.Context, assetID, consumerID string) (Grant, error)
	// RecordEvents stores events that accompany no other change (a download).
	RecordEvents(ctx context.Context, events []dx.Event) error
}

// Service is the use-case layer of access grants and fetches.
type Service struct {
	Store  Store
	Assets *asset.Service
	// Contracts, if set, lets agreements authorise fetches (checked before grants).
	Contracts *contract.Service
	Clock     dx.Clock
	Log       *slog.Logger
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func grantNotFound(id string) error {
	return dx.Errorf(dx.ENotFound, "授权申请不存在 / grant %q not found", id)
}

// Request asks the asset's provider for access, stating the purpose.
func (s *Service) Request(ctx context.Context, assetID, purpose string) (g Grant, err error) {
	defer dx.WrapOp(&err, "access.Request")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return g, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return g, err
	}
	purpose = strings.TrimSpace(purpose)
	if purpose == "" || !utf8.ValidString(purpose) || utf8.RuneCountInString(purpose) > 500 {
		return g, dx.Errorf(dx.EInvalid, "请说明用途（1–500 字）/ state the purpose (1–500 characters)")
	}
	a, err := s.Assets.Asset(ctx, assetID)
	if err != nil {
		return g, err
	}
	if a.OwnerID == p.OrgID {
		return g, dx.Errorf(dx.EInvalid, "不能申请自己的数据 / you own this asset")
	}
	now := s.now()
	g = Grant{ID: dx.NewID(dx.PrefixGrant, now), AssetID: a.ID, ConsumerID: p.OrgID, ProviderID: a.OwnerID,
		Purpose: purpose, Status: Pending, CreatedAt: now}
	ev := dx.NewEvent(now, p, "grant.request", g.ID, map[string]any{"asset": a.ID, "provider": a.OwnerID})
	if err := s.Store.CreateGrant(ctx, g, []dx.Event{ev}); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// Decide approves, rejects or revokes a grant. Only the provider decides: pending grants
// can be approved or rejected, approved ones revoked (effective at once).
func (s *Service) Decide(ctx context.Context, id, status, reason string) (g Grant, err error) {
	defer dx.WrapOp(&err, "access.Decide")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return g, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return g, err
	}
	if !dx.ValidID(dx.PrefixGrant, id) {
		return g, grantNotFound(id)
	}
	g, err = s.Store.Grant(ctx, id)
	if err != nil {
		return g, err
	}
	if g.ProviderID != p.OrgID && g.ConsumerID != p.OrgID && !p.SeesAll() {
		return Grant{}, grantNotFound(id)
	}
	if g.ProviderID != p.OrgID {
		return Grant{}, dx.Errorf(dx.EForbidden, "只有数据提供方可以审批 / only the provider can decide on a grant")
	}
	if utf8.RuneCountInString(reason) > 500 || !utf8.ValidString(reason) {
		return Grant{}, dx.Errorf(dx.EInvalid, "理由最多 500 字 / the reason may have at most 500 characters")
	}
	from := Pending
	switch status {
	case Approved, Rejected:
	case Revoked:
		from = Approved
	default:
		return Grant{}, dx.Errorf(dx.EInvalid, "无效的决定 %q / invalid decision %q (want approved, rejected or revoked)", status, status)
	}
	if g.Status != from {
		return Grant{}, dx.Errorf(dx.EConflict, "授权申请状态为 %s，不能改为 %s / the grant is %s and cannot become %s", g.Status, status, g.Status, status)
	}
	now := s.now()
	g.Status, g.Reason, g.DecidedAt = status, reason, &now
	ev := dx.NewEvent(now, p, "grant."+status, g.ID, map[string]any{"asset": g.AssetID, "consumer": g.ConsumerID, "status": status})
	if err := s.Store.DecideGrant(ctx, g, from, []dx.Event{ev}); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// Grants lists the caller's grants, as consumer or provider (operators and regulators:
// all), optionally only those with status.
func (s *Service) Grants(ctx context.Context, status string) ([]Grant, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.Store.Grants(ctx, p.ListScope(), status)
}

// Fetch authorises the caller to fetch version n (0: latest) of an asset in format for
// purpose ("" for the one its agreement pins), records the download and opens the data.
// The basis is ownership, open data, an agreement that allows the use (counted), or an
// approved grant; without one it is EForbidden with the reasons; for an asset the caller
// cannot see, ENotFound.
func (s *Service) Fetch(ctx context.Context, assetID string, n int, format, purpose string) (f blob.File, v asset.Version, err error) {
	defer dx.WrapOp(&err, "access.Fetch")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, v, err
	}
	a, v, err := s.Assets.Version(ctx, assetID, n)
	if err != nil {
		return nil, v, err
	}
	basis := "owner"
	switch {
	case a.OwnerID == p.OrgID:
	case a.Meta.Visibility == asset.Open:
		basis = "open"
	default:
		var denied error
		if s.Contracts != nil {
			id, err := s.Contracts.Use(ctx, a.ID, v.ID, "download", purpose)
			switch {
			case err == nil:
				basis = id
			case err == contract.ErrNoAgreement:
			case dx.ErrorCode(err) == dx.EForbidden:
				denied = err
			default:
				return nil, v, err
			}
		}
		if basis != "owner" {
			break
		}
		g, err := s.Store.ActiveGrant(ctx, a.ID, p.OrgID)
		if dx.ErrorCode(err) == dx.ENotFound {
			if denied != nil {
				return nil, v, denied
			}
			return nil, v, dx.Errorf(dx.EForbidden, "没有协议或已批准的授权，请先申请 / no agreement or approved grant: negotiate or request access first (dx access request %s)", a.ID)
		} else if err != nil {
			return nil, v, err
		}
		basis = g.ID
	}
	if format == "" {
		format = "csv"
	}
	to := asset.Recipient{Owner: basis == "owner", OrgID: p.OrgID, Purpose: purpose, Country: p.Country}
	if s.Contracts != nil && strings.HasPrefix(basis, "urn:uuid:") { // an agreement
		if rec, err := s.Contracts.Store.Agreement(ctx, basis); err == nil {
			to.Pseudonymise = policy.RequiresAnonymize(rec.Agreement.Policy)
		}
	}
	f, masked, err := s.Assets.Egress(ctx, v, format, to)
	if err != nil {
		if dx.ErrorCode(err) == dx.EForbidden {
			s.Store.RecordEvents(ctx, []dx.Event{dx.NewEvent(s.now(), p, "asset.download.refused", v.ID, map[string]any{"asset": a.ID, "basis": basis, "code": dx.ErrorDetails(err)["code"]})})
		}
		return nil, v, err
	}
	ev := dx.NewEvent(s.now(), p, "asset.download", v.ID, map[string]any{"asset": a.ID, "version": v.Number, "format": format, "basis": basis, "masked": masked})
	if err := s.Store.RecordEvents(ctx, []dx.Event{ev}); err != nil {
		f.Close()
		return nil, v, err
	}
	return f, v, nil
}
