package c2sp

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Signature types of signed-note lines.
const (
	TypeEd25519     = 0x01 // a log's own signature
	TypeCosignature = 0x04 // timestamped Ed25519 checkpoint cosignature (cosignature/v1)
)

// KeyID is a note key's ID: the first four bytes of SHA-256(name, "\n", type, public key).
func KeyID(name string, typ byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', typ})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// VKey is a verifier key string: "<name>+<hex key ID>+<base64(type || public key)>".
func VKey(name string, typ byte, pub []byte) string {
	id := make([]byte, 4)
	binary.BigEndian.PutUint32(id, KeyID(name, typ, pub))
	return name + "+" + hex.EncodeToString(id) + "+" + base64.StdEncoding.EncodeToString(append([]byte{typ}, pub...))
}

// ParseVKey reads a verifier key of an Ed25519 type (0x01 or 0x04).
func ParseVKey(vkey string) (name string, typ byte, pub ed25519.PublicKey, err error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 || parts[0] == "" {
		return "", 0, nil, fmt.Errorf("malformed verifier key %q", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || (raw[0] != TypeEd25519 && raw[0] != TypeCosignature) {
		return "", 0, nil, fmt.Errorf("verifier key %q is not an Ed25519 key", vkey)
	}
	name, typ, pub = parts[0], raw[0], ed25519.PublicKey(raw[1:])
	if want := VKey(name, typ, pub); want != vkey {
		return "", 0, nil, fmt.Errorf("verifier key %q has the wrong key ID", vkey)
	}
	return name, typ, pub, nil
}

// cosignedMessage is what a cosignature/v1 signature covers.
func cosignedMessage(t uint64, checkpoint []byte) []byte {
	return append(fmt.Appendf(nil, "cosignature/v1\ntime %d\n", t), checkpoint...)
}

// Cosigner is a note.Signer making cosignature/v1 lines; Now gives the timestamp.
type Cosigner struct {
	name string
	key  ed25519.PrivateKey
	Now  func() time.Time
}

// NewCosigner returns a cosigner; one key must never serve two cosigner names.
func NewCosigner(name string, key ed25519.PrivateKey) *Cosigner {
	return &Cosigner{name: name, key: key, Now: time.Now}
}

func (c *Cosigner) Name() string { return c.name }
func (c *Cosigner) KeyHash() uint32 {
	return KeyID(c.name, TypeCosignature, c.key.Public().(ed25519.PublicKey))
}

// Sign returns the timestamp and signature over the checkpoint text msg.
func (c *Cosigner) Sign(msg []byte) ([]byte, error) {
	t := uint64(c.Now().Unix())
	sig := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(sig, t)
	return append(sig, ed25519.Sign(c.key, cosignedMessage(t, msg))...), nil
}

// VKey is the cosigner's verifier key (type 0x04).
func (c *Cosigner) VKey() string {
	return VKey(c.name, TypeCosignature, c.key.Public().(ed25519.PublicKey))
}

// CosignatureVerifier is a note.Verifier of cosignature/v1 lines.
type CosignatureVerifier struct {
	name string
	pub  ed25519.PublicKey
}

// NewCosignatureVerifier reads a type-0x04 verifier key.
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	name, typ, pub, err := ParseVKey(vkey)
	if err != nil {
		return nil, err
	}
	if typ != TypeCosignature {
		return nil, errors.New("a cosigner's verifier key must be of type 0x04")
	}
	return &CosignatureVerifier{name: name, pub: pub}, nil
}

func (v *CosignatureVerifier) Name() string    { return v.name }
func (v *CosignatureVerifier) KeyHash() uint32 { return KeyID(v.name, TypeCosignature, v.pub) }

// Verify checks a timestamped signature over the checkpoint text msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	return t < 1<<63 && ed25519.Verify(v.pub, cosignedMessage(t, msg), sig[8:])
}

// CosignatureTime reads the timestamp of a cosignature line's base64 payload (key ID,
// time, signature).
func CosignatureTime(sig note.Signature) (time.Time, error) {
	raw, err := base64.StdEncoding.DecodeString(sig.Base64)
	if err != nil || len(raw) != 4+8+ed25519.SignatureSize {
		return time.Time{}, errors.New("not a cosignature")
	}
	return time.Unix(int64(binary.BigEndian.Uint64(raw[4:12])), 0), nil
}

var (
	_ note.Signer   = (*Cosigner)(nil)
	_ note.Verifier = (*CosignatureVerifier)(nil)
)
