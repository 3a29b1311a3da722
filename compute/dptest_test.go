package compute

import (
	"math"
	"testing"
)

// The approximate-DP vote test of Google's DP library, applied to dx's release path:
// for neighbouring datasets D and D′ (one person added at the contribution bound),
// sample the released value n times on each side, histogram it (binning is
// post-processing, so it cannot hide a violation that matters), and estimate
// δ̂ = Σ_x max(0, P̂_D(x) − e^ε·P̂_D′(x)) in both directions. A correct mechanism has
// δ̂ ≤ δ + tolerance; a majority vote over several runs makes the test's own error
// rate negligible. Negative controls (too little noise, a sensitivity one step short,
// a selection threshold for a hundred times the δ) must be rejected, or the test has
// no power.

const voteEpsilon = 1.0986122886681098 // ln 3

// voteTol is the δ̂ tolerance for 10⁵ samples per side. Where a Laplace mechanism is
// tight its likelihood ratio is exactly e^ε on a whole tail, so sampling noise alone
// makes δ̂ about 0.006 there; the negative controls below give 0.09 to 0.2.
const voteTol = 0.025

// deltaHat estimates the hockey-stick divergence of two samples' histograms.
func deltaHat(a, b map[int64]int, n int, eps float64) float64 {
	d1, d2 := 0.0, 0.0
	keys := map[int64]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		pa, pb := float64(a[k])/float64(n), float64(b[k])/float64(n)
		d1 += math.Max(0, pa-math.Exp(eps)*pb)
		d2 += math.Max(0, pb-math.Exp(eps)*pa)
	}
	return math.Max(d1, d2)
}

// vote runs the test `votes` times and reports whether a majority accepted.
func vote(t *testing.T, votes, n int, delta, tol float64, sample func(neighbour bool) int64) bool {
	t.Helper()
	accepted := 0
	for range votes {
		a, b := map[int64]int{}, map[int64]int{}
		for range n {
			a[sample(false)]++
			b[sample(true)]++
		}
		if deltaHat(a, b, n, voteEpsilon) <= delta+tol {
			accepted++
		}
	}
	return accepted*2 > votes
}

func voteSize(t *testing.T) (votes, n int) {
	if testing.Short() {
		return 3, 50_000
	}
	return 5, 100_000
}

