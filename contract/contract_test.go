package contract

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/policy"
)

func TestTransitions(t *testing.T) {
	ok := []struct {
		from State
		msg  Message
		to   State
	}{
		{"", MsgRequest, Requested}, {"", MsgOffer, Offered},
		{Requested, MsgOffer, Offered}, {Requested, MsgAgreement, Agreed},
		{Offered, MsgCounter, Requested}, {Offered, MsgAccepted, Accepted},
		{Accepted, MsgAgreement, Agreed}, {Agreed, MsgVerification, Verified}, {Verified, MsgFinalized, Finalized},
		{Requested, MsgTermination, Terminated}, {Offered, MsgTermination, Terminated}, {Accepted, MsgTermination, Terminated},
		{Agreed, MsgTermination, Terminated}, {Verified, MsgTermination, Terminated}, {Terminated, MsgTermination, Terminated},
	}
	for _, tt := range ok {
		if got, err := Next(tt.from, tt.msg); err != nil || got != tt.to {
			t.Errorf("%s + %s = %s, %v; want %s", tt.from, tt.msg, got, err, tt.to)
		}
	}
	// The DSP table's 400s, among them the TCK's CN:03-01…04 and CN_C:03-01…06.
	bad := []struct {
		from State
		msg  Message
	}{
		{Requested, MsgCounter}, {Requested, MsgAccepted}, {Requested, MsgVerification}, {Requested, MsgFinalized},
		{Offered, MsgVerification}, {Offered, MsgOffer}, {Offered, MsgAgreement}, {Offered, MsgFinalized},
		{Accepted, MsgCounter}, {Accepted, MsgVerification}, {Accepted, MsgOffer}, {Accepted, MsgFinalized},
		{Agreed, MsgAgreement}, {Agreed, MsgFinalized}, {Verified, MsgVerification}, {Verified, MsgAgreement},
		{Finalized, MsgTermination}, {Finalized, MsgRequest}, {Terminated, MsgOffer}, {Terminated, MsgFinalized},
		{"", MsgAgreement}, {"", MsgTermination},
	}
	for _, tt := range bad {
		got, err := Next(tt.from, tt.msg)
		if got != tt.from || dx.ErrorCode(err) != dx.EInvalid || dx.ErrorDetails(err)["code"] != "invalid-transition" {
			t.Errorf("%s + %s = %s, %v; want invalid-transition, state unchanged", tt.from, tt.msg, got, err)
		}
	}
}

const agreementJSON = `{"@type":"Agreement","@id":"urn:uuid:e349749d-c80a-4c72-b71a-00479bc580bd",
 "target":"urn:uuid:124ab1e1-8542-472e-8470-80c264bfbfc9","assigner":"did:web:provider.example","assignee":"did:web:consumer.example",
 "timestamp":"2026-03-01T08:30:00Z","profile":"https://dx.example/ns/v1/profile",
 "permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"200"}]}]}`

func signedAgreement(t *testing.T) (Agreement, ed25519.PrivateKey, ed25519.PrivateKey) {
	p, err := policy.Parse([]byte(agreementJSON))
	if err != nil {
		t.Fatal(err)
	}
	_, pk, _ := ed25519.GenerateKey(rand.Reader)
	_, ck, _ := ed25519.GenerateKey(rand.Reader)
	a := Agreement{Policy: p}
	if err := a.Sign(p.Assigner, pk); err != nil {
		t.Fatal(err)
	}
	if err := a.Sign(p.Assignee, ck); err != nil {
		t.Fatal(err)
	}
	return a, pk, ck
}

func TestAgreementRoundTripAndVerify(t *testing.T) {
	a, pk, ck := signedAgreement(t)
	file, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseDocument(file)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]ed25519.PublicKey{"did:web:provider.example": pk.Public().(ed25519.PublicKey), "did:web:consumer.example": ck.Public().(ed25519.PublicKey)}
	if err := back.Verify(keys); err != nil {
		t.Fatalf("a faithful copy does not verify: %v", err)
	}
	if err := back.Verify(nil); err != nil {
		t.Fatalf("offline verification: %v", err)
	}

	tamper := func(old, new string) error {
		t.Helper()
		s := strings.Replace(string(file), old, new, 1)
		if s == string(file) {
			t.Fatalf("test edit %q not found", old)
		}
		b, err := ParseDocument([]byte(s))
		if err != nil {
			return err
		}
		return b.Verify(keys)
	}
	for name, edit := range map[string][2]string{
		"raised count":    {`"rightOperand":"200"`, `"rightOperand":"9000"`},
		"other assignee":  {`"assignee":"did:web:consumer.example"`, `"assignee":"did:web:thief.example"`},
		"later timestamp": {`2026-03-01T08:30:00Z`, `2026-03-02T08:30:00Z`},
		"other target":    {`124ab1e1`, `124ab1e2`},
	} {
		if err := tamper(edit[0], edit[1]); dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("%s: %v, want the tampering detected", name, err)
		}
	}
	// One party's signature alone is not an agreement.
	one := back
	one.Signatures = one.Signatures[:1]
	if err := one.Verify(nil); err == nil || !strings.Contains(err.Error(), "has not signed") {
		t.Errorf("single signature: %v", err)
	}
	// A signature by a key other than the registered one.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged := Agreement{Policy: back.Policy}
	forged.Sign(back.Policy.Assigner, other)
	forged.Sign(back.Policy.Assignee, ck)
	if err := forged.Verify(keys); err == nil || !strings.Contains(err.Error(), "registered key") {
		t.Errorf("forged signer: %v", err)
	}
	if _, err := ParseDocument([]byte(`{"agreement":{"@type":"Offer","permission":[{"action":"use"}]},"signatures":[]}`)); dx.ErrorCode(err) != dx.EInvalid {
		t.Errorf("an offer as agreement: %v", err)
	}
}
