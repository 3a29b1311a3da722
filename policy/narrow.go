package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Narrows reports whether the request's terms imply the offer's: the consumer asks for
// no more than the offer allows. It holds when, for every permission of the offer, the
// request has a permission with the same action and duties whose constraints imply each
// of the offer's (a set replaced by a subset, a purpose, region or industry by a
// descendant, an upper bound lowered, a lower bound raised, an exclusion widened, and
// constraints added); the request keeps every prohibition and obligation of the offer
// and may add more. If not, reason names the first offer constraint not implied.
func Narrows(request, offer Policy) (ok bool, reason string) {
	req, off := Canonical(request), Canonical(offer)
	for i, op := range off.Permission {
		found := false
		var why string
		for _, rp := range req.Permission {
			if rp.Action != op.Action || key(dutiesJSON(rp.Duty)) != key(dutiesJSON(op.Duty)) {
				why = fmt.Sprintf("/permission/%d: 动作或义务不同 / action or duties differ", i)
				continue
			}
			if j, bad := uncovered(rp.Constraint, op.Constraint); bad {
				why = fmt.Sprintf("/permission/%d/constraint/%d: 请求未收窄此约束 / the request does not imply this constraint", i, j)
				continue
			}
			found = true
			break
		}
		if !found {
			if why == "" {
				why = fmt.Sprintf("/permission/%d: 请求中没有对应的许可 / the request has no matching permission", i)
			}
			return false, why
		}
	}
	for i, list := range [][2][]Rule{{off.Prohibition, req.Prohibition}, {off.Obligation, req.Obligation}} {
		name := []string{"prohibition", "obligation"}[i]
		for j, r := range list[0] {
			k := key(ruleJSON(r))
			if !slices.ContainsFunc(list[1], func(x Rule) bool { return key(ruleJSON(x)) == k }) {
				return false, fmt.Sprintf("/%s/%d: 请求删去或改变了此条款 / the request drops or changes it", name, j)
			}
		}
	}
	return true, ""
}

func dutiesJSON(ds []Rule) []any {
	out := make([]any, len(ds))
	for i, d := range ds {
		out[i] = ruleJSON(d)
	}
	return out
}

// uncovered returns the index of the first offer constraint that no request constraint
// implies.
func uncovered(req, off []Constraint) (int, bool) {
	for j, o := range off {
		if !slices.ContainsFunc(req, func(q Constraint) bool { return implies(q, o) }) {
			return j, true
		}
	}
	return 0, false
}

// implies reports whether constraint q (of the request) implies o (of the offer).
func implies(q, o Constraint) bool {
	if key(constraintJSON(q)) == key(constraintJSON(o)) {
		return true
	}
	if q.Logic != "" || o.Logic != "" || q.Left != o.Left {
		return false
	}
	within := withinFor(o.Left)
	qv := q.Right
	switch o.Op {
	case "isAnyOf", "isA", "isPartOf":
		// every value q allows lies within one of o's
		if q.Op != "eq" && q.Op != "isAnyOf" && q.Op != "isA" && q.Op != "isPartOf" {
			return false
		}
		for _, v := range qv {
			if !slices.ContainsFunc(o.Right, func(a string) bool { return within(v, a) }) {
				return false
			}
		}
		return true
	case "isNoneOf":
		// q excludes at least everything o excludes
		if q.Op != "isNoneOf" {
			return false
		}
		for _, a := range o.Right {
			if !slices.ContainsFunc(qv, func(b string) bool { return within(a, b) }) {
				return false
			}
		}
		return true
	case "lt", "lteq", "gt", "gteq":
		upper := o.Op == "lt" || o.Op == "lteq"
		if (q.Op == "lt" || q.Op == "lteq") != upper || (q.Op != "lt" && q.Op != "lteq" && q.Op != "gt" && q.Op != "gteq") {
			return false
		}
		c, ok := compareValues(o.Left, q.Right[0], o.Right[0])
		if !ok {
			return false
		}
		strictQ, strictO := q.Op == "lt" || q.Op == "gt", o.Op == "lt" || o.Op == "gt"
		if !upper {
			c = -c
		}
		// for an upper bound: q's bound below o's, or equal unless o is strict and q not
		return c < 0 || (c == 0 && (strictQ || !strictO))
	}
	return false
}

// withinFor returns the containment relation of a left operand's values (full IRIs).
func withinFor(left string) func(v, a string) bool {
	switch left {
	case Purpose:
		return func(v, a string) bool {
			return purposeWithin(strings.TrimPrefix(v, NS+"purpose/"), strings.TrimPrefix(a, NS+"purpose/"))
		}
	case Spatial:
		return func(v, a string) bool {
			return regionWithin(strings.TrimPrefix(v, NS+"region/"), strings.TrimPrefix(a, NS+"region/"))
		}
	case Industry:
		return func(v, a string) bool { return strings.HasPrefix(v, a) }
	}
	return func(v, a string) bool { return v == a }
}

// compareValues compares two canonical values of an ordered operand.
func compareValues(left, a, b string) (int, bool) {
	switch left {
	case Count:
		x, err1 := strconv.ParseInt(a, 10, 64)
		y, err2 := strconv.ParseInt(b, 10, 64)
		return cmpInt(x, y), err1 == nil && err2 == nil
	case DateTime:
		x, err1 := time.Parse(time.RFC3339Nano, a)
		y, err2 := time.Parse(time.RFC3339Nano, b)
		return x.Compare(y), err1 == nil && err2 == nil
	case ElapsedTime:
		m1, s1, ok1 := parseDuration(a)
		m2, s2, ok2 := parseDuration(b)
		if !ok1 || !ok2 {
			return 0, false
		}
		switch {
		case m1 == m2:
			return cmpInt(s1, s2), true
		case s1 == s2:
			return cmpInt(m1, m2), true
		}
		return 0, false // months and days do not compare
	}
	return 0, false
}
