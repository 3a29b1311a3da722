package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/region"
)

// Problem is one thing wrong with a policy, at a JSON pointer.
type Problem struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// parser collects problems while walking the JSON.
type parser struct {
	problems []Problem
}

func (ps *parser) fail(ptr, format string, args ...any) {
	ps.problems = append(ps.problems, Problem{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
}

func (ps *parser) err() error {
	if len(ps.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(ps.problems, func(a, b Problem) int { return strings.Compare(a.Pointer, b.Pointer) })
	first := ps.problems[0]
	details := make([]any, len(ps.problems))
	for i, p := range ps.problems {
		details[i] = map[string]any{"pointer": p.Pointer, "message": p.Message}
	}
	return &dx.Error{Code: dx.EInvalid, Message: fmt.Sprintf("策略无效 / invalid policy at %s: %s", first.Pointer, first.Message),
		Details: map[string]any{"problems": details}}
}

// Parse reads a policy in the compact DSP form (JSON-LD context optional), normalises
// every term and validates it against the dx vocabulary. Errors are EInvalid with a
// "problems" detail listing each JSON pointer and what is wrong there.
func Parse(data []byte) (Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Policy{}, dx.Errorf(dx.EInvalid, "策略不是有效的 JSON / the policy is not valid JSON: %v", err)
	}
	if dec.More() {
		return Policy{}, dx.Errorf(dx.EInvalid, "策略后有多余内容 / trailing data after the policy")
	}
	var ps parser
	p := ps.policy(compactODRL(v))
	if err := ps.err(); err != nil {
		return Policy{}, err
	}
	if probs := Check(p); len(probs) > 0 {
		ps.problems = probs
		return Policy{}, ps.err()
	}
	return p, nil
}

func (ps *parser) str(v any, ptr string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		ps.fail(ptr, "应为字符串 / expected a string")
	}
	return s, ok
}

// odrlPrefixes are the spellings of the ODRL namespace a JSON-LD peer may leave on terms
// that the DSP 2025-1 context maps to bare names.
var odrlPrefixes = []string{"odrl:", "http://www.w3.org/ns/odrl/2/"}

// compactODRL rewrites prefixed ODRL names (keys, and the values of @type, action and
// operator) to the bare names of the DSP context, so "odrl:permission" and "permission"
// are one term. A bare key wins over its prefixed twin.
func compactODRL(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			bare := k
			for _, pre := range odrlPrefixes {
				if rest, ok := strings.CutPrefix(k, pre); ok {
					bare = rest
				}
			}
			val = compactODRL(val)
			if bare == "@type" || bare == "action" || bare == "operator" {
				if s, ok := val.(string); ok {
					for _, pre := range odrlPrefixes {
						s = strings.TrimPrefix(s, pre)
					}
					val = s
				}
			}
			if _, taken := out[bare]; taken && bare != k {
				continue
			}
			out[bare] = val
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = compactODRL(item)
		}
		return out
	}
	return v
}

// list accepts an array or, as JSON-LD peers send it, a lone item.
func list(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}

