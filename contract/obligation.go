package contract

import (
	"context"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/policy"
)

// Obligation statuses.
const (
	ObligationPending   = "pending"   // the duty's trigger has not happened
	ObligationDue       = "due"       // triggered; to be fulfilled by DueAt
	ObligationOverdue   = "overdue"   // past DueAt and not fulfilled
	ObligationFulfilled = "fulfilled" // the consumer attested it
)

// Obligation is a duty of an agreement's consumer, tracked for both parties.
type Obligation struct {
	AgreementID string     `json:"agreement_id"`
	AssetID     string     `json:"asset_id"`
	ProviderID  string     `json:"provider_id"`
	ConsumerID  string     `json:"consumer_id"`
	Action      string     `json:"action"` // odrl:delete
	Status      string     `json:"status"`
	Trigger     string     `json:"trigger,omitempty"` // revoked or expired
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	DueAt       *time.Time `json:"due_at,omitempty"`
	FulfilledAt *time.Time `json:"fulfilled_at,omitempty"`
	Note        string     `json:"note,omitempty"`
}

// Duty is a stored fulfilment attestation.
type Duty struct {
	AgreementID string
	Action      string
	FulfilledAt time.Time
	FulfilledBy string
	Note        string
}

// DutyStore is the persistence port of duty attestations (part of Store).
type DutyStore interface {
	// FulfilDuty records an attestation; EConflict if the duty was attested before.
	FulfilDuty(ctx context.Context, d Duty, events []dx.Event) error
	Duties(ctx context.Context, agreementID string) ([]Duty, error)
}

// deleteWithin returns the time allowed to delete copies after an agreement ends, from an
// obligation odrl:delete with elapsedTime lteq D.
func deleteWithin(p policy.Policy) (months, secs int64, ok bool) {
	for _, r := range p.Obligation {
		if r.Action != "odrl:delete" {
			continue
		}
		for _, c := range r.Constraint {
			if c.Logic == "" && c.Left == policy.ElapsedTime && (c.Op == "lteq" || c.Op == "lt") {
				return policy.Duration(c.Right[0])
			}
		}
		return 0, 0, true // delete at once
	}
	return 0, 0, false
}

// validUntil is when an agreement's use ends by time: the earlier of its dateTime upper
// bound and its timestamp plus elapsedTime; zero if unbounded.
func validUntil(p policy.Policy) time.Time {
	var until time.Time
	agreed, _ := time.Parse(time.RFC3339Nano, p.Timestamp)
	earlier := func(t time.Time) {
		if until.IsZero() || t.Before(until) {
			until = t
		}
	}
	for _, r := range p.Permission {
		for _, c := range r.Constraint {
			switch {
			case c.Logic != "":
			case c.Left == policy.DateTime && (c.Op == "lt" || c.Op == "lteq"):
				if t, err := time.Parse(time.RFC3339Nano, c.Right[0]); err == nil {
					earlier(t)
				}
			case c.Left == policy.ElapsedTime && (c.Op == "lt" || c.Op == "lteq") && !agreed.IsZero():
				if m, s, ok := policy.Duration(c.Right[0]); ok {
					earlier(agreed.AddDate(0, int(m), 0).Add(time.Duration(s) * time.Second))
				}
			}
		}
	}
	return until
}

// obligationsOf computes the delete obligation of one agreement at now.
func obligationsOf(rec Record, duties []Duty, now time.Time) []Obligation {
	months, secs, ok := deleteWithin(rec.Agreement.Policy)
	if !ok {
		return nil
	}
	o := Obligation{AgreementID: rec.ID, AssetID: rec.AssetID, ProviderID: rec.ProviderID, ConsumerID: rec.ConsumerID,
		Action: "odrl:delete", Status: ObligationPending}
	var ended time.Time
	switch until := validUntil(rec.Agreement.Policy); {
	case rec.RevokedAt != nil && (until.IsZero() || rec.RevokedAt.Before(until)):
		ended, o.Trigger = *rec.RevokedAt, "revoked"
	case !until.IsZero() && !now.Before(until):
		ended, o.Trigger = until, "expired"
	}
	if !ended.IsZero() {
		due := ended.AddDate(0, int(months), 0).Add(time.Duration(secs) * time.Second)
		o.EndedAt, o.DueAt, o.Status = &ended, &due, ObligationDue
		if now.After(due) {
			o.Status = ObligationOverdue
		}
	}
	for _, d := range duties {
		if d.Action == o.Action {
			at := d.FulfilledAt
			o.Status, o.FulfilledAt, o.Note = ObligationFulfilled, &at, d.Note
		}
	}
	return []Obligation{o}
}

// Obligations lists the duties of the caller's agreements (as provider or consumer;
// operators and regulators: all) with their status now, overdue ones first.
func (s *Service) Obligations(ctx context.Context) ([]Obligation, error) {
	recs, err := s.Agreements(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out, rest []Obligation
	for _, rec := range recs {
		duties, err := s.Store.Duties(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		for _, o := range obligationsOf(rec, duties, now) {
			if o.Status == ObligationOverdue {
				out = append(out, o)
			} else {
				rest = append(rest, o)
			}
		}
	}
	return append(out, rest...), nil
}

// FulfilDelete records the consumer's attestation that it deleted its copies.
func (s *Service) FulfilDelete(ctx context.Context, agreementID, note string) (err error) {
	defer dx.WrapOp(&err, "contract.FulfilDelete")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return err
	}
	rec, err := s.Agreement(ctx, agreementID)
	if err != nil {
		return err
	}
	if rec.ConsumerID != p.OrgID {
		return dx.Errorf(dx.EForbidden, "只有使用方可以声明已删除 / only the consumer attests deletion")
	}
	if _, _, ok := deleteWithin(rec.Agreement.Policy); !ok {
		return dx.Errorf(dx.EInvalid, "该协议没有删除义务 / this agreement has no delete duty")
	}
	now := s.now()
	ev := dx.NewEvent(now, p, "obligation.fulfilled", rec.ID, map[string]any{"action": "odrl:delete"})
	return s.Store.FulfilDuty(ctx, Duty{AgreementID: rec.ID, Action: "odrl:delete", FulfilledAt: now, FulfilledBy: p.OrgID, Note: strings.TrimSpace(note)}, []dx.Event{ev})
}
