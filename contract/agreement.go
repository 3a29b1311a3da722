package contract

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/policy"
)

// Agreement is a signed usage contract.
type Agreement struct {
	Policy     policy.Policy // @type Agreement, with ID, Target, Assigner, Assignee, Timestamp
	Signatures []Signature
}

// Signature is one party's Ed25519 signature over an Agreement's signing message.
type Signature struct {
	Party     string `json:"party"`      // participant ID: the assigner or the assignee
	PublicKey []byte `json:"public_key"` // Ed25519, base64 in JSON
	Signature []byte `json:"signature"`
}

// SigningMessage is what both parties sign: a domain-separation line, then the canonical
// JSON of the Agreement's identity, parties, time and terms digest. Changing any of
// these — or any term — changes the message.
func SigningMessage(p policy.Policy) ([]byte, error) {
	if p.ID == "" || p.Target == "" || p.Assigner == "" || p.Assignee == "" || p.Timestamp == "" {
		return nil, dx.Errorf(dx.EInvalid, "协议缺少 @id、target、assigner、assignee 或 timestamp / an agreement needs @id, target, assigner, assignee and timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, p.Timestamp)
	if err != nil {
		return nil, dx.Errorf(dx.EInvalid, "协议时间戳无效 / invalid agreement timestamp %q", p.Timestamp)
	}
	body, err := dx.CanonicalJSON(map[string]string{"id": p.ID, "target": p.Target, "assigner": p.Assigner,
		"assignee": p.Assignee, "timestamp": t.UTC().Format(time.RFC3339Nano), "terms_sha256": policy.Digest(p)})
	if err != nil {
		return nil, err
	}
	return append([]byte("dx-agreement-v1\n"), body...), nil
}

// Sign adds party's signature with key.
func (a *Agreement) Sign(party string, key ed25519.PrivateKey) error {
	msg, err := SigningMessage(a.Policy)
	if err != nil {
		return err
	}
	a.Signatures = append(a.Signatures, Signature{Party: party, PublicKey: key.Public().(ed25519.PublicKey), Signature: ed25519.Sign(key, msg)})
	return nil
}

// Verify checks that the assigner and the assignee have both signed the agreement as it
// stands, each signature with the public key it names. keys, if not nil, maps a party to
// the key it must have used (the registry's record); without it, Verify checks the
// document's own consistency only.
func (a Agreement) Verify(keys map[string]ed25519.PublicKey) error {
	msg, err := SigningMessage(a.Policy)
	if err != nil {
		return err
	}
	signed := map[string]bool{}
	for i, s := range a.Signatures {
		if len(s.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(s.PublicKey, msg, s.Signature) {
			return dx.Errorf(dx.EInvalid, "第 %d 个签名（%s）无效：协议内容与签名不符 / signature %d (%s) does not verify: the agreement was changed or the signature forged", i, s.Party, i, s.Party)
		}
		if want, ok := keys[s.Party]; keys != nil && (!ok || !want.Equal(ed25519.PublicKey(s.PublicKey))) {
			return dx.Errorf(dx.EInvalid, "%s 的签名不是用其登记的公钥 / %s did not sign with its registered key", s.Party, s.Party)
		}
		signed[s.Party] = true
	}
	for _, party := range []string{a.Policy.Assigner, a.Policy.Assignee} {
		if !signed[party] {
			return dx.Errorf(dx.EInvalid, "缺少 %s 的签名 / %s has not signed", party, party)
		}
	}
	return nil
}

// document is the file form of a signed agreement.
type document struct {
	Agreement  json.RawMessage `json:"agreement"`
	Signatures []Signature     `json:"signatures"`
}

// MarshalJSON writes {"agreement": <compact DSP Agreement>, "signatures": [...]}.
func (a Agreement) MarshalJSON() ([]byte, error) {
	body, err := dx.CanonicalJSON(policy.JSON(a.Policy))
	if err != nil {
		return nil, err
	}
	sigs := slices.Clone(a.Signatures)
	if sigs == nil {
		sigs = []Signature{}
	}
	return json.Marshal(document{Agreement: body, Signatures: sigs})
}

// UnmarshalJSON reads the document form that MarshalJSON writes.
func (a *Agreement) UnmarshalJSON(b []byte) error {
	parsed, err := ParseDocument(b)
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}

// ParseDocument reads a signed agreement file; Verify then checks it.
func ParseDocument(b []byte) (Agreement, error) {
	var doc document
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return Agreement{}, dx.Errorf(dx.EInvalid, "不是协议文件 / not an agreement file: %v", err)
	}
	p, err := policy.Parse(doc.Agreement)
	if err != nil {
		return Agreement{}, err
	}
	if p.Type != "Agreement" {
		return Agreement{}, dx.Errorf(dx.EInvalid, "@type 应为 Agreement / @type must be Agreement, not %q", p.Type)
	}
	return Agreement{Policy: p, Signatures: doc.Signatures}, nil
}

// String names the agreement for logs.
func (a Agreement) String() string {
	return fmt.Sprintf("agreement %s (%s → %s, %s)", a.Policy.ID, a.Policy.Assigner, a.Policy.Assignee, a.Policy.Target)
}
