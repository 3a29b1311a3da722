package contract

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/policy"
)

// TransferState is a DSP transfer process's state; COMPLETED and TERMINATED are terminal.
type TransferState string

// The transfer states.
const (
	TransferRequested  TransferState = "REQUESTED"
	TransferStarted    TransferState = "STARTED"
	TransferSuspended  TransferState = "SUSPENDED"
	TransferCompleted  TransferState = "COMPLETED"
	TransferTerminated TransferState = "TERMINATED"
)

// TransferMessage is a kind of transfer message.
type TransferMessage string

// The transfer messages.
const (
	TMsgRequest     TransferMessage = "TransferRequestMessage"
	TMsgStart       TransferMessage = "TransferStartMessage"
	TMsgCompletion  TransferMessage = "TransferCompletionMessage"
	TMsgSuspension  TransferMessage = "TransferSuspensionMessage"
	TMsgTermination TransferMessage = "TransferTerminationMessage"
)

// NextTransfer returns the state after message m in state cur; fromProvider says who sent
// it (only the provider starts a requested transfer). A start in STARTED and a
// termination in TERMINATED are no-ops; anything else the DSP table forbids is an EInvalid
// "invalid-transition" error.
func NextTransfer(cur TransferState, m TransferMessage, fromProvider bool) (TransferState, error) {
	switch {
	case cur == "" && m == TMsgRequest:
		return TransferRequested, nil
	case cur == TransferRequested && m == TMsgStart && fromProvider,
		cur == TransferSuspended && m == TMsgStart:
		return TransferStarted, nil
	case cur == TransferStarted && m == TMsgStart:
		return TransferStarted, nil
	case cur == TransferStarted && m == TMsgCompletion:
		return TransferCompleted, nil
	case cur == TransferStarted && m == TMsgSuspension:
		return TransferSuspended, nil
	case (cur == TransferRequested || cur == TransferStarted || cur == TransferSuspended) && m == TMsgTermination,
		cur == TransferTerminated && m == TMsgTermination:
		return TransferTerminated, nil
	}
	return cur, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "invalid-transition"},
		Message: fmt.Sprintf("传输状态 %s 下不允许 %s / %s not allowed in transfer state %s", orNone(string(cur)), m, m, orNone(string(cur)))}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Transfer is one transfer process under an agreement.
type Transfer struct {
	ID           string        `json:"id"` // provider PID, urn:uuid:…
	ConsumerPID  string        `json:"consumer_pid"`
	AgreementID  string        `json:"agreement_id"`
	AssetID      string        `json:"asset_id"`
	VersionID    string        `json:"version_id"` // the data version the transfer delivers
	Version      int           `json:"version"`
	ProviderID   string        `json:"provider_id"`
	ConsumerID   string        `json:"consumer_id"`
	Format       string        `json:"format"` // HttpData-PULL
	Purpose      string        `json:"purpose,omitempty"`
	State        TransferState `json:"state"`
	TokenHash    string        `json:"-"`
	TokenExpires time.Time     `json:"token_expires"`
	Reason       string        `json:"reason,omitempty"`
	Callback     string        `json:"callback,omitempty"` // a remote consumer's DSP callback address
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// TransferStore is the persistence port of transfers (part of Store).
type TransferStore interface {
	// StartTransfer calls decide with the agreement as stored (locked against concurrent
	// uses); if it allows, the agreement's use counter is incremented and t is inserted
	// with the events, all in one transaction. EConflict if the consumer already used
	// t.ConsumerPID.
	StartTransfer(ctx context.Context, t Transfer, decide func(Record) (policy.Decision, []dx.Event)) (policy.Decision, error)
	Transfer(ctx context.Context, id string) (Transfer, error)
	TransferByConsumerPID(ctx context.Context, consumerID, pid string) (Transfer, error)
	TransferByToken(ctx context.Context, tokenHash string) (Transfer, error)
	Transfers(ctx context.Context, orgID string) ([]Transfer, error)
	// UpdateTransfer moves t from state `from` (EConflict if no longer there).
	UpdateTransfer(ctx context.Context, t Transfer, from TransferState, events []dx.Event) error
}

// TokenTTL is how long a data-plane token lives.
const TokenTTL = time.Hour

// newDataToken returns a transfer token and the hash stored for it.
func newDataToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	token = "dxt_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, TokenHash(token)
}

// TokenHash is the stored form of a data-plane token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
