package contract

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/policy"
)

// Offer is a provider's usage policy for one of its assets, from which consumers
// negotiate agreements. AutoApprove lets a request that equals or narrows the offer
// become an agreement at once.
type Offer struct {
	ID          string        `json:"id"` // urn:uuid:…, the policy's @id
	AssetID     string        `json:"asset_id"`
	ProviderID  string        `json:"provider_id"`
	Policy      policy.Policy `json:"-"`
	Digest      string        `json:"terms_sha256"`
	AutoApprove bool          `json:"auto_approve"`
	CreatedAt   time.Time     `json:"created_at"`
	WithdrawnAt *time.Time    `json:"withdrawn_at,omitempty"`
}

// Negotiation is one contract negotiation between a consumer and a provider.
type Negotiation struct {
	ID          string        `json:"id"`           // the provider-side process ID
	ConsumerPID string        `json:"consumer_pid"` // the consumer's process ID (idempotency key)
	OfferID     string        `json:"offer_id"`
	AssetID     string        `json:"asset_id"`
	ProviderID  string        `json:"provider_id"`
	ConsumerID  string        `json:"consumer_id"`
	State       State         `json:"state"`
	Terms       policy.Policy `json:"-"` // the terms requested (and, once agreed, agreed)
	AgreementID string        `json:"agreement_id,omitempty"`
	Reason      string        `json:"reason,omitempty"`   // why it was terminated
	Callback    string        `json:"callback,omitempty"` // a remote consumer's DSP callback address
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// Record is a stored agreement with its use counter.
type Record struct {
	ID            string     `json:"id"`
	NegotiationID string     `json:"negotiation_id"`
	AssetID       string     `json:"asset_id"`
	ProviderID    string     `json:"provider_id"`
	ConsumerID    string     `json:"consumer_id"`
	Agreement     Agreement  `json:"-"`
	Digest        string     `json:"terms_sha256"`
	Uses          int64      `json:"uses"`
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

// Store is the persistence port of this package. Each method is one transaction that
// also writes the given events.
type Store interface {
	CreateOffer(ctx context.Context, o Offer, events []dx.Event) error
	Offer(ctx context.Context, id string) (Offer, error)
	Offers(ctx context.Context, assetID string) ([]Offer, error)
	WithdrawOffer(ctx context.Context, id string, at time.Time, events []dx.Event) error

	// CreateNegotiation inserts a negotiation, and with rec also its agreement (an
	// automatic approval); EConflict if the consumer already used that ConsumerPID.
	CreateNegotiation(ctx context.Context, n Negotiation, rec *Record, events []dx.Event) error
	Negotiation(ctx context.Context, id string) (Negotiation, error)
	NegotiationByConsumerPID(ctx context.Context, consumerID, pid string) (Negotiation, error)
	// Negotiations lists the negotiations where orgID is a party ("" for all).
	Negotiations(ctx context.Context, orgID string) ([]Negotiation, error)
	// UpdateNegotiation moves n from state `from` to n.State (EConflict if it is no
	// longer in `from`), inserting rec if given.
	UpdateNegotiation(ctx context.Context, n Negotiation, from State, rec *Record, events []dx.Event) error

	Agreement(ctx context.Context, id string) (Record, error)
	// Agreements lists agreements where orgID is a party ("" for all).
	Agreements(ctx context.Context, orgID string) ([]Record, error)
	// ActiveAgreements lists the consumer's unrevoked agreements on an asset.
	ActiveAgreements(ctx context.Context, assetID, consumerID string) ([]Record, error)
	// RevokeAgreement marks an agreement revoked; ENotFound if there is no live one.
	RevokeAgreement(ctx context.Context, id string, at time.Time, events []dx.Event) error
	// UseAgreement calls decide with the agreement as stored, holding it against
	// concurrent uses; if decide allows, the use counter is incremented and its events
	// written in the same transaction. It returns decide's decision.
	UseAgreement(ctx context.Context, id string, decide func(Record) (policy.Decision, []dx.Event)) (policy.Decision, error)

	TransferStore
	DutyStore
	// RecordEvents stores events that accompany no other change (a refused use).
	RecordEvents(ctx context.Context, events []dx.Event) error
	RemoteStore
	RemoteTransferStore
}

// NewUUID returns an "urn:uuid:" random (version 4) UUID, the identifier form that DSP
// peers resolve safely.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
