package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dxexchange/dx/region"
)

// Request is the context of one use, as the enforcement point knows it.
type Request struct {
	Time        time.Time // when the use happens
	AgreedAt    time.Time // the Agreement's timestamp, anchor of elapsedTime
	Purpose     string    // purpose code, e.g. "risk-control.credit"
	Region      string    // "cn/<GB/T 2260>" or "iso3166/<code>" of the consumer node
	Recipient   string    // participant ID of the caller
	Industry    string    // GB/T 4754 code of the recipient, e.g. "J66"
	Memberships []string  // membership IDs of the recipient
	Channel     string    // download, share, compute or api
	Uses        int64     // uses already made under the Agreement (this one excluded)
}

// Decision is allow or deny, with the reasons for a denial (bilingual).
type Decision struct {
	Allow   bool     `json:"allow"`
	Reasons []string `json:"reasons,omitempty"`
}

// check is one compiled atomic or logical constraint.
type check struct {
	eval func(r *Request) bool
	why  func(r *Request) string // the reason it fails, built only on failure
}

type compiledRule struct {
	checks []check
}

// Decider evaluates one compiled policy; it is safe for concurrent use.
type Decider struct {
	permissions  []compiledRule
	prohibitions []compiledRule
}

// Compile prepares a parsed policy for fast decisions: values are parsed once, so
// Decide neither parses nor allocates when it allows.
func Compile(p Policy) (*Decider, error) {
	d := &Decider{}
	for _, r := range p.Permission {
		if r.Action != "use" {
			continue // dx decides uses; other permitted actions are duties' business
		}
		cr, err := compileRule(r)
		if err != nil {
			return nil, err
		}
		d.permissions = append(d.permissions, cr)
	}
	for _, r := range p.Prohibition {
		if r.Action != "use" {
			continue
		}
		cr, err := compileRule(r)
		if err != nil {
			return nil, err
		}
		d.prohibitions = append(d.prohibitions, cr)
	}
	return d, nil
}

func compileRule(r Rule) (compiledRule, error) {
	var cr compiledRule
	for _, c := range r.Constraint {
		ch, err := compileConstraint(c)
		if err != nil {
			return cr, err
		}
		cr.checks = append(cr.checks, ch)
	}
	return cr, nil
}

// Decide answers whether a use described by r is allowed: some permission's constraints
// all hold and no prohibition's constraints all hold.
func (d *Decider) Decide(r *Request) Decision {
	for i, p := range d.prohibitions {
		if p.holds(r) {
			return Decision{Reasons: []string{fmt.Sprintf("被禁止条款 %d 禁止 / forbidden by prohibition %d (%s)", i, i, p.describe(r))}}
		}
	}
	for _, p := range d.permissions {
		if p.holds(r) {
			return Decision{Allow: true}
		}
	}
	if len(d.permissions) == 0 {
		return Decision{Reasons: []string{"策略没有许可使用的条款 / the policy permits no use"}}
	}
	var reasons []string
	for _, p := range d.permissions {
		for _, c := range p.checks {
			if !c.eval(r) {
				reasons = append(reasons, c.why(r))
			}
		}
	}
	slices.Sort(reasons)
	return Decision{Reasons: slices.Compact(reasons)}
}

func (cr compiledRule) holds(r *Request) bool {
	for _, c := range cr.checks {
		if !c.eval(r) {
			return false
		}
	}
	return true
}

// describe names what made a prohibition apply.
func (cr compiledRule) describe(r *Request) string {
	var parts []string
	for _, c := range cr.checks {
		parts = append(parts, strings.TrimPrefix(c.why(&Request{}), "不满足 / not satisfied: "))
	}
	if len(parts) == 0 {
		return "unconditional"
	}
	return strings.Join(parts, "; ")
}