func (ps *parser) policy(v any) Policy {
	var p Policy
	m, ok := v.(map[string]any)
	if !ok {
		ps.fail("", "策略应为 JSON 对象 / a policy must be a JSON object")
		return p
	}
	for k, val := range m {
		ptr := "/" + k
		switch k {
		case "@context":
		case "@id":
			p.ID, _ = ps.str(val, ptr)
		case "@type":
			p.Type, _ = ps.str(val, ptr)
			if p.Type != "Offer" && p.Type != "Agreement" && p.Type != "Set" {
				ps.fail(ptr, "类型应为 Offer 或 Agreement / @type must be Offer or Agreement")
			}
		case "profile":
			for i, item := range list(val) {
				if s, ok := ps.str(item, fmt.Sprintf("%s/%d", ptr, i)); ok {
					p.Profile = append(p.Profile, s)
				}
			}
		case "target":
			p.Target, _ = ps.str(val, ptr)
		case "assigner":
			p.Assigner, _ = ps.str(val, ptr)
		case "assignee":
			p.Assignee, _ = ps.str(val, ptr)
		case "timestamp":
			if s, ok := ps.str(val, ptr); ok {
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					ps.fail(ptr, "时间戳应为带时区的 xsd:dateTime / timestamp must be an xsd:dateTime with offset")
				}
				p.Timestamp = s
			}
		case "permission", "prohibition", "obligation":
			items := list(val)
			if len(items) == 0 {
				ps.fail(ptr, "不能为空数组 / must not be an empty array")
			}
			for i, item := range items {
				r := ps.rule(item, fmt.Sprintf("%s/%d", ptr, i), k == "permission")
				switch k {
				case "permission":
					p.Permission = append(p.Permission, r)
				case "prohibition":
					p.Prohibition = append(p.Prohibition, r)
				default:
					p.Obligation = append(p.Obligation, r)
				}
			}
		default:
			if !strings.HasPrefix(k, "@") {
				ps.fail(ptr, "未知字段（含义须用约束表达）/ unknown key: dx carries meaning only in action, constraint, duty and the operands")
			}
		}
	}
	if len(p.Permission) == 0 && len(p.Prohibition) == 0 {
		ps.fail("", "至少需要一条 permission 或 prohibition / a policy needs at least one permission or prohibition")
	}
	return p
}

func (ps *parser) rule(v any, ptr string, permission bool) Rule {
	var r Rule
	m, ok := v.(map[string]any)
	if !ok {
		ps.fail(ptr, "规则应为 JSON 对象 / a rule must be a JSON object")
		return r
	}
	for k, val := range m {
		p := ptr + "/" + k
		switch k {
		case "action":
			s, ok := ps.str(val, p)
			if !ok {
				continue
			}
			r.Action = action(s)
			if !actions[r.Action] {
				ps.fail(p, "未知动作 %q / unknown action %q", s, s)
			}
		case "constraint":
			for i, c := range list(val) {
				r.Constraint = append(r.Constraint, ps.constraint(c, fmt.Sprintf("%s/%d", p, i)))
			}
		case "duty":
			if !permission {
				ps.fail(p, "只有 permission 可以带 duty / only a permission may carry duties")
				continue
			}
			for i, d := range list(val) {
				r.Duty = append(r.Duty, ps.rule(d, fmt.Sprintf("%s/%d", p, i), false))
			}
		case "target":
			ps.fail(p, "规则不能有 target（放在策略上）/ rules must not carry a target: put it on the policy")
		default:
			if !strings.HasPrefix(k, "@") {
				ps.fail(p, "未知字段 / unknown key %q", k)
			}
		}
	}
	if r.Action == "" {
		if _, present := m["action"]; !present {
			ps.fail(ptr+"/action", "缺少 action / action is required")
		}
	}
	return r
}

var logics = []string{"and", "or", "xone", "andSequence"}

