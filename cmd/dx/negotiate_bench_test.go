package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/dsp"
)

// benchNodes starts a provider node and a consumer node (separate databases, real HTTP
// over loopback) that trust each other, with an auto-approve offer on the provider, and
// returns the consumer organisation's client and what it negotiates for.
func benchNodes(b *testing.B) (cc *client.Client, provider, dataset, offer string) {
	dir := b.TempDir()
	peersA, peersB := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	os.WriteFile(peersA, []byte("[]"), 0o600)
	os.WriteFile(peersB, []byte("[]"), 0o600)
	a := startExchange(b, func(c *Config) { c.PeersFile = peersA })
	n2 := startExchange(b, func(c *Config) { c.PeersFile = peersB })
	self := func(x *exchange) []byte {
		h := x.server.DSP
		raw, _ := json.Marshal([]dsp.Peer{{ParticipantID: h.ParticipantID, PublicKey: h.Key.Public().(ed25519.PublicKey), URL: h.PublicURL}})
		return raw
	}
	os.WriteFile(peersA, self(n2.x), 0o600)
	os.WriteFile(peersB, self(a.x), 0o600)
	ctx := context.Background()
	prov, _ := a.org(b, "p", "provider")
	res, err := prov.Register(ctx, asset.Register{Name: "x", FileName: "x.csv", Meta: asset.Meta{Title: asset.Text{En: "x"}, Industry: "A"}}, strings.NewReader("a\n1\n"))
	if err != nil {
		b.Fatal(err)
	}
	o, err := prov.CreateOffer(ctx, res.Asset.ID, json.RawMessage(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"1000000"}]}]}`), true)
	if err != nil {
		b.Fatal(err)
	}
	cc, _ = n2.org(b, "c", "consumer")
	return cc, a.x.server.DSP.ParticipantID, dsp.DatasetID(res.Asset.ID), o.ID
}

// negotiateAndStart runs one negotiation and transfer start, following both on the
// consumer's node by long polls.
func negotiateAndStart(ctx context.Context, cc *client.Client, provider, dataset, offer string) error {
	var neg api.RemoteNegotiationView
	if err := cc.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": provider, "dataset_id": dataset, "offer_id": offer}, &neg); err != nil {
		return err
	}
	agreement, err := followNegotiation(ctx, cc, neg.ConsumerPID)
	if err != nil {
		return err
	}
	var tr contract.RemoteTransfer
	if err := cc.Do(ctx, "POST", "/api/v1/peers/transfers", map[string]string{"participant": provider, "agreement_id": agreement}, &tr); err != nil {
		return err
	}
	return followTransfer(ctx, cc, tr.ConsumerPID)
}

// BenchmarkNegotiationAcrossNodes measures a full DSP negotiation plus transfer start
// between two local nodes, one after another (p50 per negotiation) and eight at a time
// (negotiations per second). Run: go test -run '^$' -bench AcrossNodes -benchtime 100x ./cmd/dx
func BenchmarkNegotiationAcrossNodes(b *testing.B) {
	b.Run("sequential", func(b *testing.B) {
		cc, provider, dataset, offer := benchNodes(b)
		ctx := context.Background()
		var ds []time.Duration
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			if err := negotiateAndStart(ctx, cc, provider, dataset, offer); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99-ms")
	})
	b.Run("parallel8", func(b *testing.B) {
		cc, provider, dataset, offer := benchNodes(b)
		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		work := make(chan struct{}, b.N)
		for range b.N {
			work <- struct{}{}
		}
		close(work)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					if err := negotiateAndStart(ctx, cc, provider, dataset, offer); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "negotiations/s")
	})
}
