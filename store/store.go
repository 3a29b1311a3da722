// Package store names the union of every domain package's persistence port. The
// backends, store/sqlite and store/postgres, implement it; store/storetest is the one
// conformance suite both pass.
package store

import (
	"context"
	"time"

	"github.com/dxexchange/dx/access"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/crossborder"
	"github.com/dxexchange/dx/outbox"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/witness"
)

// Store is everything dx keeps in its database.
type Store interface {
	party.Store
	asset.Store
	access.Store
	catalog.Store
	contract.Store
	audit.Store
	// UseNonce records a signed request's nonce for the replay window; EConflict if seen.
	UseNonce(ctx context.Context, nonce string, at time.Time, window time.Duration) error
	outbox.Store
	// Atomically runs fn as one unit of work: the store calls made with the context fn
	// receives commit together if fn returns nil, and none of them otherwise. A failed
	// call inside the unit undoes only its own writes.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error
	// Changes returns a channel closed when this process next commits an audit event
	// about subject.
	Changes(subject string) <-chan struct{}
	audit.LogStore
	witness.Store
	crossborder.Store
	compute.Store
	// Publish keeps the newest checkpoint cosigned by a quorum of witnesses.
	Publish(ctx context.Context, size int64, cosigned []byte) error
	// Published returns it (nil before the first).
	Published(ctx context.Context) (int64, []byte, error)
	// BackfillAudit gives events written before the audit log existed their entries.
	BackfillAudit(ctx context.Context) (int, error)
	// TryLead takes the lock of a singleton task among replicas (ok false if taken).
	TryLead(ctx context.Context, key int64) (release func(), ok bool, err error)
	// Close releases the database.
	Close() error
}
