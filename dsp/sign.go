package dsp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dxexchange/dx"
)

// Request signing between trusted connectors. Every DSP request carries
//
//	Dx-Participant: the sender's participant ID
//	Dx-Timestamp:   RFC 3339 time of sending (accepted within ±Skew)
//	Dx-Nonce:       a random value, accepted once
//	Dx-Signature:   base64 Ed25519 signature over SigningString
//
// and the receiver checks the participant against its configured peers. (DCP identity
// tokens replace this when dx joins a dataspace with an identity provider.)
const (
	HeaderParticipant = "Dx-Participant"
	HeaderTimestamp   = "Dx-Timestamp"
	HeaderNonce       = "Dx-Nonce"
	HeaderSignature   = "Dx-Signature"
	Skew              = 5 * time.Minute
)

// Peer is a trusted connector.
type Peer struct {
	ParticipantID string            `json:"participant_id"`
	PublicKey     ed25519.PublicKey `json:"public_key"` // base64 in JSON
	URL           string            `json:"url"`        // its root, e.g. http://127.0.0.1:8081
	// Country is where the peer's organisation is established, as the operator attests
	// it (ISO 3166-1 alpha-2; "" or "CN" for mainland China): deliveries to a peer abroad
	// pass the cross-border rules.
	Country string `json:"country,omitempty"`
}

// NonceStore remembers nonces for the replay window (store.Store implements it).
type NonceStore interface {
	UseNonce(ctx context.Context, nonce string, at time.Time, window time.Duration) error
}

// SigningString is what a request's signature covers.
func SigningString(method, pathQuery, participant, timestamp, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(strings.Join([]string{"dx-dsp-v1", method, pathQuery, participant, timestamp, nonce, hex.EncodeToString(sum[:])}, "\n"))
}

// Sign sets the signing headers on req for body.
func Sign(req *http.Request, participant string, key ed25519.PrivateKey, body []byte, now time.Time) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		panic(err)
	}
	nonce := hex.EncodeToString(n[:])
	ts := now.UTC().Format(time.RFC3339)
	msg := SigningString(req.Method, req.URL.RequestURI(), participant, ts, nonce, body)
	req.Header.Set(HeaderParticipant, participant)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg)))
}

// verify checks a request's signature, freshness and nonce and returns the peer.
func (h *Handler) verify(r *http.Request, body []byte) (Peer, error) {
	unauth := func(why string) error { return dx.Errorf(dx.EUnauthorized, "请求签名无效 / %s", why) }
	participant := r.Header.Get(HeaderParticipant)
	peer, ok := h.peer(participant)
	if !ok {
		return Peer{}, unauth("unknown or untrusted participant " + fmt.Sprintf("%q", participant))
	}
	ts, err := time.Parse(time.RFC3339, r.Header.Get(HeaderTimestamp))
	now := h.Clock.Now()
	if err != nil || ts.Before(now.Add(-Skew)) || ts.After(now.Add(Skew)) {
		return Peer{}, unauth("timestamp missing or outside the allowed skew")
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSignature))
	nonce := r.Header.Get(HeaderNonce)
	msg := SigningString(r.Method, r.URL.RequestURI(), participant, r.Header.Get(HeaderTimestamp), nonce, body)
	if err != nil || len(nonce) < 16 || !ed25519.Verify(peer.PublicKey, msg, sig) {
		return Peer{}, unauth("signature does not verify")
	}
	if err := h.Nonces.UseNonce(r.Context(), nonceKey(r), now, 2*Skew); err != nil {
		if dx.ErrorCode(err) == dx.EConflict {
			return Peer{}, unauth("replayed request")
		}
		return Peer{}, err
	}
	return peer, nil
}

func nonceKey(r *http.Request) string {
	return r.Header.Get(HeaderParticipant) + "/" + r.Header.Get(HeaderNonce)
}

// useNonce records a verified request's nonce on its own (after its unit of work rolled
// back), so that a refused request cannot be replayed either.
func (h *Handler) useNonce(r *http.Request) {
	if err := h.Nonces.UseNonce(context.Background(), nonceKey(r), h.Clock.Now(), 2*Skew); err != nil && dx.ErrorCode(err) != dx.EConflict {
		h.Log.Error("cannot record a nonce", "err", err)
	}
}
