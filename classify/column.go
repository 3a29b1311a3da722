package classify

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Finding is one type a column holds, with its evidence.
type Finding struct {
	Type       Type     `json:"type"`
	Strength   Strength `json:"strength"`
	NonEmpty   int      `json:"non_empty"`  // n: values after placeholders are removed
	Matched    int      `json:"matched"`    // m: format matches
	Valid      int      `json:"valid"`      // v: checksum or semantic checks passed
	Header     float64  `json:"header"`     // H: the header prior
	Confidence float64  `json:"confidence"` // 1 − (1 − H/2)(1 − LB(v/n))(1 − c)
	Grade      int      `json:"grade"`      // this type's level (GB/T 43697 一般数据 1–4)
	Sensitive  bool     `json:"sensitive"`  // sensitive personal information (PIPL art. 28)
	Reason     string   `json:"reason"`     // zh / en
}

// Column is the decision about one column.
type Column struct {
	Name     string    `json:"name"`
	Sampled  int       `json:"sampled"`
	NonEmpty int       `json:"non_empty"`
	Findings []Finding `json:"findings"`
	Minors   int       `json:"minors,omitempty"` // IDs of persons aged 14 or under
	Review   bool      `json:"review"`           // low confidence, header without content, damaged values
	Grade    int       `json:"grade"`
}

// Wilson is the lower bound of the 95% Wilson score interval of k successes in n.
func Wilson(k, n int) float64 {
	if n == 0 {
		return 0
	}
	const z = 1.96
	p := float64(k) / float64(n)
	nn := float64(n)
	return (p + z*z/(2*nn) - z*math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn))) / (1 + z*z/nn)
}

// grades is the default level of each type (digest §2.6; ID numbers 3级 unless a policy
// treats them as sensitive).
var grades = map[Type]struct {
	level     int
	sensitive bool
}{
	IDCardType: {3, false}, PassportType: {3, false}, PermitType: {3, false}, HKIDType: {3, false}, TWIDType: {3, false},
	BankCardType: {4, true}, CredentialTyp: {4, true},
	MobileType: {2, false}, LandlineType: {2, false}, NameType: {2, false}, AddressType: {3, false},
	EmailType: {2, false}, IPType: {2, false}, IMEIType: {2, false}, MACType: {2, false},
	PlateType: {2, false}, VINType: {2, false}, GPSType: {3, true},
	BirthType: {2, false}, GenderType: {2, false}, EthnicityType: {2, false},
	USCCType: {1, false}, OrgCodeType: {1, false}, RegNoType: {1, false},
	MaskedType: {2, false}, DamagedType: {3, false},
}

// Classify decides what a column holds from a sample of its values (digest §6.2). now
// decides ages and future dates.
func Classify(name string, values []string, now time.Time) Column {
	col := Column{Name: name, Sampled: len(values), Grade: 1}
	priors := map[Type]float64{}
	anyPrior := 0.0
	for t := range hints {
		priors[t] = HeaderPrior(name, t)
		if t != CredentialTyp {
			anyPrior = max(anyPrior, priors[t])
		}
	}
	enabled := make([]bool, len(detectors))
	for di, d := range detectors {
		enabled[di] = !((d.typ == CredentialTyp || d.strength == HeaderOnly) && priors[d.typ] < 0.5) // else undecidable without its header
	}
	// One pass over the values, nothing kept per value: each is normalised, its shape
	// taken, and tried only by the detectors of its class (Han text, or ASCII) whose
	// cheap shape check it passes.
	matched, passed := make([]int, len(detectors)), make([]int, len(detectors))
	valids := make([][]string, len(detectors))
	only := func(list []int) []int { // the class's detectors this column runs
		out := make([]int, 0, len(list))
		for _, di := range list {
			if enabled[di] {
				out = append(out, di)
			}
		}
		return out
	}
	asciiRun, hanRun, allRun := only(asciiDetectors), only(hanDetectors), only(allDetectors)
	n := 0
	for _, v := range values {
		x := Normalize(v)
		if x == "" {
			continue
		}
		n++
		sh := shapeOf(x)
		run := allRun
		if sh.ascii {
			run = asciiRun
		} else if sh.han {
			run = hanRun
		}
		for _, di := range run {
			if !candidateOf(kinds[di], &sh) {
				continue
			}
			d := &detectors[di]
			match, valid := d.test(x, now)
			if match {
				matched[di]++
			}
			if valid {
				passed[di]++
				if keepValid[di] {
					valids[di] = append(valids[di], x)
				}
			}
		}
	}
	col.NonEmpty = n
	if n == 0 {
		return col
	}
	for di, d := range detectors {
		if !enabled[di] {
			continue
		}
		m, v, validValues := matched[di], passed[di], valids[di]
		h := priors[d.typ]
		if d.typ == MaskedType || d.typ == DamagedType {
			h = anyPrior // masked and damaged values take their meaning from the header
		}
		if m == 0 && !(d.typ == CredentialTyp && h >= 0.5) {
			continue
		}
		ok, why := decide(d, n, m, v, h, validValues)
		if d.typ == CredentialTyp {
			ok = h >= 0.5 // credentials are named by their header; their shapes vary
			why = "列名指明口令或密钥 / the header names a credential"
		}
		if !ok {
			if h >= 0.5 && (d.strength == Strong || d.strength == HeaderOnly) && v < m {
				col.Review = true // a header over failing values
			}
			continue
		}
		c := 0.0
		if d.strength == Strong {
			c = 0.3
		}
		g := grades[d.typ]
		f := Finding{Type: d.typ, Strength: d.strength, NonEmpty: n, Matched: m, Valid: v, Header: h,
			Confidence: 1 - (1-0.5*h)*(1-Wilson(v, n))*(1-c), Grade: g.level, Sensitive: g.sensitive, Reason: why}
		switch d.typ {
		case USCCType:
			if share(validValues, func(x string) bool { return strings.HasPrefix(x, "92") }) > 0.2 {
				f.Grade, f.Reason = 2, f.Reason+"; 含个体工商户代码（关联自然人）/ includes 个体工商户 codes (linked to natural persons)"
			}
		case IDCardType:
			for _, x := range validValues {
				if len(x) == 15 {
					x = UpgradeID15(x)
				}
				if birth, ok := IDCard(x, now, true); ok && !birth.AddDate(14, 0, 0).Before(now) {
					col.Minors++
				}
			}
		case DamagedType:
			col.Review = true
		}
		if f.Confidence < 0.7 {
			col.Review = true
		}
		col.Findings = append(col.Findings, f)
		col.Grade = max(col.Grade, f.Grade)
	}
	dedupe(&col)
	return col
}

