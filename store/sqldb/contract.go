package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

func policyText(p policy.Policy) (string, error) {
	b, err := dx.CanonicalJSON(policy.JSON(p))
	return string(b), err
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// CreateOffer stores an offer.
func (s *DB) CreateOffer(ctx context.Context, o contract.Offer, events []dx.Event) error {
	text, err := policyText(o.Policy)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO offers (id, asset_id, provider_id, policy, digest, auto_approve, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			o.ID, o.AssetID, o.ProviderID, text, o.Digest, boolInt(o.AutoApprove), micros(o.CreatedAt)); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const offerCols = `id, asset_id, provider_id, policy, digest, auto_approve, created_at, withdrawn_at`

func scanOffer(sc interface{ Scan(...any) error }) (contract.Offer, error) {
	var o contract.Offer
	var text string
	var auto int
	var created int64
	var withdrawn sql.NullInt64
	if err := sc.Scan(&o.ID, &o.AssetID, &o.ProviderID, &text, &o.Digest, &auto, &created, &withdrawn); err != nil {
		return o, err
	}
	p, err := policy.Parse([]byte(text))
	if err != nil {
		return o, err
	}
	o.Policy, o.AutoApprove, o.CreatedAt, o.WithdrawnAt = p, auto == 1, fromMicros(created), timePtr(withdrawn)
	return o, nil
}

// Offer returns an offer.
func (s *DB) Offer(ctx context.Context, id string) (contract.Offer, error) {
	o, err := scanOffer(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+offerCols+` FROM offers WHERE id = ?`), id))
	return o, s.mapErr(err)
}

// Offers lists an asset's offers, oldest first.
func (s *DB) Offers(ctx context.Context, assetID string) ([]contract.Offer, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT `+offerCols+` FROM offers WHERE asset_id = ? ORDER BY created_at, id`), assetID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []contract.Offer{}
	for rows.Next() {
		o, err := scanOffer(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, o)
	}
	return out, s.mapErr(rows.Err())
}

// WithdrawOffer withdraws a live offer.
func (s *DB) WithdrawOffer(ctx context.Context, id string, at time.Time, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE offers SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL`), micros(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.ENotFound, "报价不存在或已撤回 / offer %q not found or withdrawn", id)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

func (s *DB) insertRecord(ctx context.Context, tx *sql.Tx, r *contract.Record) error {
	if r == nil {
		return nil
	}
	doc, err := json.Marshal(r.Agreement)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, s.q(`INSERT INTO agreements (id, negotiation_id, asset_id, provider_id, consumer_id, document, digest, uses, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`),
		r.ID, r.NegotiationID, r.AssetID, r.ProviderID, r.ConsumerID, string(doc), r.Digest, micros(r.CreatedAt))
	return err
}

// CreateNegotiation inserts a negotiation (and its agreement, if made at once).
func (s *DB) CreateNegotiation(ctx context.Context, n contract.Negotiation, rec *contract.Record, events []dx.Event) error {
	terms, err := policyText(n.Terms)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO negotiations (`+negCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			n.ID, n.ConsumerPID, n.OfferID, n.AssetID, n.ProviderID, n.ConsumerID, string(n.State), terms, n.AgreementID, n.Reason, micros(n.CreatedAt), micros(n.UpdatedAt), n.Callback)
		if err != nil {
			return err
		}
		if err := s.insertRecord(ctx, tx, rec); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

const negCols = `id, consumer_pid, offer_id, asset_id, provider_id, consumer_id, state, terms, agreement_id, reason, created_at, updated_at, callback`

func scanNegotiation(sc interface{ Scan(...any) error }) (contract.Negotiation, error) {
	var n contract.Negotiation
	var state, terms string
	var agreement sql.NullString
	var created, updated int64
	if err := sc.Scan(&n.ID, &n.ConsumerPID, &n.OfferID, &n.AssetID, &n.ProviderID, &n.ConsumerID, &state, &terms, &agreement, &n.Reason, &created, &updated, &n.Callback); err != nil {
		return n, err
	}
	p, err := policy.Parse([]byte(terms))
	if err != nil {
		return n, err
	}
	n.State, n.Terms, n.AgreementID, n.CreatedAt, n.UpdatedAt = contract.State(state), p, agreement.String, fromMicros(created), fromMicros(updated)
	return n, nil
}

// Negotiation returns a negotiation.
func (s *DB) Negotiation(ctx context.Context, id string) (contract.Negotiation, error) {
	n, err := scanNegotiation(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+negCols+` FROM negotiations WHERE id = ?`), id))
	return n, s.mapErr(err)
}

// NegotiationByConsumerPID finds a consumer's negotiation by its process ID.
func (s *DB) NegotiationByConsumerPID(ctx context.Context, consumerID, pid string) (contract.Negotiation, error) {
	n, err := scanNegotiation(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+negCols+` FROM negotiations WHERE consumer_id = ? AND consumer_pid = ?`), consumerID, pid))
	return n, s.mapErr(err)
}

// Negotiations lists negotiations involving orgID ("" for all), newest first.
func (s *DB) Negotiations(ctx context.Context, orgID string) ([]contract.Negotiation, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT `+negCols+` FROM negotiations WHERE ? = '' OR provider_id = ? OR consumer_id = ? ORDER BY id DESC LIMIT 1000`), orgID, orgID, orgID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []contract.Negotiation{}
	for rows.Next() {
		n, err := scanNegotiation(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, n)
	}
	return out, s.mapErr(rows.Err())
}

