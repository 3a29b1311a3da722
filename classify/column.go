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
	MaskedType: {2, false}, DamagedType: {3, false}, FreeTextType: {3, false},
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
	var text embeddedCounts
	for _, v := range values {
		x := Normalize(v)
		if x == "" {
			continue
		}
		n++
		sh := shapeOf(x)
		if (sh.digits >= 11 || sh.at) && (sh.han || sh.bytes > 24) { // text, not a bare identifier
			text.scan(x, now)
		}
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
	if f, ok := text.finding(n, &col); ok {
		col.Findings = append(col.Findings, f)
		col.Grade = max(col.Grade, f.Grade)
	}
	dedupe(&col)
	return col
}

// embeddedCounts counts the cells of free text holding identifiers.
type embeddedCounts struct {
	idRuns, ids     int // cells with 18-digit runs; of them, with a valid ID number
	mobiles, emails int // cells holding a valid mobile number or an e-mail address
	cardRuns, cards int // cells with 16–19 digit runs; of them, passing Luhn
	cells           int // cells holding any of these
	minorIDs        int
}

// scan looks for identifiers inside one text value: runs of digits (an 18th character
// may be X) tested as ID numbers, mobile numbers and bank cards, and e-mail addresses
// around each @.
func (e *embeddedCounts) scan(x string, now time.Time) {
	var id, idRun, mobile, cardRun, card, email bool
	for i := 0; i < len(x); {
		if !isDigit(x[i]) {
			i++
			continue
		}
		j := i
		for j < len(x) && isDigit(x[j]) {
			j++
		}
		if j-i == 17 && j < len(x) && (x[j] == 'X' || x[j] == 'x') {
			j++
		}
		run := x[i:j]
		switch l := len(run); {
		case l == 18:
			idRun = true
			up := strings.ToUpper(run)
			if birth, ok := IDCard(up, now, true); ok {
				id = true
				if !birth.AddDate(14, 0, 0).Before(now) {
					e.minorIDs++
				}
			}
		case l == 11:
			mobile = mobile || run[0] == '1' && mobileSegments[run[1:3]]
		}
		if l := len(run); l >= 16 && l <= 19 && run[0] != '0' && digits(run) && !id {
			cardRun = true
			card = card || Luhn(run)
		}
		i = j
	}
	for k := strings.IndexByte(x, '@'); k >= 0 && !email; {
		a, b := k, k+1
		for a > 0 && (isAlnum(x[a-1]) || strings.IndexByte("._%+-", x[a-1]) >= 0) {
			a--
		}
		for b < len(x) && (isAlnum(x[b]) || x[b] == '.' || x[b] == '-') {
			b++
		}
		email = emailFormat(strings.TrimRight(x[a:b], ".-"))
		next := strings.IndexByte(x[k+1:], '@')
		if next < 0 {
			break
		}
		k += 1 + next
	}
	if idRun {
		e.idRuns++
	}
	if id {
		e.ids++
	}
	if mobile {
		e.mobiles++
	}
	if email {
		e.emails++
	}
	if cardRun {
		e.cardRuns++
	}
	if card {
		e.cards++
	}
	if id || mobile || email || card {
		e.cells++
	}
}

// finding decides a free-text column: valid ID numbers (or Luhn-valid card numbers) in
// most of the cells that hold runs of their length — order and tracking numbers pass a
// checksum now and then, never mostly — or mobiles and e-mails in at least 3 cells and
// 0.5 % of them. A column already
// found to be an identifier column is masked whole, so it gets no text finding.
func (e *embeddedCounts) finding(n int, col *Column) (Finding, bool) {
	for _, f := range col.Findings {
		if Identifier(f.Type) {
			return Finding{}, false
		}
	}
	idOK := e.ids >= 2 && Wilson(e.ids, e.idRuns) >= 0.5
	cardOK := e.cards >= 3 && Wilson(e.cards, e.cardRuns) >= 0.5
	other := e.mobiles + e.emails
	otherOK := other >= 3 && float64(other) >= 0.005*float64(n)
	if !idOK && !otherOK && !cardOK {
		return Finding{}, false
	}
	if !cardOK {
		e.cards = 0
	}
	g := grades[FreeTextType]
	level, sensitive := 2, false
	if idOK {
		level = g.level
	}
	if cardOK {
		level, sensitive = 4, true
	}
	col.Minors += e.minorIDs
	why := fmt.Sprintf("自由文本中含身份证号 %d 处、手机号 %d 处、邮箱 %d 处、银行卡号 %d 处（共 %d / %d 个单元格）/ free text holding %d ID numbers, %d mobile numbers, %d e-mail addresses and %d bank card numbers (%d of %d cells)",
		e.ids, e.mobiles, e.emails, e.cards, e.cells, n, e.ids, e.mobiles, e.emails, e.cards, e.cells, n)
	confidence := 0.9 // checksummed ID numbers
	if !idOK {
		confidence, col.Review = 0.7, true // phone-like numbers in notes deserve a person's look
	}
	return Finding{Type: FreeTextType, Strength: Medium, NonEmpty: n, Matched: e.cells, Valid: e.cells,
		Confidence: confidence, Grade: level, Sensitive: sensitive, Reason: why}, true
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
