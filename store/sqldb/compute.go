package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/compute"
)

// ComputeSettings returns an asset's compute settings.
func (s *DB) ComputeSettings(ctx context.Context, assetID string) (compute.Settings, error) {
	st := compute.Settings{AssetID: assetID}
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT unit_column, max_groups, snapshot_rows FROM compute_settings WHERE asset_id = ?`), assetID).Scan(&st.UnitColumn, &st.MaxGroups, &st.SnapshotRows)
	if err == sql.ErrNoRows {
		return st, dx.Errorf(dx.ENotFound, "数据提供方尚未开放计算 / the provider has not set up computing on asset %q", assetID)
	}
	return st, s.mapErr(err)
}

// SetComputeSettings stores an asset's compute settings.
func (s *DB) SetComputeSettings(ctx context.Context, st compute.Settings, at time.Time, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO compute_settings (asset_id, unit_column, max_groups, snapshot_rows, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (asset_id) DO UPDATE SET unit_column = excluded.unit_column, max_groups = excluded.max_groups, snapshot_rows = excluded.snapshot_rows, updated_at = excluded.updated_at`),
			st.AssetID, st.UnitColumn, st.MaxGroups, st.SnapshotRows, micros(at)); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// budgetSlack absorbs floating-point error in sums of budgets.
const budgetSlack = 1e-12

func (s *DB) ledger(ctx context.Context, q querier, agreementID string) (compute.Ledger, error) {
	l := compute.Ledger{AgreementID: agreementID}
	rows, err := s.query(ctx, q, s.q(`SELECT state, coalesce(sum(epsilon), 0), coalesce(sum(delta), 0), coalesce(sum(rho), 0), count(*) FROM dp_reservations
		WHERE agreement_id = ? AND state <> 'released' GROUP BY state`), agreementID)
	if err != nil {
		return l, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var b compute.Budget
		var n int64
		if err := rows.Scan(&state, &b.Epsilon, &b.Delta, &b.Rho, &n); err != nil {
			return l, err
		}
		if state == "committed" {
			l.Spent, l.Queries = b, n
		} else {
			l.Reserved = b
		}
	}
	return l, rows.Err()
}

// Reserve claims budget under the agreement's row lock.
func (s *DB) Reserve(ctx context.Context, r compute.Reservation, total compute.Budget) (compute.Ledger, bool, error) {
	var l compute.Ledger
	ok := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id string
		if err := s.queryRow(ctx, tx, s.q(`SELECT id FROM agreements WHERE id = ?`+s.d.LockRow()), r.AgreementID).Scan(&id); err != nil {
			return err
		}
		var err error
		if l, err = s.ledger(ctx, tx, r.AgreementID); err != nil {
			return err
		}
		used := func(get func(compute.Budget) float64) float64 { return get(l.Spent) + get(l.Reserved) + get(r.Cost) }
		if used(func(b compute.Budget) float64 { return b.Epsilon }) > total.Epsilon+budgetSlack ||
			used(func(b compute.Budget) float64 { return b.Delta }) > total.Delta+budgetSlack ||
			used(func(b compute.Budget) float64 { return b.Rho }) > total.Rho+budgetSlack {
			return nil
		}
		ok = true
		_, err = s.exec(ctx, tx, s.q(`INSERT INTO dp_reservations (id, agreement_id, query_hash, epsilon, delta, rho, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'reserved', ?)`),
			r.ID, r.AgreementID, r.QueryHash, r.Cost.Epsilon, r.Cost.Delta, r.Cost.Rho, micros(r.At))
		return err
	})
	if dx.ErrorCode(err) == dx.ENotFound {
		return l, false, dx.Errorf(dx.ENotFound, "协议不存在 / agreement %q not found", r.AgreementID)
	}
	return l, ok, err
}

// Settle commits or releases a reservation.
func (s *DB) Settle(ctx context.Context, id string, commit bool, events []dx.Event) error {
	state := map[bool]string{true: "committed", false: "released"}[commit]
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE dp_reservations SET state = ? WHERE id = ? AND state = 'reserved'`), state, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.EConflict, "预留不存在或已结算 / reservation %q is not open", id)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// BudgetLedger returns an agreement's ledger.
func (s *DB) BudgetLedger(ctx context.Context, agreementID string) (compute.Ledger, error) {
	l, err := s.ledger(ctx, s.conn(ctx), agreementID)
	return l, s.mapErr(err)
}

// CommitStale commits reservations older than before.
func (s *DB) CommitStale(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE dp_reservations SET state = 'committed' WHERE state = 'reserved' AND created_at < ?`), micros(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), s.mapErr(err)
}

// Answer returns a released answer by cache key.
func (s *DB) Answer(ctx context.Context, key string) ([]byte, error) {
	var a string
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT answer FROM dp_answers WHERE cache_key = ?`), key).Scan(&a)
	if err == sql.ErrNoRows {
		return nil, dx.Errorf(dx.ENotFound, "no cached answer")
	}
	return []byte(a), s.mapErr(err)
}

// SaveAnswer keeps a released answer; the first under a key wins.
func (s *DB) SaveAnswer(ctx context.Context, key, agreementID string, answer []byte, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO dp_answers (cache_key, agreement_id, answer, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (cache_key) DO NOTHING`),
			key, agreementID, string(answer), micros(at))
		return err
	})
}

// Snapshot returns the blob digest of a bounded snapshot.
func (s *DB) Snapshot(ctx context.Context, versionID, agreementID string) (string, error) {
	var d string
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT digest FROM dp_snapshots WHERE version_id = ? AND agreement_id = ?`), versionID, agreementID).Scan(&d)
	if err == sql.ErrNoRows {
		return "", dx.Errorf(dx.ENotFound, "no snapshot")
	}
	return d, s.mapErr(err)
}

// SaveSnapshot records a bounded snapshot; the first one recorded stays.
func (s *DB) SaveSnapshot(ctx context.Context, versionID, agreementID, digest string, rows int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO dp_snapshots (version_id, agreement_id, digest, row_count, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (version_id, agreement_id) DO NOTHING`),
			versionID, agreementID, digest, rows, micros(at))
		return err
	})
}