func compileConstraint(c Constraint) (check, error) {
	if c.Logic != "" {
		subs := make([]check, len(c.Sub))
		for i, s := range c.Sub {
			ch, err := compileConstraint(s)
			if err != nil {
				return check{}, err
			}
			subs[i] = ch
		}
		var eval func(r *Request) bool
		switch c.Logic {
		case "and", "andSequence":
			eval = func(r *Request) bool {
				for _, s := range subs {
					if !s.eval(r) {
						return false
					}
				}
				return true
			}
		case "or":
			eval = func(r *Request) bool {
				for _, s := range subs {
					if s.eval(r) {
						return true
					}
				}
				return false
			}
		case "xone":
			eval = func(r *Request) bool {
				n := 0
				for _, s := range subs {
					if s.eval(r) {
						n++
					}
				}
				return n == 1
			}
		}
		why := func(r *Request) string {
			var parts []string
			for _, s := range subs {
				parts = append(parts, s.why(r))
			}
			return fmt.Sprintf("%s(%s)", c.Logic, strings.Join(parts, " | "))
		}
		return check{eval: eval, why: why}, nil
	}
	return compileAtomic(c)
}

func compileAtomic(c Constraint) (check, error) {
	desc := fmt.Sprintf("%s %s %s", strings.TrimPrefix(c.Left, "odrl:"), c.Op, strings.Join(shortValues(c.Right), ","))
	fail := func(what string) func(r *Request) string {
		return func(r *Request) string { return "不满足 / not satisfied: " + desc + what }
	}
	never := check{eval: func(*Request) bool { return false }, why: fail(" (dx 无法评估 / dx cannot evaluate it here)")}
	switch c.Left {
	case DPEpsilon, DPEpsilonTotal, DPDelta, DPDeltaTotal, DPRho, DPRhoTotal:
		return check{eval: func(*Request) bool { return true }, why: fail("")}, nil // the compute ledger's business
	case Purpose:
		vals := stripAll(c.Right, NS+"purpose/")
		return setCheck(c.Op, vals, purposeWithin, func(r *Request) (string, bool) { return r.Purpose, r.Purpose != "" },
			fail(""), fail(" (未声明用途 / no purpose stated)")), nil
	case Spatial:
		vals := stripAll(c.Right, NS+"region/")
		return setCheck(c.Op, vals, regionWithin, func(r *Request) (string, bool) { return r.Region, r.Region != "" },
			fail(""), fail(" (使用地点未知 / the location of use is unknown)")), nil
	case Industry:
		vals := stripAll(c.Right, NS+"industry/")
		return setCheck(c.Op, vals, func(v, a string) bool { return strings.HasPrefix(v, a) },
			func(r *Request) (string, bool) { return r.Industry, r.Industry != "" }, fail(""), fail(" (行业未知 / the recipient's industry is unknown)")), nil
	case Recipient:
		return setCheck(c.Op, c.Right, func(v, a string) bool { return v == a },
			func(r *Request) (string, bool) { return r.Recipient, r.Recipient != "" }, fail(""), fail(" (接收方未知 / the recipient is unknown)")), nil
	case DeliveryChannel:
		vals := stripAll(c.Right, NS+"channel/")
		return setCheck(c.Op, vals, func(v, a string) bool { return v == a },
			func(r *Request) (string, bool) { return r.Channel, r.Channel != "" }, fail(""), fail(" (交付渠道未知 / the delivery channel is unknown)")), nil
	case Membership:
		vals := stripAll(c.Right, NS+"membership/")
		switch c.Op {
		case "eq", "isAnyOf":
			return check{eval: func(r *Request) bool {
				for _, m := range r.Memberships {
					if slices.Contains(vals, m) {
						return true
					}
				}
				return false
			}, why: fail("")}, nil
		case "isAllOf":
			return check{eval: func(r *Request) bool {
				for _, v := range vals {
					if !slices.Contains(r.Memberships, v) {
						return false
					}
				}
				return true
			}, why: fail("")}, nil
		}
	case DateTime:
		t, err := time.Parse(time.RFC3339Nano, c.Right[0])
		if err != nil {
			return check{}, err
		}
		cmp := compare(c.Op)
		return check{eval: func(r *Request) bool { return cmp(r.Time.Compare(t)) }, why: fail("")}, nil
	case ElapsedTime:
		months, secs, _ := parseDuration(c.Right[0])
		cmp := compare(c.Op)
		return check{eval: func(r *Request) bool {
			if r.AgreedAt.IsZero() {
				return false
			}
			limit := r.AgreedAt.AddDate(0, int(months), 0).Add(time.Duration(secs) * time.Second)
			return cmp(r.Time.Compare(limit))
		}, why: func(r *Request) string {
			if r.AgreedAt.IsZero() {
				return "不满足 / not satisfied: " + desc + " (没有协议时间 / no agreement time)"
			}
			return "不满足 / not satisfied: " + desc + " (协议已过期 / the agreement has expired)"
		}}, nil
	case Count:
		n, err := strconv.ParseInt(c.Right[0], 10, 64)
		if err != nil {
			return check{}, err
		}
		cmp := compare(c.Op)
		return check{eval: func(r *Request) bool { return cmp(cmpInt(r.Uses+1, n)) }, why: func(r *Request) string {
			return fmt.Sprintf("不满足 / not satisfied: %s (已使用 %d 次 / %d uses made)", desc, r.Uses, r.Uses)
		}}, nil
	}
	return never, nil
}

