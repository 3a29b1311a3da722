package sqldb

import (
	"context"
	"database/sql"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
)

const remoteTransferCols = `consumer_pid, org_id, peer, provider_pid, agreement_id, state, endpoint, token, expires_at, reason, created_at, updated_at`

func scanRemoteTransfer(sc interface{ Scan(...any) error }) (contract.RemoteTransfer, error) {
	var t contract.RemoteTransfer
	var state string
	var expires, created, updated int64
	err := sc.Scan(&t.ConsumerPID, &t.OrgID, &t.Peer, &t.ProviderPID, &t.AgreementID, &state, &t.Endpoint, &t.Token, &expires, &t.Reason, &created, &updated)
	t.State, t.ExpiresAt, t.CreatedAt, t.UpdatedAt = contract.TransferState(state), fromMicros(expires), fromMicros(created), fromMicros(updated)
	return t, err
}

// CreateRemoteTransfer stores a new transfer from a peer.
func (s *DB) CreateRemoteTransfer(ctx context.Context, t contract.RemoteTransfer, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO remote_transfers (`+remoteTransferCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ConsumerPID, t.OrgID, t.Peer, t.ProviderPID, t.AgreementID, string(t.State), t.Endpoint, t.Token, micros(t.ExpiresAt), t.Reason, micros(t.CreatedAt), micros(t.UpdatedAt)); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// RemoteTransfer returns a transfer from a peer by its consumer PID.
func (s *DB) RemoteTransfer(ctx context.Context, consumerPID string) (contract.RemoteTransfer, error) {
	t, err := scanRemoteTransfer(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+remoteTransferCols+` FROM remote_transfers WHERE consumer_pid = ?`), consumerPID))
	return t, s.mapErr(err)
}

// RemoteTransfers lists transfers from peers of orgID ("" for all), newest first.
func (s *DB) RemoteTransfers(ctx context.Context, orgID string) ([]contract.RemoteTransfer, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT `+remoteTransferCols+` FROM remote_transfers WHERE ? = '' OR org_id = ? ORDER BY created_at DESC LIMIT 1000`), orgID, orgID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []contract.RemoteTransfer{}
	for rows.Next() {
		t, err := scanRemoteTransfer(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, t)
	}
	return out, s.mapErr(rows.Err())
}

// UpdateRemoteTransfer moves a transfer from a peer on if it is still in `from`.
func (s *DB) UpdateRemoteTransfer(ctx context.Context, t contract.RemoteTransfer, from contract.TransferState, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE remote_transfers SET provider_pid = ?, state = ?, endpoint = ?, token = ?, expires_at = ?, reason = ?, updated_at = ? WHERE consumer_pid = ? AND state = ?`),
			t.ProviderPID, string(t.State), t.Endpoint, t.Token, micros(t.ExpiresAt), t.Reason, micros(t.UpdatedAt), t.ConsumerPID, string(from))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.EConflict, "传输状态已变化 / the transfer is no longer %s", from)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// SetRemoteTransferProviderPID records the provider's process ID once, whatever the state.
func (s *DB) SetRemoteTransferProviderPID(ctx context.Context, consumerPID, providerPID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`UPDATE remote_transfers SET provider_pid = ? WHERE consumer_pid = ? AND provider_pid = ''`), providerPID, consumerPID)
		return err
	})
}
