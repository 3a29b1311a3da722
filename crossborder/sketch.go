package crossborder

import (
	"fmt"
	"math"
	"math/bits"
)

// The 2024 thresholds count distinct persons per provider per calendar year. dx keeps,
// per provider, year and bucket (general / sensitive), a HyperLogLog sketch of the
// persons delivered abroad: 2^14 one-byte registers (16 KiB, about 0.8 % standard
// error), built from keyed hashes of each delivery's person identifiers, so the ledger
// never holds an identifier or a reversible hash of one. A delivery's sketch is merged
// into the year's; the estimate of the union is the year's total.

// SketchBits is log2 of the number of registers.
const SketchBits = 14

// sketchSize is the number of registers.
const sketchSize = 1 << SketchBits

// hashBits are the bits below the register index of a 64-bit hash.
const hashBits = 64 - SketchBits

// Sketch is a HyperLogLog sketch of distinct persons.
type Sketch struct {
	reg [sketchSize]uint8
}

// SketchFromMins builds a sketch from, per register index (the top SketchBits bits of
// each 64-bit hash), the minimum of the lower hashBits bits over the hashes that fell
// there: the register holds the most leading zeros seen, which is the minimum's.
func SketchFromMins(mins map[uint64]uint64) (*Sketch, error) {
	s := &Sketch{}
	for idx, m := range mins {
		if idx >= sketchSize || m >= 1<<hashBits {
			return nil, fmt.Errorf("crossborder: register %d or value %x out of range", idx, m)
		}
		s.reg[idx] = uint8(hashBits - bits.Len64(m) + 1)
	}
	return s, nil
}

// Add adds one 64-bit hash.
func (s *Sketch) Add(h uint64) {
	idx, rest := h>>hashBits, h&(1<<hashBits-1)
	if r := uint8(hashBits - bits.Len64(rest) + 1); r > s.reg[idx] {
		s.reg[idx] = r
	}
}

// Merge adds every person of o.
func (s *Sketch) Merge(o *Sketch) {
	for i, r := range o.reg {
		if r > s.reg[i] {
			s.reg[i] = r
		}
	}
}

// Estimate is the number of distinct persons (HyperLogLog with linear counting for
// small numbers, where it is nearly exact).
func (s *Sketch) Estimate() int64 {
	m := float64(sketchSize)
	sum, zeros := 0.0, 0
	for _, r := range s.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return int64(math.Round(e))
}

// MarshalBinary returns the registers.
func (s *Sketch) MarshalBinary() ([]byte, error) { return append([]byte(nil), s.reg[:]...), nil }

// UnmarshalBinary reads registers; empty input is an empty sketch.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		*s = Sketch{}
		return nil
	}
	if len(b) != sketchSize {
		return fmt.Errorf("crossborder: a sketch has %d registers, not %d", sketchSize, len(b))
	}
	copy(s.reg[:], b)
	for _, r := range s.reg {
		if r > hashBits+1 {
			return fmt.Errorf("crossborder: corrupt sketch register %d", r)
		}
	}
	return nil
}
