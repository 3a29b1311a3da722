package sqldb

import (
	"context"
	"database/sql"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/access"
)

const grantCols = `id, asset_id, consumer_id, provider_id, purpose, status, reason, created_at, decided_at`

func scanGrant(sc interface{ Scan(...any) error }) (access.Grant, error) {
	var g access.Grant
	var created int64
	var decided sql.NullInt64
	if err := sc.Scan(&g.ID, &g.AssetID, &g.ConsumerID, &g.ProviderID, &g.Purpose, &g.Status, &g.Reason, &created, &decided); err != nil {
		return g, err
	}
	g.CreatedAt = fromMicros(created)
	if decided.Valid {
		d := fromMicros(decided.Int64)
		g.DecidedAt = &d
	}
	return g, nil
}

// CreateGrant inserts a pending grant.
func (s *DB) CreateGrant(ctx context.Context, g access.Grant, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO grants (`+grantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`),
			g.ID, g.AssetID, g.ConsumerID, g.ProviderID, g.Purpose, g.Status, g.Reason, micros(g.CreatedAt))
		if dx.ErrorCode(s.mapErr(err)) == dx.EConflict {
			return dx.Errorf(dx.EConflict, "已有待审批或已批准的申请 / there is already a pending or approved grant for this asset")
		} else if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// Grant returns a grant.
func (s *DB) Grant(ctx context.Context, id string) (access.Grant, error) {
	g, err := scanGrant(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+grantCols+` FROM grants WHERE id = ?`), id))
	if err == sql.ErrNoRows {
		return g, dx.Errorf(dx.ENotFound, "授权申请不存在 / grant %q not found", id)
	}
	return g, s.mapErr(err)
}

// DecideGrant changes a grant's status if it is still `from`.
func (s *DB) DecideGrant(ctx context.Context, g access.Grant, from string, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var decided any
		if g.DecidedAt != nil {
			decided = micros(*g.DecidedAt)
		}
		res, err := s.exec(ctx, tx, s.q(`UPDATE grants SET status = ?, reason = ?, decided_at = ? WHERE id = ? AND status = ?`),
			g.Status, g.Reason, decided, g.ID, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.EConflict, "授权申请状态已变化 / the grant is no longer %s", from)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// Grants lists grants involving orgID (all if "").
func (s *DB) Grants(ctx context.Context, orgID, status string) ([]access.Grant, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT `+grantCols+` FROM grants
		WHERE (? = '' OR consumer_id = ? OR provider_id = ?) AND (? = '' OR status = ?) ORDER BY id DESC LIMIT 1000`),
		orgID, orgID, orgID, status, status)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []access.Grant{}
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, g)
	}
	return out, s.mapErr(rows.Err())
}

// ActiveGrant returns the consumer's approved grant on an asset.
func (s *DB) ActiveGrant(ctx context.Context, assetID, consumerID string) (access.Grant, error) {
	g, err := scanGrant(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+grantCols+` FROM grants WHERE asset_id = ? AND consumer_id = ? AND status = 'approved'`), assetID, consumerID))
	if err == sql.ErrNoRows {
		return g, dx.Errorf(dx.ENotFound, "没有已批准的授权 / no approved grant")
	}
	return g, s.mapErr(err)
}
