package crossborder

import (
	"math"
	"testing"
	"time"
)

func TestDecisionTable(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	scc := []Filing{{Kind: StandardContract, ValidUntil: now.AddDate(1, 0, 0)}}
	expired := []Filing{{Kind: SecurityAssessment, ValidUntil: now.AddDate(0, 0, -1)}}
	assessed := []Filing{{Kind: SecurityAssessment, ValidUntil: now.AddDate(3, 0, 0)}}
	for _, c := range []struct {
		name      string
		d         Delivery
		allow     bool
		mechanism string
	}{
		{"no PI", Delivery{Persons: 5_000_000}, true, "exempt"},
		{"small general PI", Delivery{General: true, Persons: 50_000, YTDGeneral: 49_999}, true, "exempt"},
		{"general PI reaching 100k", Delivery{General: true, Persons: 50_000, YTDGeneral: 50_000}, false, StandardContract + "|" + Certification},
		{"with a standard contract", Delivery{General: true, Persons: 50_000, YTDGeneral: 50_000, Filings: scc}, true, StandardContract + "|" + Certification},
		{"any sensitive PI", Delivery{Sensitive: true, SensitivePersons: 1}, false, StandardContract + "|" + Certification},
		{"sensitive reaching 10k", Delivery{Sensitive: true, SensitivePersons: 10, YTDSensitive: 9_990, Filings: scc}, false, SecurityAssessment},
		{"general reaching 1M", Delivery{General: true, Persons: 1, YTDGeneral: 999_999, Filings: scc}, false, SecurityAssessment},
		{"expired assessment", Delivery{General: true, Persons: 1, YTDGeneral: 999_999, Filings: expired}, false, SecurityAssessment},
		{"valid assessment", Delivery{General: true, Persons: 1, YTDGeneral: 999_999, Filings: assessed}, true, SecurityAssessment},
		{"important data", Delivery{Important: true, Filings: scc}, false, SecurityAssessment},
		{"core data", Delivery{Core: true, Filings: assessed}, false, ""},
	} {
		c.d.Now = now
		got := Decide(c.d)
		if got.Allow != c.allow || got.Mechanism != c.mechanism || got.Rule == "" {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
	if !Abroad("SG") || !Abroad("HK") || Abroad("") || Abroad("CN") {
		t.Fatal("Abroad")
	}
}

// TestSketch: distinct counts within 3 % from 10 to 2M, duplicates not counted twice,
// merging is a union, the bytes round-trip, and corrupt bytes are refused.
func TestSketch(t *testing.T) {
	hash := func(i uint64) uint64 { // splitmix64
		z := i + 0x9e3779b97f4a7c15
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	for _, n := range []uint64{10, 1_000, 99_000, 2_000_000} {
		s := &Sketch{}
		for i := range n {
			s.Add(hash(i))
			s.Add(hash(i)) // the same person twice
		}
		if e := s.Estimate(); math.Abs(float64(e)-float64(n)) > 0.03*float64(n)+1 {
			t.Errorf("%d persons estimated as %d", n, e)
		}
	}
	a, b := &Sketch{}, &Sketch{}
	for i := range uint64(60_000) {
		a.Add(hash(i))
		b.Add(hash(i + 30_000)) // half of b is in a
	}
	a.Merge(b)
	if e := a.Estimate(); math.Abs(float64(e)-90_000) > 2_700 {
		t.Errorf("union of 60k and 60k overlapping by 30k estimated as %d", e)
	}
	raw, _ := a.MarshalBinary()
	var c Sketch
	if err := c.UnmarshalBinary(raw); err != nil || c.Estimate() != a.Estimate() {
		t.Fatalf("round trip: %v", err)
	}
	raw[5] = 200
	if err := c.UnmarshalBinary(raw); err == nil {
		t.Fatal("a corrupt register was accepted")
	}
	if err := c.UnmarshalBinary(raw[:100]); err == nil {
		t.Fatal("a short sketch was accepted")
	}
	// SketchFromMins agrees with Add.
	d := &Sketch{}
	mins := map[uint64]uint64{}
	for i := range uint64(5_000) {
		h := hash(i)
		d.Add(h)
		idx, rest := h>>hashBits, h&(1<<hashBits-1)
		if m, ok := mins[idx]; !ok || rest < m {
			mins[idx] = rest
		}
	}
	e, err := SketchFromMins(mins)
	if err != nil || *e != *d {
		t.Fatalf("SketchFromMins differs from Add: %v", err)
	}
}
