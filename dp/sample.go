// Package dp holds the noise of dx's differentially private answers: exact samplers of
// the discrete Laplace and discrete Gaussian distributions on integers (Canonne, Kamath
// and Steinke, "The Discrete Gaussian for Differential Privacy", NeurIPS 2020), driven by
// crypto/rand and computed in integer arithmetic only — no floating-point noise, whose
// rounding leaks (Mironov 2012).
package dp

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"math/bits"
	"sync"
)

// Source draws uniform random integers from crypto/rand through a buffer (one per
// goroutine at a time; Sampler pools them).
type Source struct {
	r *bufio.Reader
	b [8]byte
}

func newSource() *Source { return &Source{r: bufio.NewReaderSize(rand.Reader, 4096)} }

func (s *Source) uint64() uint64 {
	if _, err := s.r.Read(s.b[:]); err != nil {
		panic("dp: crypto/rand failed: " + err.Error())
	}
	return binary.LittleEndian.Uint64(s.b[:])
}

// Uniform returns a uniform integer in [0, n), n > 0, without modulo bias (Lemire).
func (s *Source) Uniform(n uint64) uint64 {
	hi, lo := bits.Mul64(s.uint64(), n)
	if lo < n {
		t := -n % n
		for lo < t {
			hi, lo = bits.Mul64(s.uint64(), n)
		}
	}
	return hi
}

// bernoulli returns true with probability num/den (0 ≤ num ≤ den, den > 0).
func (s *Source) bernoulli(num, den uint64) bool { return s.Uniform(den) < num }

// BernoulliExp returns true with probability exp(−num/den), num ≥ 0, den > 0 (CKS20
// Algorithm 1, exact).
func (s *Source) BernoulliExp(num, den uint64) bool {
	for num > den { // exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ−⌊γ⌋))
		if !s.bernoulliExpAtMostOne(1, 1) {
			return false
		}
		num -= den
	}
	return s.bernoulliExpAtMostOne(num, den)
}

// bernoulliExpAtMostOne is Bernoulli(exp(−γ)) for 0 ≤ γ = num/den ≤ 1: count K while
// Bernoulli(γ/K) succeeds; the answer is whether K ends odd.
func (s *Source) bernoulliExpAtMostOne(num, den uint64) bool {
	k := uint64(1)
	for {
		hi, d := bits.Mul64(den, k)
		if hi != 0 { // γ/K below 2^-64: the next trial fails for sure
			break
		}
		if !s.bernoulli(num, d) {
			break
		}
		k++
	}
	return k%2 == 1
}

// Laplace returns a sample of the discrete Laplace distribution with scale num/den
// (P(x) ∝ exp(−|x|·den/num)), CKS20 Algorithm 2.
func (s *Source) Laplace(num, den uint64) int64 {
	// with t = num and the numerator of 1/scale = den: X/den where X ~ geometric over
	// exp(-1/t) blocks
	t := num
	for {
		u := s.Uniform(t)
		if !s.BernoulliExp(u, t) {
			continue
		}
		v := uint64(0)
		for s.BernoulliExp(1, 1) {
			v++
		}
		x := u + t*v
		y := x / den
		neg := s.Uniform(2) == 1
		if neg && y == 0 {
			continue
		}
		if neg {
			return -int64(y)
		}
		return int64(y)
	}
}

// Gaussian returns a sample of the discrete Gaussian with variance parameter σ² =
// num/den (P(x) ∝ exp(−x²/(2σ²))), CKS20 Algorithm 3: discrete Laplace proposals of
// scale t = ⌊σ⌋+1, accepted with probability exp(−(|y| − σ²/t)²/(2σ²)).
func (s *Source) Gaussian(num, den uint64) int64 {
	t := isqrt(num/den) + 1
	for {
		y := s.Laplace(t, 1)
		a := uint64(y)
		if y < 0 {
			a = uint64(-y)
		}
		// (|y| − σ²/t)² / (2σ²) = (|y|·den·t − num)² / (2·num·den·t²)
		n, d, ok := gaussExponent(a, num, den, t)
		if !ok {
			if s.bernoulliExpBig(a, num, den, t) {
				return y
			}
			continue
		}
		if s.BernoulliExp(n, d) {
			return y
		}
	}
}

// gaussExponent computes the acceptance exponent as a uint64 fraction, or reports that
// it does not fit.
func gaussExponent(a, num, den, t uint64) (uint64, uint64, bool) {
	hi, adt := bits.Mul64(a, den)
	if hi != 0 {
		return 0, 0, false
	}
	hi, adt = bits.Mul64(adt, t)
	if hi != 0 {
		return 0, 0, false
	}
	var diff uint64
	if adt >= num {
		diff = adt - num
	} else {
		diff = num - adt
	}
	hi, n := bits.Mul64(diff, diff)
	if hi != 0 {
		return 0, 0, false
	}
	hi, d := bits.Mul64(2*num, den)
	if hi != 0 || num > 1<<62 {
		return 0, 0, false
	}
	hi, d = bits.Mul64(d, t*t)
	if hi != 0 || t > 1<<32 {
		return 0, 0, false
	}
	return n, d, true
}

// bernoulliExpBig is the acceptance test with exact big-integer arithmetic, for the
// rare exponents that overflow 64 bits; the exponent's integer part is drawn as
// repeated exp(−1) trials.
func (s *Source) bernoulliExpBig(a, num, den, t uint64) bool {
	bt := new(big.Int).SetUint64(t)
	diff := new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(den))
	diff.Mul(diff, bt)
	diff.Sub(diff, new(big.Int).SetUint64(num))
	n := new(big.Int).Mul(diff, diff)
	d := new(big.Int).Mul(new(big.Int).SetUint64(2*num), new(big.Int).SetUint64(den))
	d.Mul(d, new(big.Int).Mul(bt, bt))
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	for i := new(big.Int); i.Cmp(q) < 0; i.Add(i, big.NewInt(1)) {
		if !s.BernoulliExp(1, 1) {
			return false
		}
	}
	// the fractional part r/d ≤ 1: scale both to 64 bits
	for d.BitLen() > 63 {
		d.Rsh(d, 1)
		r.Rsh(r, 1)
	}
	if d.Sign() == 0 {
		return true
	}
	return s.bernoulliExpAtMostOne(r.Uint64(), d.Uint64())
}

func isqrt(n uint64) uint64 {
	if n == 0 {
		return 0
	}
	x := uint64(1) << ((bits.Len64(n) + 1) / 2)
	for {
		y := (x + n/x) / 2
		if y >= x {
			return x
		}
		x = y
	}
}

var sources = sync.Pool{New: func() any { return newSource() }}

// Laplace draws one discrete Laplace sample of scale num/den.
func Laplace(num, den uint64) int64 {
	s := sources.Get().(*Source)
	defer sources.Put(s)
	return s.Laplace(num, den)
}

// Gaussian draws one discrete Gaussian sample of variance parameter num/den.
func Gaussian(num, den uint64) int64 {
	s := sources.Get().(*Source)
	defer sources.Put(s)
	return s.Gaussian(num, den)
}