// UpdateNegotiation moves a negotiation on if it is still in `from`.
func (s *DB) UpdateNegotiation(ctx context.Context, n contract.Negotiation, from contract.State, rec *contract.Record, events []dx.Event) error {
	terms, err := policyText(n.Terms)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE negotiations SET state = ?, terms = ?, agreement_id = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?`),
			string(n.State), terms, n.AgreementID, n.Reason, micros(n.UpdatedAt), n.ID, string(from))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return dx.Errorf(dx.EConflict, "协商状态已变化 / the negotiation is no longer %s", from)
		}
		if err := s.insertRecord(ctx, tx, rec); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

const agreementCols = `id, negotiation_id, asset_id, provider_id, consumer_id, document, digest, uses, created_at, revoked_at`

func scanRecord(sc interface{ Scan(...any) error }) (contract.Record, error) {
	var r contract.Record
	var doc string
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&r.ID, &r.NegotiationID, &r.AssetID, &r.ProviderID, &r.ConsumerID, &doc, &r.Digest, &r.Uses, &created, &revoked); err != nil {
		return r, err
	}
	a, err := contract.ParseDocument([]byte(doc))
	if err != nil {
		return r, err
	}
	r.Agreement, r.CreatedAt, r.RevokedAt = a, fromMicros(created), timePtr(revoked)
	return r, nil
}

func (s *DB) records(ctx context.Context, q string, args ...any) ([]contract.Record, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(q), args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []contract.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, r)
	}
	return out, s.mapErr(rows.Err())
}

// Agreement returns an agreement.
func (s *DB) Agreement(ctx context.Context, id string) (contract.Record, error) {
	r, err := scanRecord(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+agreementCols+` FROM agreements WHERE id = ?`), id))
	return r, s.mapErr(err)
}

// Agreements lists agreements involving orgID ("" for all).
func (s *DB) Agreements(ctx context.Context, orgID string) ([]contract.Record, error) {
	return s.records(ctx, `SELECT `+agreementCols+` FROM agreements WHERE ? = '' OR provider_id = ? OR consumer_id = ? ORDER BY created_at DESC, id LIMIT 1000`, orgID, orgID, orgID)
}

// ActiveAgreements lists a consumer's unrevoked agreements on an asset, oldest first.
func (s *DB) ActiveAgreements(ctx context.Context, assetID, consumerID string) ([]contract.Record, error) {
	return s.records(ctx, `SELECT `+agreementCols+` FROM agreements WHERE asset_id = ? AND consumer_id = ? AND revoked_at IS NULL ORDER BY created_at, id`, assetID, consumerID)
}

// RevokeAgreement revokes a live agreement.
func (s *DB) RevokeAgreement(ctx context.Context, id string, at time.Time, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE agreements SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), micros(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.ENotFound, "协议不存在或已撤销 / agreement %q not found or already revoked", id)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// UseAgreement decides and counts one use under a row lock.
func (s *DB) UseAgreement(ctx context.Context, id string, decide func(contract.Record) (policy.Decision, []dx.Event)) (policy.Decision, error) {
	var dec policy.Decision
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRecord(s.queryRow(ctx, tx, s.q(`SELECT `+agreementCols+` FROM agreements WHERE id = ?`+s.d.LockRow()), id))
		if err != nil {
			return err
		}
		var events []dx.Event
		dec, events = decide(r)
		if !dec.Allow {
			return nil
		}
		if _, err := s.exec(ctx, tx, s.q(`UPDATE agreements SET uses = uses + 1 WHERE id = ?`), id); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
	return dec, err
}

// ReplaceAgreementDocument stores a new signed document for an agreement (a signature
// added by the remote party), with events.
func (s *DB) ReplaceAgreementDocument(ctx context.Context, id string, a contract.Agreement, events []dx.Event) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE agreements SET document = ? WHERE id = ?`), string(doc), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.ENotFound, "协议不存在 / agreement %q not found", id)
		}
		return s.insertEvents(ctx, tx, events)
	})
}
