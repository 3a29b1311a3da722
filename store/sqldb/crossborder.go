package sqldb

import (
	"context"
	"database/sql"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/crossborder"
)

// Filings lists a provider's cross-border filings.
func (s *DB) Filings(ctx context.Context, providerID string) ([]crossborder.Filing, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT id, provider_id, kind, reference, valid_until, created_at FROM crossborder_filings WHERE provider_id = ? ORDER BY created_at`), providerID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []crossborder.Filing{}
	for rows.Next() {
		var f crossborder.Filing
		var until, created int64
		if err := rows.Scan(&f.ID, &f.ProviderID, &f.Kind, &f.Reference, &until, &created); err != nil {
			return nil, s.mapErr(err)
		}
		f.ValidUntil, f.CreatedAt = fromMicros(until), fromMicros(created)
		out = append(out, f)
	}
	return out, s.mapErr(rows.Err())
}

// AddFiling records a filing with its events.
func (s *DB) AddFiling(ctx context.Context, f crossborder.Filing, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO crossborder_filings (id, provider_id, kind, reference, valid_until, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
			f.ID, f.ProviderID, f.Kind, f.Reference, micros(f.ValidUntil), micros(f.CreatedAt)); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// UpdateLedger changes a provider's year of person sketches under a row lock.
func (s *DB) UpdateLedger(ctx context.Context, providerID string, year int, fn func(general, sensitive *crossborder.Sketch) ([]dx.Event, error)) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO crossborder_ledger (provider_id, year, general, sensitive) VALUES (?, ?, 0, 0) ON CONFLICT (provider_id, year) DO NOTHING`),
			providerID, year); err != nil {
			return err
		}
		var gb, sb []byte
		if err := s.queryRow(ctx, tx, s.q(`SELECT general_sketch, sensitive_sketch FROM crossborder_ledger WHERE provider_id = ? AND year = ?`+s.d.LockRow()),
			providerID, year).Scan(&gb, &sb); err != nil {
			return err
		}
		var g, sens crossborder.Sketch
		if err := g.UnmarshalBinary(gb); err != nil {
			return err
		}
		if err := sens.UnmarshalBinary(sb); err != nil {
			return err
		}
		events, err := fn(&g, &sens)
		if err != nil {
			return err
		}
		gb, _ = g.MarshalBinary()
		sb, _ = sens.MarshalBinary()
		if _, err := s.exec(ctx, tx, s.q(`UPDATE crossborder_ledger SET general_sketch = ?, sensitive_sketch = ?, general = ?, sensitive = ? WHERE provider_id = ? AND year = ?`),
			gb, sb, g.Estimate(), sens.Estimate(), providerID, year); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}
