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

// Ledger returns a provider's year-to-date cross-border counts.
func (s *DB) Ledger(ctx context.Context, providerID string, year int) (int64, int64, error) {
	var g, sens int64
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT general, sensitive FROM crossborder_ledger WHERE provider_id = ? AND year = ?`), providerID, year).Scan(&g, &sens)
	if err == sql.ErrNoRows {
		return 0, 0, nil
	}
	return g, sens, s.mapErr(err)
}

// AddToLedger adds a delivery to a provider's year-to-date counts.
func (s *DB) AddToLedger(ctx context.Context, providerID string, year int, general, sensitive int64, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO crossborder_ledger (provider_id, year, general, sensitive) VALUES (?, ?, ?, ?)
			ON CONFLICT (provider_id, year) DO UPDATE SET general = crossborder_ledger.general + excluded.general, sensitive = crossborder_ledger.sensitive + excluded.sensitive`),
			providerID, year, general, sensitive); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}
