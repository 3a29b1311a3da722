// Package audit owns the audit trail: the events that every state change writes in its
// own transaction. This first form lets operators and regulators read them in order; the
// tamper-evident Merkle log that integrates them (by Seq) builds on the same table.
package audit

import (
	"context"

	"github.com/dxexchange/dx"
)

// Store is the persistence port of this package.
type Store interface {
	// Events returns up to limit events with Seq > after, in Seq order.
	Events(ctx context.Context, after int64, limit int) ([]dx.Event, error)
}

// Service reads the audit trail.
type Service struct {
	Store Store
}

// Events returns events after a sequence number. Operators and regulators only.
func (s *Service) Events(ctx context.Context, after int64, limit int) ([]dx.Event, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.SeesAll() {
		return nil, dx.Errorf(dx.EForbidden, "只有运营方和监管方可以读取审计事件 / only operators and regulators can read audit events")
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return s.Store.Events(ctx, after, limit)
}
