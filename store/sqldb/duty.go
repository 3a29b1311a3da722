package sqldb

import (
	"context"
	"database/sql"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
)

// FulfilDuty records a duty's fulfilment, once.
func (s *DB) FulfilDuty(ctx context.Context, d contract.Duty, events []dx.Event) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO agreement_duties (agreement_id, action, fulfilled_at, fulfilled_by, note) VALUES (?, ?, ?, ?, ?)`),
			d.AgreementID, d.Action, micros(d.FulfilledAt), d.FulfilledBy, d.Note); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
	if dx.ErrorCode(err) == dx.EConflict {
		return dx.Errorf(dx.EConflict, "义务已履行 / the duty was already fulfilled")
	}
	return err
}

// Duties lists an agreement's fulfilled duties.
func (s *DB) Duties(ctx context.Context, agreementID string) ([]contract.Duty, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT agreement_id, action, fulfilled_at, fulfilled_by, note FROM agreement_duties WHERE agreement_id = ? ORDER BY action`), agreementID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	var out []contract.Duty
	for rows.Next() {
		var d contract.Duty
		var at int64
		if err := rows.Scan(&d.AgreementID, &d.Action, &at, &d.FulfilledBy, &d.Note); err != nil {
			return nil, s.mapErr(err)
		}
		d.FulfilledAt = fromMicros(at)
		out = append(out, d)
	}
	return out, s.mapErr(rows.Err())
}
