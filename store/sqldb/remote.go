package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

const remoteCols = `consumer_pid, org_id, peer, provider_pid, dataset_id, offer_id, state, terms, agreement, reason, created_at, updated_at`

func remoteArgs(r contract.RemoteNegotiation) ([]any, error) {
	terms, err := policyText(r.Terms)
	if err != nil {
		return nil, err
	}
	doc := ""
	if r.Agreement != nil {
		b, err := json.Marshal(*r.Agreement)
		if err != nil {
			return nil, err
		}
		doc = string(b)
	}
	return []any{r.ConsumerPID, r.OrgID, r.Peer, r.ProviderPID, r.DatasetID, r.OfferID, string(r.State), terms, doc, r.Reason, micros(r.CreatedAt), micros(r.UpdatedAt)}, nil
}

func scanRemote(sc interface{ Scan(...any) error }) (contract.RemoteNegotiation, error) {
	var r contract.RemoteNegotiation
	var state, terms, doc string
	var created, updated int64
	if err := sc.Scan(&r.ConsumerPID, &r.OrgID, &r.Peer, &r.ProviderPID, &r.DatasetID, &r.OfferID, &state, &terms, &doc, &r.Reason, &created, &updated); err != nil {
		return r, err
	}
	p, err := policy.Parse([]byte(terms))
	if err != nil {
		return r, err
	}
	r.Terms, r.State, r.CreatedAt, r.UpdatedAt = p, contract.State(state), fromMicros(created), fromMicros(updated)
	if doc != "" {
		a, err := contract.ParseDocument([]byte(doc))
		if err != nil {
			return r, err
		}
		r.Agreement = &a
	}
	return r, nil
}

// CreateRemote stores a new negotiation with a peer.
func (s *DB) CreateRemote(ctx context.Context, r contract.RemoteNegotiation, events []dx.Event) error {
	args, err := remoteArgs(r)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO remote_negotiations (`+remoteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// Remote returns a negotiation with a peer by its consumer PID.
func (s *DB) Remote(ctx context.Context, consumerPID string) (contract.RemoteNegotiation, error) {
	r, err := scanRemote(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+remoteCols+` FROM remote_negotiations WHERE consumer_pid = ?`), consumerPID))
	return r, s.mapErr(err)
}

// RemoteNegotiations lists negotiations with peers of orgID ("" for all), newest first.
func (s *DB) RemoteNegotiations(ctx context.Context, orgID string) ([]contract.RemoteNegotiation, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT `+remoteCols+` FROM remote_negotiations WHERE ? = '' OR org_id = ? ORDER BY created_at DESC LIMIT 1000`), orgID, orgID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []contract.RemoteNegotiation{}
	for rows.Next() {
		r, err := scanRemote(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, r)
	}
	return out, s.mapErr(rows.Err())
}

// UpdateRemote moves a negotiation with a peer on if it is still in `from`.
func (s *DB) UpdateRemote(ctx context.Context, r contract.RemoteNegotiation, from contract.State, events []dx.Event) error {
	args, err := remoteArgs(r)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		agreementID := ""
		if r.Agreement != nil {
			agreementID = r.Agreement.Policy.ID
		}
		res, err := s.exec(ctx, tx, s.q(`UPDATE remote_negotiations SET provider_pid = ?, state = ?, agreement = ?, agreement_id = ?, reason = ?, updated_at = ? WHERE consumer_pid = ? AND state = ?`),
			args[3], args[6], args[8], agreementID, args[9], args[11], r.ConsumerPID, string(from))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.EConflict, "协商状态已变化 / the negotiation is no longer %s", from)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// RemoteByAgreement finds an organisation's negotiation with a peer by its agreement.
func (s *DB) RemoteByAgreement(ctx context.Context, orgID, agreementID string) (contract.RemoteNegotiation, error) {
	r, err := scanRemote(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+remoteCols+` FROM remote_negotiations WHERE org_id = ? AND agreement_id = ?`), orgID, agreementID))
	return r, s.mapErr(err)
}

// UpdateRemoteTerms moves a negotiation with a peer on and replaces its terms.
func (s *DB) UpdateRemoteTerms(ctx context.Context, r contract.RemoteNegotiation, from contract.State, events []dx.Event) error {
	terms, err := policyText(r.Terms)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE remote_negotiations SET state = ?, terms = ?, updated_at = ? WHERE consumer_pid = ? AND state = ?`),
			string(r.State), terms, micros(r.UpdatedAt), r.ConsumerPID, string(from))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.EConflict, "协商状态已变化 / the negotiation is no longer %s", from)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// SetRemoteProviderPID records the provider's process ID once, whatever the state.
func (s *DB) SetRemoteProviderPID(ctx context.Context, consumerPID, providerPID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`UPDATE remote_negotiations SET provider_pid = ? WHERE consumer_pid = ? AND provider_pid = ''`), providerPID, consumerPID)
		return err
	})
}
