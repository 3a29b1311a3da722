package sqldb

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/party"
)

func (s *DB) insertOrg(ctx context.Context, tx *sql.Tx, org party.Org, key ed25519.PrivateKey, tok party.Token) error {
	roles, _ := json.Marshal(org.Roles)
	_, err := s.exec(ctx, tx, s.q(`INSERT INTO orgs (id, name, uscc, roles, public_key, private_key, created_at, country) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		org.ID, org.Name, org.USCC, string(roles), []byte(org.PublicKey), []byte(key.Seed()), micros(org.CreatedAt), org.Country)
	if dx.ErrorCode(s.mapErr(err)) == dx.EConflict {
		return dx.Errorf(dx.EConflict, "机构名称 %q 已被使用 / organisation name %q is taken", org.Name, org.Name)
	}
	if err != nil {
		return err
	}
	return s.insertToken(ctx, tx, tok)
}

// Bootstrap creates the first operator organisation, once.
func (s *DB) Bootstrap(ctx context.Context, org party.Org, key ed25519.PrivateKey, tok party.Token, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO bootstrap (id, org_id) VALUES (1, ?)`), org.ID); err != nil {
			return s.mapErr(err) // a unique violation: bootstrapped already
		}
		if err := s.insertOrg(ctx, tx, org, key, tok); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// BootstrapOrg returns the operator organisation made by Bootstrap.
func (s *DB) BootstrapOrg(ctx context.Context) (string, error) {
	var id string
	err := s.conn(ctx).QueryRowContext(ctx, `SELECT org_id FROM bootstrap WHERE id = 1`).Scan(&id)
	return id, s.mapErr(err)
}

// CreateOrg creates an organisation with its first token.
func (s *DB) CreateOrg(ctx context.Context, org party.Org, key ed25519.PrivateKey, tok party.Token, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertOrg(ctx, tx, org, key, tok); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

const orgCols = `id, name, uscc, roles, public_key, created_at, peer, country`

func scanOrg(sc interface{ Scan(...any) error }) (party.Org, error) {
	var o party.Org
	var roles string
	var created int64
	if err := sc.Scan(&o.ID, &o.Name, &o.USCC, &roles, &o.PublicKey, &created, &o.Peer, &o.Country); err != nil {
		return o, err
	}
	o.CreatedAt = fromMicros(created)
	return o, json.Unmarshal([]byte(roles), &o.Roles)
}

// Org returns an organisation.
func (s *DB) Org(ctx context.Context, id string) (party.Org, error) {
	o, err := scanOrg(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+orgCols+` FROM orgs WHERE id = ?`), id))
	if err == sql.ErrNoRows {
		return o, dx.Errorf(dx.ENotFound, "机构不存在 / organisation %q not found", id)
	}
	return o, s.mapErr(err)
}

// Orgs lists organisations by name.
func (s *DB) Orgs(ctx context.Context) ([]party.Org, error) {
	rows, err := s.conn(ctx).QueryContext(ctx, `SELECT `+orgCols+` FROM orgs ORDER BY name`)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []party.Org{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, o)
	}
	return out, s.mapErr(rows.Err())
}