// setCheck builds eq/neq/isA/isPartOf/isAnyOf/isNoneOf over values with a within
// relation (hierarchical for purposes, regions and industries; equality otherwise).
func setCheck(op string, vals []string, within func(v, ancestor string) bool, get func(*Request) (string, bool), why, missing func(*Request) string) check {
	anyOf := func(v string) bool {
		for _, a := range vals {
			if within(v, a) {
				return true
			}
		}
		return false
	}
	var test func(v string) bool
	switch op {
	case "eq":
		test = func(v string) bool { return v == vals[0] }
	case "neq":
		test = func(v string) bool { return v != vals[0] }
	case "isA", "isPartOf", "isAnyOf":
		test = anyOf
	case "isNoneOf":
		test = func(v string) bool { return !anyOf(v) }
	default:
		test = func(string) bool { return false }
	}
	return check{
		eval: func(r *Request) bool {
			v, ok := get(r)
			return ok && test(v)
		},
		why: func(r *Request) string {
			if _, ok := get(r); !ok {
				return missing(r)
			}
			return why(r)
		},
	}
}

func purposeWithin(v, ancestor string) bool {
	return v == ancestor || strings.HasPrefix(v, ancestor+".")
}

// regionWithin: a GB/T 2260 code is within its province and prefecture; every
// mainland code is within iso3166/CN, except Taiwan (71), Hong Kong (81) and Macao (82),
// which are the ISO codes TW, HK and MO.
func regionWithin(v, ancestor string) bool {
	if v == ancestor {
		return true
	}
	code, isCN := strings.CutPrefix(v, "cn/")
	if !isCN || len(code) != 6 {
		return false
	}
	if a, ok := strings.CutPrefix(ancestor, "cn/"); ok {
		return region.Contains(a, code)
	}
	switch ancestor {
	case "iso3166/CN":
		return code[:2] != "71" && code[:2] != "81" && code[:2] != "82"
	case "iso3166/TW":
		return code[:2] == "71"
	case "iso3166/HK":
		return code[:2] == "81"
	case "iso3166/MO":
		return code[:2] == "82"
	}
	return false
}

func compare(op string) func(c int) bool {
	switch op {
	case "lt":
		return func(c int) bool { return c < 0 }
	case "lteq":
		return func(c int) bool { return c <= 0 }
	case "gt":
		return func(c int) bool { return c > 0 }
	case "gteq":
		return func(c int) bool { return c >= 0 }
	case "eq":
		return func(c int) bool { return c == 0 }
	}
	return func(int) bool { return false }
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func stripAll(vals []string, prefix string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.TrimPrefix(v, prefix)
	}
	return out
}

func shortValues(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.TrimPrefix(v, NS)
	}
	return out
}

// DPLimits returns the privacy budget limits a policy states (operand → the smallest
// value given in a permission to use), for the compute ledger.
func DPLimits(p Policy) map[string]float64 {
	out := map[string]float64{}
	for _, r := range p.Permission {
		if r.Action != "use" {
			continue
		}
		for _, c := range r.Constraint {
			if c.Logic != "" || !slices.Contains(DPOperands, c.Left) || len(c.Right) != 1 {
				continue
			}
			v, err := strconv.ParseFloat(c.Right[0], 64)
			if err != nil {
				continue
			}
			if cur, ok := out[c.Left]; !ok || v < cur {
				out[c.Left] = v
			}
		}
	}
	return out
}
