package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/dxexchange/dx"
)

// UseNonce records a request nonce, and fails with EConflict if it was seen before
// (a replay). Nonces older than the replay window are forgotten on the way.
func (s *DB) UseNonce(ctx context.Context, nonce string, at time.Time, window time.Duration) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`DELETE FROM dsp_nonces WHERE seen_at < ?`), micros(at.Add(-window))); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO dsp_nonces (nonce, seen_at) VALUES (?, ?)`), nonce, micros(at))
		return err
	})
	if dx.ErrorCode(err) == dx.EConflict {
		return dx.Errorf(dx.EConflict, "请求已被使用（重放）/ replayed request")
	}
	return err
}
