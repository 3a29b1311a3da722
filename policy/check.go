package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Check returns the contradictions and misplacements in a parsed policy: a time window
// that closes before it opens, a use count or validity that allows nothing, two eq
// constraints on one operand with different values, an eq or isAnyOf that isNoneOf
// excludes, duty-only operands on a permission, and prohibitions that forbid every use a
// permission allows (dx refuses to publish such an offer). Agreements also need target,
// assigner, assignee and timestamp.
func Check(p Policy) []Problem {
	var probs []Problem
	add := func(ptr, format string, args ...any) {
		probs = append(probs, Problem{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
	}
	if p.Type == "Agreement" {
		for k, v := range map[string]string{"target": p.Target, "assigner": p.Assigner, "assignee": p.Assignee, "timestamp": p.Timestamp} {
			if v == "" {
				add("/"+k, "协议必须有 %s / an Agreement needs %s", k, k)
			}
		}
	}
	for i, r := range p.Permission {
		checkRule(r, fmt.Sprintf("/permission/%d", i), add)
	}
	for i, r := range p.Prohibition {
		checkRule(r, fmt.Sprintf("/prohibition/%d", i), add)
	}
	for i, r := range p.Permission {
		if r.Action != "use" {
			continue
		}
		allowed, bounded := purposesAllowed(r)
		for j, pr := range p.Prohibition {
			if pr.Action != "use" {
				continue
			}
			forbidden, onlyPurpose := purposesForbidden(pr)
			if !onlyPurpose {
				continue
			}
			if len(pr.Constraint) == 0 {
				add(fmt.Sprintf("/prohibition/%d", j), "无条件禁止使用，与 permission %d 矛盾 / forbids every use, contradicting permission %d", i, i)
				continue
			}
			if !bounded {
				continue
			}
			covered := true
			for _, a := range allowed {
				if !slices.ContainsFunc(forbidden, func(f string) bool { return purposeWithin(a, f) }) {
					covered = false
				}
			}
			if covered {
				add(fmt.Sprintf("/prohibition/%d", j), "禁止了 permission %d 允许的所有用途 / forbids every purpose permission %d allows", i, i)
			}
		}
	}
	return probs
}

func checkRule(r Rule, ptr string, add func(string, string, ...any)) {
	type bound struct {
		t      time.Time
		strict bool
		idx    int
	}
	var lower, upper *bound
	eqs := map[string]int{}
	for i, c := range r.Constraint {
		cp := fmt.Sprintf("%s/constraint/%d", ptr, i)
		if c.Logic != "" {
			continue
		}
		if def, ok := operands[c.Left]; ok && def.duty {
			add(cp+"/leftOperand", "%s 只能用于 duty / %s describes a duty, not a use", c.Left, c.Left)
		}
		switch c.Left {
		case DateTime:
			t, _ := time.Parse(time.RFC3339Nano, c.Right[0])
			b := &bound{t: t, strict: c.Op == "lt" || c.Op == "gt", idx: i}
			if c.Op == "gt" || c.Op == "gteq" {
				if lower == nil || t.After(lower.t) {
					lower = b
				}
			} else if upper == nil || t.Before(upper.t) {
				upper = b
			}
		case Count:
			n, _ := strconv.ParseInt(c.Right[0], 10, 64)
			if n == 0 || (c.Op == "lt" && n <= 1) {
				add(cp+"/rightOperand", "使用次数上限不允许任何使用 / the count limit allows no use")
			}
		case ElapsedTime:
			if c.Op != "eq" && c.Right[0] == "PT0S" {
				add(cp+"/rightOperand", "有效期为零 / the validity period is zero")
			}
		}
		if c.Op == "eq" {
			if j, ok := eqs[c.Left]; ok && r.Constraint[j].Right[0] != c.Right[0] {
				add(cp, "与第 %d 条约束矛盾：%s 不能同时等于两个值 / contradicts constraint %d: %s cannot equal two values", j, c.Left, j, c.Left)
			}
			eqs[c.Left] = i
		}
	}
	if lower != nil && upper != nil {
		c := lower.t.Compare(upper.t)
		if c > 0 || (c == 0 && (lower.strict || upper.strict)) {
			add(fmt.Sprintf("%s/constraint/%d", ptr, upper.idx), "时间窗口在开始之前就结束了 / the time window ends before it begins")
		}
	}
	// eq or isAnyOf values that isNoneOf excludes.
	for i, c := range r.Constraint {
		if c.Logic != "" || c.Op != "isNoneOf" {
			continue
		}
		within := func(v, a string) bool { return v == a }
		switch c.Left {
		case Purpose:
			within = func(v, a string) bool {
				return purposeWithin(strings.TrimPrefix(v, NS+"purpose/"), strings.TrimPrefix(a, NS+"purpose/"))
			}
		case Spatial:
			within = func(v, a string) bool {
				return regionWithin(strings.TrimPrefix(v, NS+"region/"), strings.TrimPrefix(a, NS+"region/"))
			}
		case Industry:
			within = func(v, a string) bool { return strings.HasPrefix(v, a) }
		}
		for j, o := range r.Constraint {
			if o.Logic != "" || o.Left != c.Left || (o.Op != "eq" && o.Op != "isAnyOf") {
				continue
			}
			all := true
			for _, v := range o.Right {
				if !slices.ContainsFunc(c.Right, func(a string) bool { return within(v, a) }) {
					all = false
				}
			}
			if all {
				add(fmt.Sprintf("%s/constraint/%d", ptr, i), "排除了第 %d 条约束允许的全部取值 / excludes every value constraint %d allows", j, j)
			}
		}
	}
}

// purposesAllowed returns the purpose codes a permission allows (bounded: it has an eq
// or isAnyOf purpose constraint at top level).
func purposesAllowed(r Rule) ([]string, bool) {
	for _, c := range r.Constraint {
		if c.Logic == "" && c.Left == Purpose && (c.Op == "eq" || c.Op == "isAnyOf" || c.Op == "isA") {
			return stripAll(c.Right, NS+"purpose/"), true
		}
	}
	return nil, false
}

// purposesForbidden returns the purposes a prohibition forbids, and whether purpose is all
// it depends on.
func purposesForbidden(r Rule) ([]string, bool) {
	var out []string
	if len(r.Constraint) > 1 {
		return nil, false // a conjunction of several conditions: not a plain purpose ban
	}
	for _, c := range r.Constraint {
		if c.Logic != "" || c.Left != Purpose || (c.Op != "eq" && c.Op != "isA" && c.Op != "isAnyOf") {
			return nil, false
		}
		out = append(out, stripAll(c.Right, NS+"purpose/")...)
	}
	return out, true
}
