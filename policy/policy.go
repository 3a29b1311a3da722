// Package policy is dx's usage-policy engine: the ODRL 2.2 profile that the Dataspace
// Protocol 2025-1 uses, in its compact plain-JSON form, with dx's constraint vocabulary
// (purpose taxonomy, time, count, GB/T 2260 / ISO 3166 regions, recipient, industry,
// membership, delivery channel; duties to pay, attribute, report and delete).
//
// Parse validates a policy and reports every problem with a JSON pointer to the field.
// Canonical forms let two policies be compared by meaning (operand order, a single value
// versus a one-element array, typed literals); Digest names the terms. Compile turns a
// policy into a Decider whose Decide answers allow or deny with reasons, without parsing
// or allocating on the hot path. The package is pure: no storage, no clock of its own.
package policy

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/dxexchange/dx"
)

// Policy is an Offer or an Agreement in the compact DSP form. Target, Assigner,
// Assignee and Timestamp apply to all rules.
type Policy struct {
	ID          string
	Type        string // "Offer" or "Agreement"
	Profile     []string
	Target      string
	Assigner    string
	Assignee    string
	Timestamp   string // xsd:dateTime of an Agreement
	Permission  []Rule
	Prohibition []Rule
	Obligation  []Rule // duties of the policy as a whole
}

// Rule is a permission, prohibition or duty: an action under constraints (a
// conjunction), and for a permission, the duties that are its preconditions.
type Rule struct {
	Action     string
	Constraint []Constraint
	Duty       []Rule
}

// Constraint is atomic (Left Op Right) or logical (Logic over Sub).
type Constraint struct {
	Left  string   // canonical left operand, e.g. "odrl:purpose"
	Op    string   // canonical operator, e.g. "isAnyOf"
	Right []string // canonical values; one for scalar operators, a sorted set for set operators

	Logic string // "and", "or", "xone" or "andSequence" for a logical constraint
	Sub   []Constraint
}

// Digest is the SHA-256 (hex) of the canonical JSON of a policy's terms (profile,
// permission, prohibition, obligation): equal digests mean the same terms.
func Digest(p Policy) string {
	c := Canonical(p)
	b, err := dx.CanonicalJSON(termsJSON(c))
	if err != nil {
		panic(err) // only strings, slices and maps: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// termsJSON is the JSON value of a policy's terms (no @id, target, parties or time).
func termsJSON(p Policy) map[string]any {
	m := map[string]any{}
	if len(p.Profile) > 0 {
		m["profile"] = p.Profile
	}
	put := func(key string, rules []Rule) {
		if len(rules) > 0 {
			out := make([]any, len(rules))
			for i, r := range rules {
				out[i] = ruleJSON(r)
			}
			m[key] = out
		}
	}
	put("permission", p.Permission)
	put("prohibition", p.Prohibition)
	put("obligation", p.Obligation)
	return m
}

// JSON returns the policy in the compact DSP 2025-1 form (for messages and storage).
func JSON(p Policy) map[string]any {
	m := termsJSON(p)
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("@id", p.ID)
	set("@type", p.Type)
	set("target", p.Target)
	set("assigner", p.Assigner)
	set("assignee", p.Assignee)
	set("timestamp", p.Timestamp)
	if len(p.Profile) == 1 {
		m["profile"] = p.Profile[0]
	}
	return m
}

func ruleJSON(r Rule) map[string]any {
	m := map[string]any{"action": r.Action}
	if len(r.Constraint) > 0 {
		cs := make([]any, len(r.Constraint))
		for i, c := range r.Constraint {
			cs[i] = constraintJSON(c)
		}
		m["constraint"] = cs
	}
	if len(r.Duty) > 0 {
		ds := make([]any, len(r.Duty))
		for i, d := range r.Duty {
			ds[i] = ruleJSON(d)
		}
		m["duty"] = ds
	}
	return m
}

func constraintJSON(c Constraint) map[string]any {
	if c.Logic != "" {
		subs := make([]any, len(c.Sub))
		for i, s := range c.Sub {
			subs[i] = constraintJSON(s)
		}
		return map[string]any{c.Logic: subs}
	}
	var right any = c.Right
	if !operators[c.Op] && len(c.Right) == 1 {
		right = c.Right[0]
	}
	return map[string]any{"leftOperand": c.Left, "operator": c.Op, "rightOperand": right}
}

// RequiresAnonymize reports whether a policy obliges de-identified delivery: a duty
// (of the policy or of a permission) with the action odrl:anonymize.
func RequiresAnonymize(p Policy) bool {
	for _, d := range p.Obligation {
		if d.Action == "odrl:anonymize" {
			return true
		}
	}
	for _, r := range p.Permission {
		for _, d := range r.Duty {
			if d.Action == "odrl:anonymize" {
				return true
			}
		}
	}
	return false
}