// dedupe drops weaker findings that a stronger one explains (an ID column also matches
// the 15-digit types' shapes, a mobile column the landline pattern, a masked ID the
// damaged pattern), keeping conflicts the digest says to tag both.
func dedupe(col *Column) {
	has := func(t Type) bool {
		return slices.ContainsFunc(col.Findings, func(f Finding) bool { return f.Type == t })
	}
	drop := map[Type]bool{}
	if has(MobileType) {
		drop[LandlineType] = true
	}
	if has(IDCardType) {
		drop[RegNoType], drop[IMEIType] = true, true
	}
	if has(NameType) && has(EthnicityType) {
		drop[EthnicityType] = HeaderPrior(col.Name, EthnicityType) < 0.5
	}
	if has(USCCType) {
		drop[OrgCodeType] = true
	}
	kept := col.Findings[:0]
	col.Grade = 1
	for _, f := range col.Findings {
		if !drop[f.Type] {
			kept = append(kept, f)
			col.Grade = max(col.Grade, f.Grade)
		}
	}
	col.Findings = kept
}

func share(values []string, pred func(string) bool) float64 {
	if len(values) == 0 {
		return 0
	}
	k := 0
	for _, v := range values {
		if pred(v) {
			k++
		}
	}
	return float64(k) / float64(len(values))
}

// decide applies the column thresholds of a detector's strength and says why.
func decide(d detector, n, m, v int, h float64, valid []string) (bool, string) {
	lbQ, lbR := Wilson(v, m), Wilson(v, n)
	evidence := fmt.Sprintf("%d/%d 个值通过校验 / %d of %d values valid", v, n, v, n)
	if h > 0 {
		evidence += fmt.Sprintf("，列名先验 %.1f / header prior %.1f", h, h)
	}
	if n < 30 {
		if d.strength == Strong {
			return h >= 0.5 && v == m && v >= 3, evidence + "（样本少 / small sample）"
		}
		return h >= 0.5 && v == n, evidence + "（样本少 / small sample）"
	}
	switch d.strength {
	case Strong:
		ok := v >= 5 && lbQ >= 0.90 && (lbR >= 0.50 || (h >= 0.5 && lbR >= 0.10))
		return ok, evidence + fmt.Sprintf("；校验码通过率下界 %.2f / checksum pass-rate lower bound %.2f", lbQ, lbQ)
	case Medium:
		ok := lbR >= 0.80 || (h >= 0.5 && lbR >= 0.30)
		if ok && d.typ == MobileType && !phoneSpread(valid) {
			return false, evidence + "；号码像连续编号 / the numbers look like a sequence"
		}
		return ok, evidence
	case Weak:
		return (h >= 0.5 && lbR >= 0.50) || lbR >= 0.80, evidence
	default: // header only
		return h >= 0.5 && lbR >= 0.80, evidence + "（需列名 / needs the header）"
	}
}

// phoneSpread is the decoy gate of phone columns: at least three distinct prefixes, and
// not a strictly increasing sequence.
func phoneSpread(values []string) bool {
	if len(values) < 50 {
		return true
	}
	prefixes := map[string]bool{}
	increasing := true
	for i, v := range values {
		v = stripPhone(v)
		if len(v) >= 3 {
			prefixes[v[:3]] = true
		}
		if i > 0 && v <= stripPhone(values[i-1]) {
			increasing = false
		}
	}
	return len(prefixes) >= 3 && !increasing
}

// keepValid[di]: detector di's valid values are kept for the column decision (IDs for
// minors, USCCs for 个体工商户, mobiles for the decoy gate).
var keepValid = func() []bool {
	out := make([]bool, len(detectors))
	for di, d := range detectors {
		out[di] = d.typ == IDCardType || d.typ == USCCType || d.typ == MobileType
	}
	return out
}()
