// Package party owns the organisations on an exchange: their roles (provider, consumer,
// operator, regulator), members, API tokens and Ed25519 signing keys.
//
// Tokens are shown once when made and stored only as a SHA-256 hash; Authenticate
// compares hashes in constant time and refuses revoked tokens. Every change writes its
// audit event through the Store in the same transaction. The package never touches SQL
// or HTTP: it receives its Store, a Clock and a logger from the caller.
package party

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/dxexchange/dx"
)

// Org is an organisation: an enterprise, a government department or the exchange operator.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	USCC      string    `json:"uscc,omitempty"` // 统一社会信用代码, when given
	Roles     []string  `json:"roles"`
	Country   string    `json:"country,omitempty"` // ISO 3166-1 alpha-2, attested by the operator; "" for mainland China
	PublicKey []byte    `json:"public_key"`        // Ed25519
	CreatedAt time.Time `json:"created_at"`
	// Peer is set for an organisation standing for a peer connector's participant
	// (its key lives on its own node).
	Peer string `json:"peer,omitempty"`
}

// Member is a person acting for an organisation.
type Member struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token. Hash is SHA-256 of its secret; the secret itself is never stored.
type Token struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"org_id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Store is the persistence port of this package. Each method is one transaction that
// also inserts the given events; an error leaves nothing changed.
type Store interface {
	// Bootstrap creates the first operator organisation with its token, and fails with
	// EConflict if the exchange was bootstrapped before (by any process).
	Bootstrap(ctx context.Context, org Org, key ed25519.PrivateKey, tok Token, events []dx.Event) error
	// BootstrapOrg returns the ID of the organisation made by Bootstrap, or ENotFound.
	BootstrapOrg(ctx context.Context) (string, error)
	// CreateOrg creates an organisation and its first token; EConflict if the name is taken.
	CreateOrg(ctx context.Context, org Org, key ed25519.PrivateKey, tok Token, events []dx.Event) error
	Org(ctx context.Context, id string) (Org, error)
	Orgs(ctx context.Context) ([]Org, error)
	SigningKey(ctx context.Context, orgID string) (ed25519.PrivateKey, error)

	CreateToken(ctx context.Context, tok Token, events []dx.Event) error
	Token(ctx context.Context, id string) (Token, error)
	Tokens(ctx context.Context, orgID string) ([]Token, error)
	// RevokeToken marks a live token revoked; ENotFound if there is no live token id in orgID.
	RevokeToken(ctx context.Context, orgID, id string, at time.Time, events []dx.Event) error

	// AddMember adds a member; EConflict if the e-mail is already a member of the org.
	AddMember(ctx context.Context, m Member, events []dx.Event) error
	Members(ctx context.Context, orgID string) ([]Member, error)
}
