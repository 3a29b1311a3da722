package dp

import (
	"fmt"
	"math"
)

// Fixed-point precision of noise scales: scales are rounded up to a multiple of 2⁻²⁰
// (rounding up only adds noise, so the privacy guarantee holds).
const scaleDen = 1 << 20

// rational rounds x > 0 up to a fraction with denominator 2²⁰.
func rational(x float64) (uint64, uint64, error) {
	if !(x > 0) || math.IsInf(x, 0) || x*scaleDen >= 1<<62 {
		return 0, 0, fmt.Errorf("dp: a noise scale must be positive and finite, not %v", x)
	}
	return uint64(math.Ceil(x * scaleDen)), scaleDen, nil
}

// LaplaceMechanism is ε-differential privacy for an integer query of sensitivity Δ:
// discrete Laplace noise of scale Δ/ε.
type LaplaceMechanism struct {
	Sensitivity int64
	Epsilon     float64
}

// Scale is the noise's scale Δ/ε (as the sampler uses it, rounded up).
func (m LaplaceMechanism) Scale() (float64, error) {
	num, den, err := rational(float64(m.Sensitivity) / m.Epsilon)
	return float64(num) / float64(den), err
}

// Add returns value plus noise.
func (m LaplaceMechanism) Add(value int64) (int64, error) {
	if m.Sensitivity < 1 || !(m.Epsilon > 0) {
		return 0, fmt.Errorf("dp: Laplace needs sensitivity ≥ 1 and ε > 0")
	}
	num, den, err := rational(float64(m.Sensitivity) / m.Epsilon)
	if err != nil {
		return 0, err
	}
	return value + Laplace(num, den), nil
}

// Interval is the half-width k such that the noise lies in [−k, k] with probability at
// least conf: P(|X| > k) = 2·a^(k+1)/(1+a) with a = exp(−1/scale).
func (m LaplaceMechanism) Interval(conf float64) (int64, error) {
	scale, err := m.Scale()
	if err != nil {
		return 0, err
	}
	a := math.Exp(-1 / scale)
	// smallest k with 2·a^(k+1)/(1+a) ≤ 1 − conf
	k := math.Ceil(math.Log((1-conf)*(1+a)/2)/math.Log(a) - 1)
	return int64(max(0, k)), nil
}

// GaussianMechanism is ρ-zero-concentrated differential privacy for an integer query of
// sensitivity Δ: discrete Gaussian noise of variance parameter σ² = Δ²/(2ρ) (CKS20,
// Theorem 4).
type GaussianMechanism struct {
	Sensitivity int64
	Rho         float64
}

// Variance is σ² as the sampler uses it (rounded up).
func (m GaussianMechanism) Variance() (float64, error) {
	num, den, err := rational(float64(m.Sensitivity*m.Sensitivity) / (2 * m.Rho))
	return float64(num) / float64(den), err
}

// Add returns value plus noise.
func (m GaussianMechanism) Add(value int64) (int64, error) {
	if m.Sensitivity < 1 || !(m.Rho > 0) {
		return 0, fmt.Errorf("dp: Gaussian needs sensitivity ≥ 1 and ρ > 0")
	}
	num, den, err := rational(float64(m.Sensitivity*m.Sensitivity) / (2 * m.Rho))
	if err != nil {
		return 0, err
	}
	return value + Gaussian(num, den), nil
}

// Interval is a half-width k with P(|X| ≤ k) ≥ conf, by summing the discrete Gaussian's
// tail exactly (up to floating-point rounding) rather than the continuous 1.96σ.
func (m GaussianMechanism) Interval(conf float64) (int64, error) {
	v, err := m.Variance()
	if err != nil {
		return 0, err
	}
	sigma := math.Sqrt(v)
	if sigma > 1000 { // the discrete and continuous laws agree far beyond this precision
		return int64(math.Ceil(math.Sqrt2*sigma*math.Erfinv(conf))) + 1, nil
	}
	limit := int64(math.Ceil(40*sigma)) + 1
	z, mass := 0.0, make([]float64, limit+1)
	for x := int64(0); x <= limit; x++ {
		mass[x] = math.Exp(-float64(x*x) / (2 * v))
		if x == 0 {
			z += mass[x]
		} else {
			z += 2 * mass[x]
		}
	}
	covered := mass[0] / z
	for k := int64(0); k < limit; k++ {
		if covered >= conf {
			return k, nil
		}
		covered += 2 * mass[k+1] / z
	}
	return limit, nil
}

// ZCDPToApprox converts ρ-zCDP to (ε, δ)-differential privacy: ε = ρ + 2√(ρ·ln(1/δ))
// (Bun and Steinke 2016, Proposition 1.3).
func ZCDPToApprox(rho, delta float64) float64 {
	return rho + 2*math.Sqrt(rho*math.Log(1/delta))
}

// RhoFor is the largest ρ whose (ε, δ) conversion stays within ε: the inverse of
// ZCDPToApprox, ρ = (√(ln(1/δ) + ε) − √(ln(1/δ)))².
func RhoFor(epsilon, delta float64) float64 {
	l := math.Log(1 / delta)
	r := math.Sqrt(l+epsilon) - math.Sqrt(l)
	return r * r
}

// Tail is P(X ≥ k) for the mechanism's noise X and k ≥ 1: a^k/(1+a) with
// a = exp(−1/scale).
func (m LaplaceMechanism) Tail(k int64) (float64, error) {
	scale, err := m.Scale()
	if err != nil {
		return 0, err
	}
	a := math.Exp(-1 / scale)
	return math.Pow(a, float64(k)) / (1 + a), nil
}

// Tail is P(X ≥ k) for the mechanism's noise X, summed from the discrete Gaussian's mass
// (up to floating-point rounding; callers use it for public thresholds only).
func (m GaussianMechanism) Tail(k int64) (float64, error) {
	v, err := m.Variance()
	if err != nil {
		return 0, err
	}
	limit := int64(math.Ceil(40*math.Sqrt(v))) + k + 1
	z, tail := 1.0, 0.0
	for x := int64(1); x <= limit; x++ {
		p := math.Exp(-float64(x*x) / (2 * v))
		z += 2 * p
		if x >= k {
			tail += p
		}
	}
	return tail / z, nil
}

// Threshold is the smallest τ such that a group of one unit, its count noised by tail,
// passes "noisy count ≥ τ" with probability at most delta: P(X ≥ τ − 1) ≤ delta.
func Threshold(tail func(int64) (float64, error), delta float64) (int64, error) {
	if !(delta > 0 && delta < 1) {
		return 0, fmt.Errorf("dp: a threshold needs 0 < δ < 1, not %v", delta)
	}
	lo, hi := int64(1), int64(1)
	for {
		p, err := tail(hi)
		if err != nil {
			return 0, err
		}
		if p <= delta {
			break
		}
		if hi > 1<<40 {
			return 0, fmt.Errorf("dp: no threshold for δ = %v", delta)
		}
		lo, hi = hi, hi*2
	}
	for lo < hi { // smallest k in [lo, hi] with tail(k) ≤ delta
		mid := (lo + hi) / 2
		p, err := tail(mid)
		if err != nil {
			return 0, err
		}
		if p <= delta {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo + 1, nil
}
