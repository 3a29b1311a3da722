package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxexchange/dx/asset"
)

// BenchmarkDPQueryEndToEnd times a user-level DP query through the API, ledger and
// audit log included (no latency padding), on 1M visits of 250,000 patients: one
// request per iteration, each a different query so the cache does not answer it.
// It reports p50 and p99 and, separately, the per-query bounding and snapshot paths.
func BenchmarkDPQueryEndToEnd(b *testing.B) {
	te := startExchange(b, func(c *Config) { c.ComputePad = 0 })
	ctx := context.Background()
	prov, _ := te.org(b, "h", "provider")
	cons, _ := te.org(b, "r", "consumer")
	var sb strings.Builder
	sb.WriteString("patient_id,region,age,cost\n")
	for i := range 1_000_000 {
		p := i % 250_000
		fmt.Fprintf(&sb, "P%06d,R%02d,%d,%d\n", p, p%30, 18+p%70, 50+(i*7)%450)
	}
	a, _, err := register(prov, "visits", "visits.csv", sb.String(), asset.Listed)
	if err != nil {
		b.Fatal(err)
	}
	o, err := prov.CreateOffer(ctx, a.ID, policyJSON(fmt.Sprintf(computeOffer, "1000000")), true)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cons.RequestContract(ctx, o.ID, nil, ""); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name     string
		snapshot int
	}{{"per-query-bounding", 0}, {"snapshot", 5}} {
		b.Run(mode.name, func(b *testing.B) {
			if _, err := prov.SetCompute(ctx, a.ID, computeSettings("patient_id", 1, mode.snapshot)); err != nil {
				b.Fatal(err)
			}
			q := func(i int) string {
				return fmt.Sprintf("SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 0.001, max_groups_contributed = 1) region, COUNT(*, contribution_bounds_per_group => (0, 4)) AS n, AVG(cost, contribution_bounds_per_group => (0, 500)) AS c FROM visits WHERE age >= %d GROUP BY region", i%50)
			}
			if _, err := cons.Query(ctx, a.ID, q(-1), "research"); err != nil { // warm: builds the snapshot
				b.Fatal(err)
			}
			var ds []time.Duration
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, err := cons.Query(ctx, a.ID, q(i)+strings.Repeat(" ", i/50), "research"); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
