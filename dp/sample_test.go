package dp

import (
	"math"
	"testing"
)

// chiSquare compares the counts of samples with a pmf over the integers: bins for
// every x with expected count ≥ 5, plus one bin for the rest. It returns the statistic
// and the critical value at α ≈ 10⁻⁶ (Wilson–Hilferty), so a correct sampler fails
// about once in a million runs.
func chiSquare(counts map[int64]int, n int, pmf func(int64) float64) (stat, crit float64) {
	seen := 0.0
	rest, restExp := 0.0, 1.0
	df := -1
	for x := int64(-1000); x <= 1000; x++ {
		e := float64(n) * pmf(x)
		if e < 5 {
			continue
		}
		o := float64(counts[x])
		stat += (o - e) * (o - e) / e
		seen += o
		restExp -= pmf(x)
		df++
	}
	rest = float64(n) - seen
	if e := float64(n) * restExp; e >= 5 {
		stat += (rest - e) * (rest - e) / e
		df++
	}
	z := 4.75
	k := float64(df)
	crit = k * math.Pow(1-2/(9*k)+z*math.Sqrt(2/(9*k)), 3)
	return stat, crit
}

func laplacePMF(scale float64) func(int64) float64 {
	a := math.Exp(-1 / scale)
	return func(x int64) float64 { return (1 - a) / (1 + a) * math.Pow(a, math.Abs(float64(x))) }
}

func gaussianPMF(variance float64) func(int64) float64 {
	z := 0.0
	for x := -2000; x <= 2000; x++ {
		z += math.Exp(-float64(x*x) / (2 * variance))
	}
	return func(x int64) float64 { return math.Exp(-float64(x*x)/(2*variance)) / z }
}

func draw(n int, f func() int64) map[int64]int {
	counts := map[int64]int{}
	for range n {
		counts[f()]++
	}
	return counts
}

// TestLaplaceDistribution: samples follow the discrete Laplace pmf, for integer and
// fractional scales; the same samples are rejected against a 10% wider scale (a negative
// control showing the test can fail).
func TestLaplaceDistribution(t *testing.T) {
	const n = 200_000
	for _, c := range []struct{ num, den uint64 }{{3, 1}, {1, 2}, {20, 3}} {
		scale := float64(c.num) / float64(c.den)
		counts := draw(n, func() int64 { return Laplace(c.num, c.den) })
		if stat, crit := chiSquare(counts, n, laplacePMF(scale)); stat > crit {
			t.Errorf("Laplace(%d/%d): χ² %.1f > %.1f", c.num, c.den, stat, crit)
		}
		if stat, crit := chiSquare(counts, n, laplacePMF(scale*1.1)); stat <= crit {
			t.Errorf("negative control Laplace(%d/%d) vs scale ×1.1: χ² %.1f ≤ %.1f", c.num, c.den, stat, crit)
		}
	}
}

// TestGaussianDistribution: samples follow the discrete Gaussian pmf (σ² = 4, 2.5,
// 100); rejected against a 20% larger variance.
func TestGaussianDistribution(t *testing.T) {
	const n = 200_000
	for _, c := range []struct{ num, den uint64 }{{4, 1}, {5, 2}, {100, 1}} {
		variance := float64(c.num) / float64(c.den)
		counts := draw(n, func() int64 { return Gaussian(c.num, c.den) })
		if stat, crit := chiSquare(counts, n, gaussianPMF(variance)); stat > crit {
			t.Errorf("Gaussian(%d/%d): χ² %.1f > %.1f", c.num, c.den, stat, crit)
		}
		if stat, crit := chiSquare(counts, n, gaussianPMF(variance*1.2)); stat <= crit {
			t.Errorf("negative control Gaussian(%d/%d) vs ×1.2: χ² %.1f ≤ %.1f", c.num, c.den, stat, crit)
		}
	}
}

// TestBernoulliExp: the acceptance rate of Bernoulli(exp(−γ)) matches exp(−γ) within
// six standard errors, for γ below, at and above 1.
func TestBernoulliExp(t *testing.T) {
	s := newSource()
	const n = 200_000
	for _, g := range []struct{ num, den uint64 }{{0, 1}, {1, 3}, {1, 1}, {5, 2}, {7, 1}} {
		k := 0
		for range n {
			if s.BernoulliExp(g.num, g.den) {
				k++
			}
		}
		p := math.Exp(-float64(g.num) / float64(g.den))
		if se := math.Sqrt(p * (1 - p) / n); math.Abs(float64(k)/n-p) > 6*se+1e-9 {
			t.Errorf("BernoulliExp(%d/%d): %.5f, want %.5f", g.num, g.den, float64(k)/n, p)
		}
	}
}

// TestUniformIsUnbiased: Uniform(3) over many draws is flat (a modulo-biased generator
// with a small range would not be visible; this checks the rejection path runs).
func TestUniformIsUnbiased(t *testing.T) {
	s := newSource()
	counts := make([]int, 3)
	for range 300_000 {
		counts[s.Uniform(3)]++
	}
	for i, c := range counts {
		if math.Abs(float64(c)-100_000) > 6*math.Sqrt(300_000*(1.0/3)*(2.0/3)) {
			t.Errorf("bucket %d: %d", i, c)
		}
	}
}

func BenchmarkLaplace(b *testing.B) {
	for range b.N {
		Laplace(10, 1)
	}
}

func BenchmarkGaussian(b *testing.B) {
	for range b.N {
		Gaussian(100, 1)
	}
}

// TestMechanisms: noise scales, intervals that hold as often as they claim (checked by
// sampling), and the zCDP conversions invert each other.
func TestMechanisms(t *testing.T) {
	lm := LaplaceMechanism{Sensitivity: 1, Epsilon: 0.5}
	if s, _ := lm.Scale(); s < 2 || s > 2+1e-6 {
		t.Fatalf("Laplace scale %v", s)
	}
	k, _ := lm.Interval(0.95)
	gm := GaussianMechanism{Sensitivity: 1, Rho: 0.05} // σ² = 10
	kg, _ := gm.Interval(0.95)
	if kg < 5 || kg > 7 {
		t.Fatalf("Gaussian interval %d for σ² = 10", kg)
	}
	inL, inG := 0, 0
	const n = 100_000
	for range n {
		if v, _ := lm.Add(0); v >= -k && v <= k {
			inL++
		}
		if v, _ := gm.Add(0); v >= -kg && v <= kg {
			inG++
		}
	}
	if inL < int(0.945*n) || inG < int(0.945*n) {
		t.Fatalf("coverage: Laplace %d, Gaussian %d of %d", inL, inG, n)
	}
	if k1, _ := lm.Interval(0.95); k1 < 1 {
		t.Fatalf("Laplace interval %d", k1)
	}
	for _, c := range []struct{ eps, delta float64 }{{1, 1e-6}, {0.1, 1e-9}, {5, 1e-5}} {
		if got := ZCDPToApprox(RhoFor(c.eps, c.delta), c.delta); math.Abs(got-c.eps) > 1e-9 {
			t.Errorf("ZCDPToApprox(RhoFor(%v)) = %v", c.eps, got)
		}
	}
	if _, err := (LaplaceMechanism{Sensitivity: 1, Epsilon: 0}).Add(1); err == nil {
		t.Fatal("ε = 0 accepted")
	}
	if _, err := (GaussianMechanism{Sensitivity: 0, Rho: 1}).Add(1); err == nil {
		t.Fatal("sensitivity 0 accepted")
	}
}