func (ps *parser) constraint(v any, ptr string) Constraint {
	var c Constraint
	m, ok := v.(map[string]any)
	if !ok {
		ps.fail(ptr, "约束应为 JSON 对象 / a constraint must be a JSON object")
		return c
	}
	for _, l := range logics {
		if sub, ok := m[l]; ok {
			if c.Logic != "" {
				ps.fail(ptr+"/"+l, "逻辑约束只能有一个运算 / a logical constraint has exactly one of and, or, xone, andSequence")
				continue
			}
			c.Logic = l
			for i, s := range list(sub) {
				c.Sub = append(c.Sub, ps.constraint(s, fmt.Sprintf("%s/%s/%d", ptr, l, i)))
			}
			if len(c.Sub) == 0 {
				ps.fail(ptr+"/"+l, "不能为空 / must not be empty")
			}
		}
	}
	if c.Logic != "" {
		for k := range m {
			if !slices.Contains(logics, k) && !strings.HasPrefix(k, "@") {
				ps.fail(ptr+"/"+k, "逻辑约束中的未知字段 / unknown key %q in a logical constraint", k)
			}
		}
		return c
	}
	left, okL := m["leftOperand"]
	op, okO := m["operator"]
	right, okR := m["rightOperand"]
	for k := range m {
		if k != "leftOperand" && k != "operator" && k != "rightOperand" && !strings.HasPrefix(k, "@") {
			ps.fail(ptr+"/"+k, "约束中的未知字段（unit、dataType 等请用独立约束表达）/ unknown key %q: express it as a constraint of its own", k)
		}
	}
	if !okL || !okO || !okR {
		ps.fail(ptr, "原子约束需要 leftOperand、operator、rightOperand / an atomic constraint needs leftOperand, operator and rightOperand")
		return c
	}
	ls, ok1 := ps.str(left, ptr+"/leftOperand")
	os, ok2 := ps.str(op, ptr+"/operator")
	if !ok1 || !ok2 {
		return c
	}
	c.Left, c.Op = leftOperand(ls), operator(os)
	isSet, known := operators[c.Op]
	if !known {
		ps.fail(ptr+"/operator", "未知运算符 %q / unknown operator %q", os, os)
		return c
	}
	def, known := operands[c.Left]
	if !known {
		ps.fail(ptr+"/leftOperand", "dx 无法评估左操作数 %q / dx cannot evaluate the left operand %q", ls, ls)
		return c
	}
	if !slices.Contains(def.ops, c.Op) {
		ps.fail(ptr+"/operator", "%s 不支持运算符 %s（可用 %v）/ %s does not take the operator %s (use one of %v)", c.Left, c.Op, def.ops, c.Left, c.Op, def.ops)
		return c
	}
	var raw []any
	switch r := right.(type) {
	case []any:
		raw = r
	default:
		raw = []any{r}
	}
	if len(raw) == 0 {
		ps.fail(ptr+"/rightOperand", "不能为空 / must not be empty")
		return c
	}
	if !isSet && len(raw) > 1 {
		ps.fail(ptr+"/rightOperand", "运算符 %s 只接受一个值 / the operator %s takes one value", c.Op, c.Op)
		return c
	}
	for i, item := range raw {
		p := ptr + "/rightOperand"
		if _, isArr := right.([]any); isArr {
			p = fmt.Sprintf("%s/%d", p, i)
		}
		val, ok := ps.value(item, def.kind, p)
		if ok {
			c.Right = append(c.Right, val)
		}
	}
	if isSet {
		slices.Sort(c.Right)
		c.Right = slices.Compact(c.Right)
	}
	return c
}

// value normalises one right-operand value of kind k.
func (ps *parser) value(v any, k kind, ptr string) (string, bool) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case map[string]any: // a typed literal or a node reference
		if val, ok := t["@value"].(string); ok {
			s = val
		} else if id, ok := t["@id"].(string); ok {
			s = id
		} else {
			ps.fail(ptr, "应为字符串、{\"@value\"} 或 {\"@id\"} / expected a string, {\"@value\": …} or {\"@id\": …}")
			return "", false
		}
	case json.Number:
		ps.fail(ptr, "数值须写成字符串（如 \"1000\"）/ numbers must be written as strings (\"1000\"), as the DSP schema requires")
		return "", false
	default:
		ps.fail(ptr, "应为字符串 / expected a string")
		return "", false
	}
	out, msg := normalise(k, s)
	if msg != "" {
		ps.fail(ptr, "%s", msg)
		return "", false
	}
	return out, true
}

