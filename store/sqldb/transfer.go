package sqldb

import (
	"context"
	"database/sql"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

const transferCols = `id, consumer_pid, agreement_id, asset_id, version_id, version_number, provider_id, consumer_id, format, purpose, state, token_hash, token_expires, reason, created_at, updated_at, callback`

func scanTransfer(sc interface{ Scan(...any) error }) (contract.Transfer, error) {
	var t contract.Transfer
	var state string
	var expires, created, updated int64
	err := sc.Scan(&t.ID, &t.ConsumerPID, &t.AgreementID, &t.AssetID, &t.VersionID, &t.Version, &t.ProviderID, &t.ConsumerID,
		&t.Format, &t.Purpose, &state, &t.TokenHash, &expires, &t.Reason, &created, &updated, &t.Callback)
	t.State, t.TokenExpires, t.CreatedAt, t.UpdatedAt = contract.TransferState(state), fromMicros(expires), fromMicros(created), fromMicros(updated)
	return t, err
}

// StartTransfer decides, counts and inserts a transfer in one transaction.
func (s *DB) StartTransfer(ctx context.Context, t contract.Transfer, decide func(contract.Record) (policy.Decision, []dx.Event)) (policy.Decision, error) {
	var dec policy.Decision
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRecord(s.queryRow(ctx, tx, s.q(`SELECT `+agreementCols+` FROM agreements WHERE id = ?`+s.d.LockRow()), t.AgreementID))
		if err != nil {
			return err
		}
		var events []dx.Event
		dec, events = decide(r)
		if !dec.Allow {
			return nil
		}
		if _, err := s.exec(ctx, tx, s.q(`UPDATE agreements SET uses = uses + 1 WHERE id = ?`), t.AgreementID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO transfers (`+transferCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.ConsumerPID, t.AgreementID, t.AssetID, t.VersionID, t.Version, t.ProviderID, t.ConsumerID, t.Format, t.Purpose,
			string(t.State), t.TokenHash, micros(t.TokenExpires), t.Reason, micros(t.CreatedAt), micros(t.UpdatedAt), t.Callback); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
	return dec, err
}

func (s *DB) transfer(ctx context.Context, where string, args ...any) (contract.Transfer, error) {
	t, err := scanTransfer(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+transferCols+` FROM transfers WHERE `+where), args...))
	return t, s.mapErr(err)
}

// Transfer returns a transfer.
func (s *DB) Transfer(ctx context.Context, id string) (contract.Transfer, error) {
	return s.transfer(ctx, `id = ?`, id)
}

// TransferByConsumerPID finds a consumer's transfer by its process ID.
func (s *DB) TransferByConsumerPID(ctx context.Context, consumerID, pid string) (contract.Transfer, error) {
	return s.transfer(ctx, `consumer_id = ? AND consumer_pid = ?`, consumerID, pid)
}

// TransferByToken finds the transfer holding a data-plane token (by its hash).
func (s *DB) TransferByToken(ctx context.Context, tokenHash string) (contract.Transfer, error) {
	if tokenHash == "" {
		return contract.Transfer{}, dx.Errorf(dx.ENotFound, "no token")
	}
	return s.transfer(ctx, `token_hash = ?`, tokenHash)
}

// Transfers lists transfers involving orgID ("" for all), newest first.
func (s *DB) Transfers(ctx context.Context, orgID string) ([]contract.Transfer, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT `+transferCols+` FROM transfers WHERE ? = '' OR provider_id = ? OR consumer_id = ? ORDER BY created_at DESC, id LIMIT 1000`), orgID, orgID, orgID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []contract.Transfer{}
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, t)
	}
	return out, s.mapErr(rows.Err())
}

// UpdateTransfer moves a transfer on if it is still in `from`.
func (s *DB) UpdateTransfer(ctx context.Context, t contract.Transfer, from contract.TransferState, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE transfers SET state = ?, token_hash = ?, token_expires = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?`),
			string(t.State), t.TokenHash, micros(t.TokenExpires), t.Reason, micros(t.UpdatedAt), t.ID, string(from))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.EConflict, "传输状态已变化 / the transfer is no longer %s", from)
		}
		return s.insertEvents(ctx, tx, events)
	})
}
