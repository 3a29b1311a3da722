package compute

import (
	"context"
	"time"

	"github.com/dxexchange/dx"
)

// Reservation is one query's claim on an agreement's privacy budget.
type Reservation struct {
	ID          string
	AgreementID string
	QueryHash   string
	Cost        Budget
	At          time.Time
}

// Ledger is an agreement's privacy budget as spent so far.
type Ledger struct {
	AgreementID string `json:"agreement_id"`
	Spent       Budget `json:"spent"`    // committed
	Reserved    Budget `json:"reserved"` // queries running now
	Queries     int64  `json:"queries"`  // committed queries
}

// Store is the persistence port of compute in place.
type Store interface {
	// ComputeSettings returns an asset's settings; ENotFound if the provider declared none.
	ComputeSettings(ctx context.Context, assetID string) (Settings, error)
	// SetComputeSettings stores an asset's settings with their events.
	SetComputeSettings(ctx context.Context, s Settings, at time.Time, events []dx.Event) error
	// Reserve records r if the agreement's committed and reserved spending plus r.Cost
	// stays within total, in one linearizable step; ok false (nothing written) otherwise.
	// It returns the ledger as it was before r.
	Reserve(ctx context.Context, r Reservation, total Budget) (Ledger, bool, error)
	// Settle commits (commit true) or releases a reservation, with events.
	Settle(ctx context.Context, id string, commit bool, events []dx.Event) error
	// BudgetLedger returns an agreement's ledger.
	BudgetLedger(ctx context.Context, agreementID string) (Ledger, error)
	// CommitStale commits reservations made before a time (fail closed after a crash).
	CommitStale(ctx context.Context, before time.Time) (int, error)
	// Answer returns a released answer by its cache key; ENotFound if none.
	Answer(ctx context.Context, key string) ([]byte, error)
	// SaveAnswer keeps a released answer (the first one saved under a key wins).
	SaveAnswer(ctx context.Context, key, agreementID string, answer []byte, at time.Time) error
	// Snapshot returns the blob digest of the bounded snapshot of a version for an
	// agreement ("" for the owner); ENotFound if none was built.
	Snapshot(ctx context.Context, versionID, agreementID string) (string, error)
	// SaveSnapshot records a built snapshot; the first one recorded stays.
	SaveSnapshot(ctx context.Context, versionID, agreementID, digest string, rows int64, at time.Time) error
	// RecordEvents stores events that accompany no other change.
	RecordEvents(ctx context.Context, events []dx.Event) error
}
