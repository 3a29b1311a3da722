package asset

import (
	"context"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/classify"
)

// Grade is a version's grading as decided: the latest proposal (nil: the one stored
// with the version) and the decision of the provider or the operator, with who and why.
type Grade struct {
	VersionID string             `json:"version_id"`
	AssetID   string             `json:"asset_id"`
	Proposal  *classify.Proposal `json:"proposal,omitempty"`
	Level     int                `json:"level,omitempty"` // decided level; 0 if undecided
	Important bool               `json:"important"`       // confirmed 重要数据
	Core      bool               `json:"core"`            // 核心数据: never leaves
	Approved  bool               `json:"approved"`        // the operator allows important data to leave
	DecidedBy string             `json:"decided_by,omitempty"`
	Reason    string             `json:"reason,omitempty"`
	UpdatedAt time.Time          `json:"updated_at"`
}

// GradeStore persists grades (part of Store).
type GradeStore interface {
	// Grade returns a version's grade (ENotFound if never classified again or decided).
	Grade(ctx context.Context, versionID string) (Grade, error)
	// SaveGrade stores a version's grade with its events.
	SaveGrade(ctx context.Context, g Grade, events []dx.Event) error
}

// Decision is what a provider or the operator decides about a version's grade.
type Decision struct {
	Level     int    `json:"level"` // 1–4
	Important bool   `json:"important"`
	Core      bool   `json:"core"`
	Approve   bool   `json:"approve_egress"` // operator only: important data may leave
	Reason    string `json:"reason"`
}

// gradeOf returns a version's grade and the proposal in force.
func (s *Service) gradeOf(ctx context.Context, v Version) (Grade, *classify.Proposal, error) {
	g, err := s.Store.Grade(ctx, v.ID)
	if err != nil && dx.ErrorCode(err) != dx.ENotFound {
		return g, nil, err
	}
	p := v.Classification
	if g.Proposal != nil {
		p = g.Proposal
	}
	return g, p, nil
}

// Reclassify classifies an asset's latest version again (owner or operator) and keeps
// the decision made before.
func (s *Service) Reclassify(ctx context.Context, assetID string) (g Grade, err error) {
	defer dx.WrapOp(&err, "asset.Reclassify")
	p, a, v, err := s.gradable(ctx, assetID)
	if err != nil {
		return g, err
	}
	path, err := s.Blobs.Path(v.Digest)
	if err != nil {
		return g, err
	}
	scan := v
	if err := s.classifyFile(ctx, path, &scan, s.now()); err != nil {
		return g, err
	}
	if g, err = s.Store.Grade(ctx, v.ID); err != nil && dx.ErrorCode(err) != dx.ENotFound {
		return g, err
	}
	g.VersionID, g.AssetID, g.Proposal, g.UpdatedAt = v.ID, a.ID, scan.Classification, s.now()
	ev := dx.NewEvent(g.UpdatedAt, p, "asset.classified", v.ID, map[string]any{"asset": a.ID, "level": scan.Classification.Level,
		"sensitive": scan.Classification.Sensitive, "minors": scan.Classification.Minors, "important_candidate": scan.Classification.ImportantCandidate})
	return g, s.Store.SaveGrade(ctx, g, []dx.Event{ev})
}

// Decide records the provider's or the operator's decision on an asset's latest
// version: a provider may confirm or raise the level and mark important or core data;
// only the operator may lower the level below the proposal or let important data leave.
func (s *Service) Decide(ctx context.Context, assetID string, d Decision) (g Grade, err error) {
	defer dx.WrapOp(&err, "asset.Decide")
	p, a, v, err := s.gradable(ctx, assetID)
	if err != nil {
		return g, err
	}
	d.Reason = strings.TrimSpace(d.Reason)
	if d.Level < 1 || d.Level > 4 || d.Reason == "" {
		return g, dx.Errorf(dx.EInvalid, "需要 1–4 级和理由 / a level 1–4 and a reason are required")
	}
	g, prop, err := s.gradeOf(ctx, v)
	if err != nil {
		return g, err
	}
	operator := p.HasRole(dx.RoleOperator)
	if !operator {
		if prop != nil && d.Level < prop.Level {
			return g, dx.Errorf(dx.EForbidden, "只有运营方可以把级别降到建议（%d级）以下 / only the operator may set a level below the proposal (%d)", prop.Level, prop.Level)
		}
		if d.Approve {
			return g, dx.Errorf(dx.EForbidden, "只有运营方可以批准重要数据流出 / only the operator may let important data leave")
		}
	}
	g.VersionID, g.AssetID, g.Level, g.Important, g.Core, g.Approved = v.ID, a.ID, d.Level, d.Important, d.Core, d.Approve && d.Important
	g.DecidedBy, g.Reason, g.UpdatedAt = p.OrgID, d.Reason, s.now()
	ev := dx.NewEvent(g.UpdatedAt, p, "asset.graded", v.ID, map[string]any{"asset": a.ID, "level": g.Level, "important": g.Important,
		"core": g.Core, "approved": g.Approved, "by": p.OrgID, "reason": g.Reason})
	return g, s.Store.SaveGrade(ctx, g, []dx.Event{ev})
}

// GradeOf returns the grade of an asset's latest version as its viewers may see it.
func (s *Service) GradeOf(ctx context.Context, v Version) (Grade, error) {
	g, p, err := s.gradeOf(ctx, v)
	g.VersionID, g.AssetID, g.Proposal = v.ID, v.AssetID, p
	return g, err
}

// gradable checks that the caller may grade the asset (its owner or the operator) and
// returns its latest version.
func (s *Service) gradable(ctx context.Context, assetID string) (dx.Principal, Asset, Version, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return p, Asset{}, Version{}, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return p, Asset{}, Version{}, err
	}
	a, v, err := s.Version(ctx, assetID, 0)
	if err != nil {
		return p, a, v, err
	}
	if a.OwnerID != p.OrgID && !p.HasRole(dx.RoleOperator) {
		return p, a, v, dx.Errorf(dx.EForbidden, "只有提供方或运营方可以定级 / only the provider or the operator grades an asset")
	}
	return p, a, v, nil
}
