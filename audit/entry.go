package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx"
)

// EntryVersion is the schema version of log entries.
const EntryVersion = 1

// MaxEntry bounds one entry (dx rule; the tile format allows 65,535 bytes).
const MaxEntry = 8 << 10

// Entry is the public form of an audit event in the Merkle log: who did what to which
// subject and when, and a salted commitment to the event's payload. It holds IDs and
// hashes only; the payload and the salt stay in the exchange's database, so a party
// shown the payload can check it against the log, and deleting the salt severs the link.
type Entry struct {
	V       int    `json:"v"`
	ID      string `json:"id"`
	Time    string `json:"time"` // RFC 3339 UTC, the writer's clock
	Action  string `json:"action"`
	Actor   string `json:"actor,omitempty"`
	Subject string `json:"subject"`
	Commit  string `json:"commit"` // base64 SHA-256("dx-commit-v1\x00" || salt || body)
}

// NewSalt returns a fresh commitment salt.
func NewSalt() []byte {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	return salt
}

// Commitment is the salted hash of an event's private body: its payload and the token
// that acted.
func Commitment(e dx.Event, salt []byte) (string, error) {
	body, err := dx.CanonicalJSON(map[string]any{"payload": json.RawMessage(orEmpty(e.Payload)), "token": e.TokenID})
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte("dx-commit-v1\x00"))
	h.Write(salt)
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

func orEmpty(p []byte) []byte {
	if len(p) == 0 {
		return []byte("{}")
	}
	return p
}

// NewEntry returns an event's log entry (canonical JSON, no trailing newline) and its
// leaf hash.
func NewEntry(e dx.Event, salt []byte) ([]byte, tlog.Hash, error) {
	commit, err := Commitment(e, salt)
	if err != nil {
		return nil, tlog.Hash{}, err
	}
	fields := map[string]any{"v": EntryVersion, "id": e.ID, "time": e.Time.UTC().Format(time.RFC3339Nano), "action": e.Action,
		"subject": e.Subject, "commit": commit} // the Entry fields, as a map so it encodes canonically at once
	if e.Actor != "" {
		fields["actor"] = e.Actor
	}
	b, err := dx.CanonicalJSON(fields)
	if err != nil {
		return nil, tlog.Hash{}, err
	}
	if len(b) > MaxEntry {
		return nil, tlog.Hash{}, dx.Errorf(dx.EInvalid, "审计条目过大 / the audit entry of event %s exceeds %d bytes", e.ID, MaxEntry)
	}
	return b, tlog.RecordHash(b), nil
}

// ParseEntry reads an entry.
func ParseEntry(b []byte) (Entry, error) {
	var e Entry
	err := json.Unmarshal(b, &e)
	return e, err
}

// Collector gathers the IDs of the events a request commits (the store adds them when
// the transaction that wrote them commits), so the request can answer with receipts.
type Collector struct {
	mu  sync.Mutex
	ids []string
}

type collectorKey struct{}

// WithCollector returns ctx carrying a new collector.
func WithCollector(ctx context.Context) (context.Context, *Collector) {
	c := &Collector{}
	return context.WithValue(ctx, collectorKey{}, c), c
}

// CollectorFrom returns ctx's collector, or nil.
func CollectorFrom(ctx context.Context) *Collector {
	c, _ := ctx.Value(collectorKey{}).(*Collector)
	return c
}

// Add records committed events.
func (c *Collector) Add(ids ...string) {
	c.mu.Lock()
	c.ids = append(c.ids, ids...)
	c.mu.Unlock()
}

// IDs returns the events committed so far.
func (c *Collector) IDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}