// released runs Release on one ungrouped engine row and returns the first value.
func released(t *testing.T, p Plan, cells ...int64) float64 {
	row := make([]any, 0, len(cells)+1)
	for _, c := range cells {
		row = append(row, c)
	}
	row = append(row, int64(1000)) // units (no selection when ungrouped)
	res, err := p.Release([][]any{row})
	if err != nil {
		t.Fatal(err)
	}
	switch v := res.Rows[0][0].(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	t.Fatalf("released %T", res.Rows[0][0])
	return 0
}

func planFor(t *testing.T, agg Aggregate, opts Options, unit string, groupBy ...string) Plan {
	t.Helper()
	q := Query{Table: "t", Aggregates: []Aggregate{agg}, GroupBy: groupBy}
	p, err := NewPlan(opts, q, Settings{UnitColumn: unit, MaxGroups: 3}, Limits{PerQuery: Budget{Epsilon: 2, Rho: 1, Delta: 0.1}, Total: Budget{Epsilon: 9, Rho: 9, Delta: 1}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVoteCount(t *testing.T) {
	t.Parallel()
	votes, n := voteSize(t)
	p := planFor(t, Aggregate{Function: "count_star", Bounds: []int64{0, 4}}, Options{"epsilon": "1.0986122886681098", "max_groups_contributed": "1"}, "u")
	// D′ has one more person with 4 rows: the bounded count is 4 higher.
	ok := vote(t, votes, n, 0, voteTol, func(nb bool) int64 {
		v := int64(1000)
		if nb {
			v += 4
		}
		return int64(released(t, p, v))
	})
	if !ok {
		t.Error("COUNT: the release path failed the approximate-DP test")
	}
	// Negative control: the person's 5 rows were not clamped to 4 (bounding skipped).
	if vote(t, votes, n, 0, voteTol, func(nb bool) int64 {
		v := int64(1000)
		if nb {
			v += 6
		}
		return int64(released(t, p, v))
	}) {
		t.Error("negative control (a contribution of 6 under a bound of 4) passed: the test has no power")
	}
	// Negative control: noise for a sensitivity one step short (3 instead of 4).
	short := p
	short.Cells = append([]Cell(nil), p.Cells...)
	short.Cells[0].Sensitivity = 3
	if vote(t, votes, n, 0, voteTol, func(nb bool) int64 {
		v := int64(1000)
		if nb {
			v += 4
		}
		return int64(released(t, short, v))
	}) {
		t.Error("negative control (sensitivity one step short) passed")
	}
}

func TestVoteSumAndAvg(t *testing.T) {
	t.Parallel()
	votes, n := voteSize(t)
	sum := planFor(t, Aggregate{Function: "sum", Bounds: []int64{0, 10}}, Options{"epsilon": "1.0986122886681098"}, "")
	c := sum.Cells[0]
	bin := func(v float64) int64 { return int64(math.Floor(v / 2)) } // bins of 2 units (the Laplace scale is 9.1)
	if !vote(t, votes, n, 0, voteTol, func(nb bool) int64 {
		s := int64(5000) << c.Shift
		if nb {
			s += c.Sensitivity // one row at the upper bound
		}
		return bin(released(t, sum, s))
	}) {
		t.Error("SUM: the release path failed the approximate-DP test")
	}
	// Negative control: 0.85 × the noise.
	weak := sum
	weak.Cost.Epsilon = sum.Cost.Epsilon / 0.85
	if vote(t, votes, n, 0, voteTol, func(nb bool) int64 {
		s := int64(5000) << c.Shift
		if nb {
			s += c.Sensitivity
		}
		return bin(released(t, weak, s))
	}) {
		t.Error("negative control (0.85 × the noise scale) passed")
	}

	// AVG = mid + Ŝ/N̂: one person at the upper bound moves Σ(a − mid) by (hi − lo)/2
	// and N by 1. Few persons, so that one of them matters.
	avg := planFor(t, Aggregate{Function: "avg", Bounds: []int64{0, 100}}, Options{"epsilon": "1.0986122886681098", "max_groups_contributed": "1"}, "u")
	cs, cn := avg.Cells[0], avg.Cells[1]
	if !vote(t, votes, n, 0, voteTol, func(nb bool) int64 {
		s, k := int64(0), int64(4) // four persons at the midpoint
		if nb {
			s, k = cs.Sensitivity, 5
		}
		_ = cn
		return int64(math.Floor(released(t, avg, s, k) / 5)) // bins of 5 years
	}) {
		t.Error("AVG: the release path failed the approximate-DP test")
	}
}

// TestSelection: a group that exists only in D′, with one person, is released with
// probability at most δ per group; a threshold for 100 × δ is caught.
func TestSelection(t *testing.T) {
	t.Parallel()
	_, n := voteSize(t)
	const delta = 0.005
	p := planFor(t, Aggregate{Function: "count_star", Bounds: []int64{0, 1}}, Options{"epsilon": "1.0986122886681098", "delta": "0.005", "max_groups_contributed": "1"}, "u", "g")
	var err error
	if p.Threshold, err = thresholdFor(p, delta); err != nil {
		t.Fatal(err)
	}
	rate := func(p Plan) float64 {
		released := 0
		for range n {
			res, err := p.Release([][]any{{"g", int64(1), int64(1)}})
			if err != nil {
				t.Fatal(err)
			}
			released += len(res.Rows)
		}
		return float64(released) / float64(n)
	}
	// Binomial(n, δ) rarely exceeds δ + 5 standard errors.
	tol := 5 * math.Sqrt(delta*(1-delta)/float64(n))
	if r := rate(p); r > delta+tol {
		t.Errorf("a one-person group was released at rate %v > δ = %v", r, delta)
	}
	loose := p
	if loose.Threshold, err = thresholdFor(p, 100*delta); err != nil {
		t.Fatal(err)
	}
	if r := rate(loose); r <= delta+tol {
		t.Errorf("negative control (threshold for 100 × δ) released at rate %v ≤ %v", r, delta+tol)
	}
	// Zero-zCDP selection (discrete Gaussian threshold) keeps the same promise.
	g := planFor(t, Aggregate{Function: "count_star", Bounds: []int64{0, 1}}, Options{"rho": "0.5", "delta": "0.005", "max_groups_contributed": "1"}, "u", "g")
	if g.Threshold, err = thresholdFor(g, delta); err != nil {
		t.Fatal(err)
	}
	if r := rate(g); r > delta+tol {
		t.Errorf("Gaussian selection released a one-person group at rate %v > %v", r, delta)
	}
}

func thresholdFor(p Plan, delta float64) (int64, error) { return p.threshold(delta) }

// TestVoteSnapshot: on a snapshot of ≤ 3 rows per unit, one more person adds up to 3
// rows, possibly all to one group; the count's noise covers that, and a person with 4
// rows (a snapshot that did not bound) is caught.
func TestVoteSnapshot(t *testing.T) {
	t.Parallel()
	votes, n := voteSize(t)
	q := Query{Table: "t", Aggregates: []Aggregate{{Function: "count_star"}}}
	p, err := NewPlan(Options{"epsilon": "1.0986122886681098"}, q, Settings{UnitColumn: "u", MaxGroups: 1, SnapshotRows: 3}, Limits{PerQuery: Budget{Epsilon: 2}, Total: Budget{Epsilon: 9}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	sample := func(extra int64) func(bool) int64 {
		return func(nb bool) int64 {
			v := int64(1000)
			if nb {
				v += extra
			}
			return int64(released(t, p, v))
		}
	}
	if !vote(t, votes, n, 0, voteTol, sample(3)) {
		t.Error("snapshot COUNT failed the approximate-DP test")
	}
	if vote(t, votes, n, 0, voteTol, sample(5)) {
		t.Error("negative control (5 rows of one person on a 3-row snapshot) passed")
	}
}

// TestVoteSpread: VAR_POP and PERCENTILE_CONT on one row per person, with one row added
// at the upper bound, pass the vote test on their (binned) released values.
func TestVoteSpread(t *testing.T) {
	t.Parallel()
	votes, n := voteSize(t)
	v := planFor(t, Aggregate{Function: "var_pop", Bounds: []int64{0, 10}}, Options{"epsilon": "1.0986122886681098"}, "")
	cs, cn, cq := v.Cells[0], v.Cells[1], v.Cells[2]
	if !vote(t, votes, n, 0, voteTol, func(nb bool) int64 {
		// Ten rows at 4 and 6 (mid 5): Σ(x − mid) = 0, Σ(x − mid)² = 10.
		s, k, q := int64(0), int64(10), int64(10)<<(cq.Shift)
		if nb { // one more row at 10: +5, +1, +25
			s, k, q = 5<<(cs.Shift), 11, q+25<<(cq.Shift)
		}
		_ = cn
		return int64(math.Floor(released(t, v, s, k, q) * 2))
	}) {
		t.Error("VAR_POP failed the approximate-DP test")
	}
	pq := planFor(t, Aggregate{Function: "percentile_cont", Bounds: []int64{0, 100}, Quantile: 0.5}, Options{"epsilon": "1.0986122886681098"}, "")
	// 272 noisy tree nodes per release: fewer, coarser samples (10 bins, 10⁴ per side,
	// 3 votes, tolerance 0.05).
	if !vote(t, 3, n/10, 0, 0.05, func(nb bool) int64 {
		hist := map[any]any{int64(100): int64(3), int64(150): int64(3)}
		if nb {
			hist[int64(255)] = int64(1)
		}
		res, err := pq.Release([][]any{{hist, int64(7)}})
		if err != nil {
			t.Fatal(err)
		}
		return int64(math.Floor(res.Rows[0][0].(float64) / 10))
	}) {
		t.Error("PERCENTILE_CONT failed the approximate-DP test")
	}
}
