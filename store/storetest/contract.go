package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/crossborder"
	"github.com/dxexchange/dx/policy"
	"github.com/dxexchange/dx/store"
)

func testContracts(t *testing.T, s store.Store) {
	ctx := context.Background()
	prov := newOrg(t, s, "prov", "provider")
	cons := newOrg(t, s, "cons", "consumer")
	a, v := newAsset(prov, "x", asset.Meta{Title: asset.Text{En: "x"}, Industry: "A", Region: "100000", Visibility: asset.Listed}, t0)
	if err := s.CreateAsset(ctx, a, v, asset.Search{}, nil); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(`{"@type":"Offer","@id":"urn:uuid:1","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"2"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	o := contract.Offer{ID: "urn:uuid:1", AssetID: a.ID, ProviderID: prov.ID, Policy: pol, Digest: policy.Digest(pol), AutoApprove: true, CreatedAt: t0}
	if err := s.CreateOffer(ctx, o, []dx.Event{ev("offer.create", o.ID)}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateOffer(ctx, o, nil), dx.EConflict)
	got, err := s.Offer(ctx, o.ID)
	if err != nil || got.Digest != o.Digest || !got.AutoApprove || policy.Digest(got.Policy) != o.Digest {
		t.Fatalf("offer = %+v, %v", got, err)
	}
	n := contract.Negotiation{ID: dx.NewID("neg", t0), ConsumerPID: "urn:uuid:c1", OfferID: o.ID, AssetID: a.ID, ProviderID: prov.ID,
		ConsumerID: cons.ID, State: contract.Requested, Terms: pol, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateNegotiation(ctx, n, nil, nil); err != nil {
		t.Fatal(err)
	}
	dup := n
	dup.ID = dx.NewID("neg", t0)
	wantCode(t, s.CreateNegotiation(ctx, dup, nil, nil), dx.EConflict) // same consumer PID
	if byPID, err := s.NegotiationByConsumerPID(ctx, cons.ID, "urn:uuid:c1"); err != nil || byPID.ID != n.ID {
		t.Fatalf("by consumer pid: %+v %v", byPID, err)
	}

	// Agree: an agreement signed by both, inserted with the state change.
	terms := pol
	terms.ID, terms.Type, terms.Target, terms.Assigner, terms.Assignee, terms.Timestamp = "urn:uuid:a1", "Agreement", "urn:dx:asset:"+a.ID, prov.ID, cons.ID, t0.Format(time.RFC3339)
	ag := contract.Agreement{Policy: terms}
	for _, org := range []string{prov.ID, cons.ID} {
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		ag.Sign(org, key)
	}
	rec := &contract.Record{ID: terms.ID, NegotiationID: n.ID, AssetID: a.ID, ProviderID: prov.ID, ConsumerID: cons.ID, Agreement: ag, Digest: policy.Digest(terms), CreatedAt: t0}
	n.State, n.AgreementID = contract.Finalized, rec.ID
	if err := s.UpdateNegotiation(ctx, n, contract.Requested, rec, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UpdateNegotiation(ctx, n, contract.Requested, nil, nil), dx.EConflict) // no longer REQUESTED
	back, err := s.Agreement(ctx, rec.ID)
	if err != nil || back.Agreement.Verify(nil) != nil || back.Uses != 0 {
		t.Fatalf("agreement = %+v, %v", back, err)
	}

	// Concurrent uses: the decision sees each count once; denials change nothing.
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := s.UseAgreement(ctx, rec.ID, func(r contract.Record) (policy.Decision, []dx.Event) {
				if r.Uses >= 2 {
					return policy.Decision{Reasons: []string{"limit"}}, nil
				}
				return policy.Decision{Allow: true}, []dx.Event{ev("agreement.use", r.ID)}
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if d.Allow {
				allowed++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if back, _ := s.Agreement(ctx, rec.ID); allowed != 2 || back.Uses != 2 {
		t.Fatalf("%d uses allowed, counter %d; want 2 and 2", allowed, back.Uses)
	}
	if act, _ := s.ActiveAgreements(ctx, a.ID, cons.ID); len(act) != 1 {
		t.Fatalf("active agreements: %d", len(act))
	}
	if err := s.RevokeAgreement(ctx, rec.ID, t0, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RevokeAgreement(ctx, rec.ID, t0, nil), dx.ENotFound)
	if act, _ := s.ActiveAgreements(ctx, a.ID, cons.ID); len(act) != 0 {
		t.Fatalf("revoked agreement still active")
	}
	for _, org := range []string{prov.ID, cons.ID, ""} {
		if ns, _ := s.Negotiations(ctx, org); len(ns) != 1 {
			t.Fatalf("negotiations of %q: %d", org, len(ns))
		}
		if as, _ := s.Agreements(ctx, org); len(as) != 1 {
			t.Fatalf("agreements of %q: %d", org, len(as))
		}
	}
	if err := s.WithdrawOffer(ctx, o.ID, t0, nil); err != nil {
		t.Fatal(err)
	}
	if os, _ := s.Offers(ctx, a.ID); len(os) != 1 || os[0].WithdrawnAt == nil {
		t.Fatalf("offers after withdrawal: %+v", os)
	}
	testBudgetLedger(t, s, a.ID, rec.ID)
}

// testBudgetLedger: compute settings, the privacy budget ledger under concurrency,
// settling, crash recovery and the answer cache.
func testBudgetLedger(t *testing.T, s store.Store, assetID, agreementID string) {
	ctx := context.Background()
	wantCode(t, func() error { _, err := s.ComputeSettings(ctx, assetID); return err }(), dx.ENotFound)
	for _, st := range []compute.Settings{{AssetID: assetID, UnitColumn: "a", MaxGroups: 1}, {AssetID: assetID, UnitColumn: "b", MaxGroups: 3}} {
		if err := s.SetComputeSettings(ctx, st, t0, []dx.Event{ev("compute.settings", assetID)}); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := s.ComputeSettings(ctx, assetID); err != nil || st.UnitColumn != "b" || st.MaxGroups != 3 {
		t.Fatalf("settings %+v %v", st, err)
	}
	total := compute.Budget{Epsilon: 2, Delta: 1e-5, Rho: 1}
	cost := compute.Budget{Epsilon: 0.25, Delta: 1e-7}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var granted []string
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("dpr_%02d", i)
			_, ok, err := s.Reserve(ctx, compute.Reservation{ID: id, AgreementID: agreementID, QueryHash: "q", Cost: cost, At: t0}, total)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				granted = append(granted, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(granted) != 8 {
		t.Fatalf("%d reservations of 0.25 granted within ε = 2; want 8", len(granted))
	}
	if l, err := s.BudgetLedger(ctx, agreementID); err != nil || l.Reserved.Epsilon != 2 || l.Spent.Epsilon != 0 {
		t.Fatalf("ledger %+v %v", l, err)
	}
	// Release one (nothing ran), commit one, leave the rest to crash recovery.
	if err := s.Settle(ctx, granted[0], false, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Settle(ctx, granted[0], true, nil), dx.EConflict) // settled once only
	if err := s.Settle(ctx, granted[1], true, []dx.Event{ev("compute.query", agreementID)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Reserve(ctx, compute.Reservation{ID: "dpr_again", AgreementID: agreementID, QueryHash: "q", Cost: cost, At: t0}, total); !ok {
		t.Fatal("released budget not available again")
	}
	if n, err := s.CommitStale(ctx, t0.Add(time.Second)); err != nil || n != 7 {
		t.Fatalf("committed %d stale reservations (%v); want 7", n, err)
	}
	if l, _ := s.BudgetLedger(ctx, agreementID); l.Spent.Epsilon != 2 || l.Reserved.Epsilon != 0 || l.Queries != 8 || math.Abs(l.Spent.Delta-8e-7) > 1e-15 {
		t.Fatalf("ledger after recovery %+v", l)
	}
	if _, ok, _ := s.Reserve(ctx, compute.Reservation{ID: "dpr_over", AgreementID: agreementID, QueryHash: "q", Cost: cost, At: t0}, total); ok {
		t.Fatal("reserved beyond the total")
	}
	_, _, err := s.Reserve(ctx, compute.Reservation{ID: "dpr_none", AgreementID: "urn:uuid:none", QueryHash: "q", Cost: cost, At: t0}, total)
	wantCode(t, err, dx.ENotFound)
	// The answer cache: the first answer under a key stays.
	wantCode(t, func() error { _, err := s.Answer(ctx, "k"); return err }(), dx.ENotFound)
	for _, a := range []string{`{"rows":[[1]]}`, `{"rows":[[2]]}`} {
		if err := s.SaveAnswer(ctx, "k", agreementID, []byte(a), t0); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Answer(ctx, "k"); err != nil || string(got) != `{"rows":[[1]]}` {
		t.Fatalf("cached answer %s %v", got, err)
	}
}

// testCrossBorderLedger: person sketches per provider and year are updated under a lock
// (concurrent deliveries all counted), and a refusal stores nothing.
func testCrossBorderLedger(t *testing.T, s store.Store) {
	ctx := context.Background()
	prov := newOrg(t, s, "xb", "provider")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.UpdateLedger(ctx, prov.ID, 2026, func(g, sens *crossborder.Sketch) ([]dx.Event, error) {
				for j := range 1000 {
					g.Add(mix(uint64(i*1000 + j)))
				}
				return []dx.Event{ev("crossborder.delivery", prov.ID)}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	refused := errors.New("refused")
	err := s.UpdateLedger(ctx, prov.ID, 2026, func(g, sens *crossborder.Sketch) ([]dx.Event, error) {
		sens.Add(42)
		return nil, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("refusal: %v", err)
	}
	if err := s.UpdateLedger(ctx, prov.ID, 2026, func(g, sens *crossborder.Sketch) ([]dx.Event, error) {
		if e := g.Estimate(); e < 7800 || e > 8200 || sens.Estimate() != 0 {
			t.Errorf("after 8 deliveries of 1000 persons: %d general, %d sensitive", e, sens.Estimate())
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// mix is splitmix64, a well-spread 64-bit hash for test persons.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
