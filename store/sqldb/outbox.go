package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/dxexchange/dx/outbox"
)

// Enqueue stores an outbound message.
func (s *DB) Enqueue(ctx context.Context, m outbox.Message) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO outbox (id, url, body, attempts, next_at, created_at) VALUES (?, ?, ?, 0, ?, ?)`),
			m.ID, m.URL, string(m.Body), micros(m.NextAt), micros(m.CreatedAt))
		return err
	})
}

// Claim takes up to limit messages due at now and leases them until now+lease, so that
// another worker (another replica) does not send them meanwhile.
func (s *DB) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]outbox.Message, error) {
	var out []outbox.Message
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := s.query(ctx, tx, s.q(`SELECT id, url, body, attempts, next_at, created_at FROM outbox WHERE sent_at IS NULL AND next_at <= ? ORDER BY next_at LIMIT ?`+s.d.LockRow()+s.d.SkipLocked()), micros(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var m outbox.Message
			var body string
			var next, created int64
			if err := rows.Scan(&m.ID, &m.URL, &body, &m.Attempts, &next, &created); err != nil {
				rows.Close()
				return err
			}
			m.Body, m.NextAt, m.CreatedAt = []byte(body), fromMicros(next), fromMicros(created)
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range out {
			if _, err := s.exec(ctx, tx, s.q(`UPDATE outbox SET next_at = ? WHERE id = ?`), micros(now.Add(lease)), m.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Sent marks a message delivered.
func (s *DB) Sent(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?`), micros(at), id)
		return err
	})
}

// Retry records a failed attempt and when to try again (never, with a zero time: given up).
func (s *DB) Retry(ctx context.Context, id string, next time.Time, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if next.IsZero() { // given up: keep it, but never due again
			_, err := s.exec(ctx, tx, s.q(`UPDATE outbox SET attempts = attempts + 1, sent_at = -1, last_error = ? WHERE id = ?`), reason, id)
			return err
		}
		_, err := s.exec(ctx, tx, s.q(`UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?`), micros(next), reason, id)
		return err
	})
}