// SigningKey returns an organisation's Ed25519 private key.
func (s *DB) SigningKey(ctx context.Context, orgID string) (ed25519.PrivateKey, error) {
	var seed []byte
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT private_key FROM orgs WHERE id = ?`), orgID).Scan(&seed)
	if err != nil {
		return nil, s.mapErr(err)
	}
	if len(seed) != ed25519.SeedSize { // a peer organisation: its key lives on its own node
		return nil, dx.Errorf(dx.ENotFound, "机构 %s 的私钥不在本节点 / organisation %s has no signing key on this node", orgID, orgID)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// PeerOrg returns the organisation standing for a peer connector's participant,
// creating it on first use (roles consumer, the peer's public key, no private key).
func (s *DB) PeerOrg(ctx context.Context, participant string, pub ed25519.PublicKey, country string, at time.Time) (string, error) {
	var id, current string
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT id, country FROM orgs WHERE peer = ?`), participant).Scan(&id, &current)
	if err == nil {
		if current == country {
			return id, nil
		}
		return id, s.tx(ctx, func(tx *sql.Tx) error { // the trusted-peer list changed the attested country
			if _, err := s.exec(ctx, tx, s.q(`UPDATE orgs SET country = ? WHERE id = ?`), country, id); err != nil {
				return err
			}
			return s.insertEvents(ctx, tx, []dx.Event{dx.NewEvent(at, dx.Principal{}, "org.country", id, map[string]any{"participant": participant, "country": country, "was": current})})
		})
	}
	if err != sql.ErrNoRows {
		return "", s.mapErr(err)
	}
	id = dx.NewID(dx.PrefixOrg, at)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO orgs (id, name, uscc, roles, public_key, private_key, created_at, peer, country) VALUES (?, ?, '', '["consumer"]', ?, ?, ?, ?, ?)`),
			id, "peer:"+participant, []byte(pub), []byte{}, micros(at), participant, country)
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, []dx.Event{dx.NewEvent(at, dx.Principal{}, "org.peer", id, map[string]any{"participant": participant, "public_key": []byte(pub)})})
	})
	if dx.ErrorCode(err) == dx.EConflict { // created concurrently
		return s.PeerOrg(ctx, participant, pub, country, at)
	}
	return id, err
}

func (s *DB) insertToken(ctx context.Context, tx *sql.Tx, t party.Token) error {
	scopes, _ := json.Marshal(t.Scopes)
	_, err := s.exec(ctx, tx, s.q(`INSERT INTO tokens (id, org_id, name, scopes, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		t.ID, t.OrgID, t.Name, string(scopes), t.Hash, micros(t.CreatedAt))
	return err
}

// CreateToken stores a token.
func (s *DB) CreateToken(ctx context.Context, t party.Token, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertToken(ctx, tx, t); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

const tokenCols = `id, org_id, name, scopes, hash, created_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (party.Token, error) {
	var t party.Token
	var scopes string
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.OrgID, &t.Name, &scopes, &t.Hash, &created, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt = fromMicros(created)
	if revoked.Valid {
		r := fromMicros(revoked.Int64)
		t.RevokedAt = &r
	}
	return t, json.Unmarshal([]byte(scopes), &t.Scopes)
}

// Token returns a token by ID.
func (s *DB) Token(ctx context.Context, id string) (party.Token, error) {
	t, err := scanToken(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+tokenCols+` FROM tokens WHERE id = ?`), id))
	if err == sql.ErrNoRows {
		return t, dx.Errorf(dx.ENotFound, "令牌不存在 / token %q not found", id)
	}
	return t, s.mapErr(err)
}

// Tokens lists an organisation's tokens.
func (s *DB) Tokens(ctx context.Context, orgID string) ([]party.Token, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT `+tokenCols+` FROM tokens WHERE org_id = ? ORDER BY id`), orgID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []party.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, t)
	}
	return out, s.mapErr(rows.Err())
}

// RevokeToken revokes a live token.
func (s *DB) RevokeToken(ctx context.Context, orgID, id string, at time.Time, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, s.q(`UPDATE tokens SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL`), micros(at), id, orgID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.ENotFound, "令牌不存在或已吊销 / token %q not found or already revoked", id)
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// AddMember adds a member.
func (s *DB) AddMember(ctx context.Context, m party.Member, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO members (id, org_id, name, email, created_at) VALUES (?, ?, ?, ?, ?)`),
			m.ID, m.OrgID, m.Name, m.Email, micros(m.CreatedAt))
		if dx.ErrorCode(s.mapErr(err)) == dx.EConflict {
			return dx.Errorf(dx.EConflict, "该邮箱已是成员 / %s is already a member", m.Email)
		}
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// Members lists an organisation's members.
func (s *DB) Members(ctx context.Context, orgID string) ([]party.Member, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT id, org_id, name, email, created_at FROM members WHERE org_id = ? ORDER BY id`), orgID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []party.Member{}
	for rows.Next() {
		var m party.Member
		var created int64
		if err := rows.Scan(&m.ID, &m.OrgID, &m.Name, &m.Email, &created); err != nil {
			return nil, s.mapErr(err)
		}
		m.CreatedAt = fromMicros(created)
		out = append(out, m)
	}
	return out, s.mapErr(rows.Err())
}
