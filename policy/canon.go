package policy

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/dxexchange/dx"
)

// Canonical returns p in canonical form: a rule's top-level and is flattened into its
// constraint list; and-in-and and or-in-or are flattened; a logical constraint with one
// operand is replaced by it; operands of and, or and xone, the constraints of a rule and
// the lists of rules, duties and profiles are sorted and freed of duplicates (andSequence
// keeps its order). Values were normalised by Parse. Two policies with the same meaning
// in the dx profile have the same canonical form, hence the same Digest.
func Canonical(p Policy) Policy {
	p.Permission = canonRules(p.Permission)
	p.Prohibition = canonRules(p.Prohibition)
	p.Obligation = canonRules(p.Obligation)
	p.Profile = slices.Clone(p.Profile)
	slices.Sort(p.Profile)
	p.Profile = slices.Compact(p.Profile)
	return p
}

func canonRules(rules []Rule) []Rule {
	if len(rules) == 0 {
		return nil
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = Rule{Action: r.Action, Constraint: canonList(r.Constraint, "and"), Duty: canonRules(r.Duty)}
	}
	return sortUnique(out, func(r Rule) string { return key(ruleJSON(r)) })
}

// canonList canonicalises the operands of a logical constraint of kind logic (a rule's
// list is an implicit and).
func canonList(cs []Constraint, logic string) []Constraint {
	var out []Constraint
	for _, c := range cs {
		c = canonConstraint(c)
		if c.Logic != "" && c.Logic == logic && logic != "andSequence" && logic != "xone" {
			out = append(out, c.Sub...) // and in and, or in or
			continue
		}
		out = append(out, c)
	}
	if logic == "andSequence" {
		return out
	}
	return sortUnique(out, func(c Constraint) string { return key(constraintJSON(c)) })
}

func canonConstraint(c Constraint) Constraint {
	if c.Logic == "" {
		c.Right = slices.Clone(c.Right)
		return c
	}
	c.Sub = canonList(c.Sub, c.Logic)
	if len(c.Sub) == 1 {
		return c.Sub[0]
	}
	return c
}

func key(v any) string {
	b, err := dx.CanonicalJSON(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sortUnique[T any](items []T, k func(T) string) []T {
	type keyed struct {
		k string
		v T
	}
	ks := make([]keyed, len(items))
	for i, it := range items {
		ks[i] = keyed{k(it), it}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return strings.Compare(a.k, b.k) })
	out := make([]T, 0, len(ks))
	for i, kv := range ks {
		if i > 0 && kv.k == ks[i-1].k {
			continue
		}
		out = append(out, kv.v)
	}
	return out
}

// FirstDifference returns the JSON pointer of the first place where the canonical terms
// of a and b differ, or "" if they are equal. It tells a peer exactly why an agreement
// does not match its offer.
func FirstDifference(a, b Policy) string {
	return diff(toGeneric(termsJSON(Canonical(a))), toGeneric(termsJSON(Canonical(b))), "")
}

// toGeneric round-trips through canonical JSON so both sides have the same Go types.
func toGeneric(v any) any {
	b, _ := dx.CanonicalJSON(v)
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func diff(a, b any, ptr string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return orRoot(ptr)
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		for _, k := range sorted {
			if d := diff(x[k], y[k], ptr+"/"+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok {
			return orRoot(ptr)
		}
		for i := 0; i < max(len(x), len(y)); i++ {
			if i >= len(x) || i >= len(y) {
				return ptr + "/" + strconv.Itoa(i)
			}
			if d := diff(x[i], y[i], ptr+"/"+strconv.Itoa(i)); d != "" {
				return d
			}
		}
		return ""
	default:
		if a != b {
			return orRoot(ptr)
		}
		return ""
	}
}

func orRoot(ptr string) string {
	if ptr == "" {
		return "/"
	}
	return ptr
}
