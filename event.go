package dx

import (
	"bytes"
	"encoding/json"
	"time"
)

// Event is one audit event: a state change, written in the same transaction as the
// change itself (a transactional outbox). The audit log later integrates events into a
// Merkle tree in the order of Seq, so an event is never edited once written.
//
// Payloads hold IDs, digests and names of things, never personal data.
type Event struct {
	Seq     int64     // assigned by the store on insert; 0 before
	ID      string    // evt_…
	Time    time.Time // UTC
	Actor   string    // organisation ID of the actor, or "system"
	TokenID string    // token the actor used, if any
	Action  string    // e.g. "asset.register"
	Subject string    // ID of the thing changed
	Payload []byte    // canonical JSON
}

// NewEvent builds an event whose payload is the canonical JSON of payload.
func NewEvent(now time.Time, actor Principal, action, subject string, payload any) Event {
	b, err := CanonicalJSON(payload)
	if err != nil {
		panic("dx.NewEvent: payload is not JSON: " + err.Error()) // a programming error
	}
	a := actor.OrgID
	if a == "" {
		a = "system"
	}
	return Event{ID: NewID(PrefixEvent, now), Time: now.UTC(), Actor: a, TokenID: actor.TokenID,
		Action: action, Subject: subject, Payload: b}
}

// CanonicalJSON encodes v as canonical JSON: object keys sorted, no insignificant
// white space, numbers kept as written, no HTML escaping. Equal values give equal bytes.
func CanonicalJSON(v any) ([]byte, error) {
	if m, ok := v.(map[string]any); ok && plain(m) {
		// Maps of plain values encode canonically as they are (encoding/json sorts map
		// keys): no round trip needed.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			return nil, err
		}
		return bytes.TrimRight(buf.Bytes(), "\n"), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// plain reports whether a map holds only values whose JSON encoding is already canonical:
// strings, booleans, integers, nil, string lists and maps of such values.
func plain(m map[string]any) bool {
	for _, v := range m {
		switch x := v.(type) {
		case string, bool, int, int64, nil, []string:
		case map[string]any:
			if !plain(x) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