// normalise returns the canonical lexical form of s as a value of kind k, or a message.
func normalise(k kind, s string) (string, string) {
	bad := func(what string) (string, string) {
		return "", fmt.Sprintf("%q 不是有效的%s / %q is not a valid %s", s, what, s, strings.TrimSpace(what))
	}
	switch k {
	case kPurpose:
		code, ok := strings.CutPrefix(s, NS+"purpose/")
		if !ok || !purposeCodes[code] {
			return bad(" purpose IRI (" + NS + "purpose/<code>)")
		}
		return s, ""
	case kDateTime:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return bad(" xsd:dateTime with offset")
		}
		return t.UTC().Format(time.RFC3339Nano), ""
	case kDuration:
		months, secs, ok := parseDuration(s)
		if !ok {
			return bad(" xsd:duration (e.g. P90D, PT12H)")
		}
		return formatDuration(months, secs), ""
	case kInteger:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return bad(" non-negative integer")
		}
		return strconv.FormatInt(n, 10), ""
	case kRegion:
		if code, ok := strings.CutPrefix(s, NS+"region/cn/"); ok && cnRegionRE.MatchString(code) && region.Valid(code) {
			return s, ""
		}
		if code, ok := strings.CutPrefix(s, NS+"region/iso3166/"); ok && isoRegionRE.MatchString(code) {
			return s, ""
		}
		return bad(" region IRI (" + NS + "region/cn/<GB/T 2260> or region/iso3166/<code>)")
	case kParticipant, kText:
		if strings.TrimSpace(s) == "" {
			return bad(" non-empty value")
		}
		return s, ""
	case kIndustry:
		code, ok := strings.CutPrefix(s, NS+"industry/")
		if !ok || !industryRE.MatchString(code) {
			return bad(" industry IRI (" + NS + "industry/<GB/T 4754 code>)")
		}
		return s, ""
	case kMembership:
		id, ok := strings.CutPrefix(s, NS+"membership/")
		if !ok || !membershipRE.MatchString(id) {
			return bad(" membership IRI")
		}
		return s, ""
	case kChannel:
		ch, ok := strings.CutPrefix(s, NS+"channel/")
		if !ok || !slices.Contains(Channels, ch) {
			return bad(" channel IRI (" + NS + "channel/download|share|compute|api)")
		}
		return s, ""
	case kDecimal:
		if !decimalRE.MatchString(s) {
			return bad(" decimal")
		}
		r, _ := new(big.Rat).SetString(s)
		return strings.TrimRight(strings.TrimRight(r.FloatString(20), "0"), "."), ""
	case kCurrency:
		if !currencyRE.MatchString(s) {
			return bad(" ISO 4217 currency code")
		}
		return s, ""
	case kUnit:
		u, ok := strings.CutPrefix(s, NS+"unit/")
		if !ok || (u != "use" && u != "month" && u != "agreement") {
			return bad(" unit IRI (" + NS + "unit/use|month|agreement)")
		}
		return s, ""
	}
	return bad(" value")
}

// Duration reads an xsd:duration (such as a canonical right operand) as months and
// seconds; P1M is not P30D, so the two stay apart.
func Duration(s string) (months, secs int64, ok bool) { return parseDuration(s) }

// parseDuration reads an xsd:duration as months and seconds (P1M is not P30D).
func parseDuration(s string) (months, secs int64, ok bool) {
	if len(s) < 3 || s[0] != 'P' {
		return 0, 0, false
	}
	rest := s[1:]
	inTime := false
	seen := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, 0, false
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || i > 12 {
			return 0, 0, false
		}
		n, _ := strconv.ParseInt(rest[:i], 10, 64)
		unit := rest[i]
		rest = rest[i+1:]
		seen = true
		switch {
		case !inTime && unit == 'Y':
			months += 12 * n
		case !inTime && unit == 'M':
			months += n
		case !inTime && unit == 'W':
			secs += 7 * 86400 * n
		case !inTime && unit == 'D':
			secs += 86400 * n
		case inTime && unit == 'H':
			secs += 3600 * n
		case inTime && unit == 'M':
			secs += 60 * n
		case inTime && unit == 'S':
			secs += n
		default:
			return 0, 0, false
		}
	}
	return months, secs, seen
}

func formatDuration(months, secs int64) string {
	out := "P"
	if months > 0 {
		out += strconv.FormatInt(months, 10) + "M"
	}
	if secs > 0 || months == 0 {
		out += "T" + strconv.FormatInt(secs, 10) + "S"
	}
	return out
}
