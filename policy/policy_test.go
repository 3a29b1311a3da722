package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dxexchange/dx"
)

// fullOffer is the complete catalog Offer of the DSP digest (5.5.8).
const fullOffer = `{"@id": "urn:uuid:2c9b1f0e-3a4d-4e5f-8a6b-7c8d9e0f1a2b", "@type": "Offer", "profile": "https://dx.example/ns/v1/profile",
 "permission": [{"action": "use",
   "constraint": [
     {"leftOperand": "odrl:purpose", "operator": "isAnyOf", "rightOperand": [
       "https://dx.example/ns/v1/purpose/risk-control.credit", "https://dx.example/ns/v1/purpose/research"]},
     {"leftOperand": "odrl:dateTime", "operator": "lt", "rightOperand": "2027-01-01T00:00:00+08:00"},
     {"leftOperand": "odrl:elapsedTime", "operator": "lteq", "rightOperand": "P90D"},
     {"leftOperand": "odrl:count", "operator": "lteq", "rightOperand": "1000"},
     {"leftOperand": "odrl:spatial", "operator": "isPartOf", "rightOperand": "https://dx.example/ns/v1/region/cn/310000"},
     {"leftOperand": "odrl:industry", "operator": "isPartOf", "rightOperand": "https://dx.example/ns/v1/industry/J"},
     {"leftOperand": "https://dx.example/ns/v1/membership", "operator": "eq",
      "rightOperand": "https://dx.example/ns/v1/membership/sh-finance-space"},
     {"leftOperand": "odrl:deliveryChannel", "operator": "isAnyOf", "rightOperand": [
       "https://dx.example/ns/v1/channel/compute", "https://dx.example/ns/v1/channel/api"]}],
   "duty": [
     {"action": "odrl:compensate", "constraint": [
       {"leftOperand": "odrl:payAmount", "operator": "eq", "rightOperand": "0.50"},
       {"leftOperand": "https://dx.example/ns/v1/currency", "operator": "eq", "rightOperand": "CNY"},
       {"leftOperand": "odrl:unitOfCount", "operator": "eq", "rightOperand": "https://dx.example/ns/v1/unit/use"}]},
     {"action": "odrl:attribute", "constraint": [
       {"leftOperand": "https://dx.example/ns/v1/attributionText", "operator": "eq",
        "rightOperand": "数据来源：示例数据公司 / Source: Example Data Co."}]}]}],
 "prohibition": [{"action": "use", "constraint": [
   {"leftOperand": "odrl:purpose", "operator": "isA", "rightOperand": "https://dx.example/ns/v1/purpose/marketing"}]}],
 "obligation": [
   {"action": "odrl:delete", "constraint": [{"leftOperand": "odrl:elapsedTime", "operator": "lteq", "rightOperand": "P30D"}]},
   {"action": "odrl:inform", "constraint": [{"leftOperand": "odrl:timeInterval", "operator": "eq", "rightOperand": "P1M"}]}]}`

func mustParse(t testing.TB, s string) Policy {
	t.Helper()
	p, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v (%v)", err, dx.ErrorDetails(err))
	}
	return p
}

func TestParseFullOffer(t *testing.T) {
	p := mustParse(t, fullOffer)
	if len(p.Permission) != 1 || len(p.Permission[0].Constraint) != 8 || len(p.Permission[0].Duty) != 2 || len(p.Prohibition) != 1 || len(p.Obligation) != 2 {
		t.Fatalf("parsed %+v", p)
	}
	c := p.Permission[0].Constraint
	if c[1].Right[0] != "2026-12-31T16:00:00Z" || c[2].Right[0] != "PT7776000S" {
		t.Errorf("time values not canonical: %q %q", c[1].Right, c[2].Right)
	}
	if p.Permission[0].Duty[0].Constraint[0].Right[0] != "0.5" {
		t.Errorf("decimal not minimal: %q", p.Permission[0].Duty[0].Constraint[0].Right)
	}
}

func TestEquivalentSpellingsHaveOneDigest(t *testing.T) {
	base := mustParse(t, `{"@type":"Offer","permission":[{"action":"use","constraint":[
		{"leftOperand":"odrl:purpose","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/purpose/research","https://dx.example/ns/v1/purpose/risk-control.credit"]},
		{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"100"}]}]}`)
	variants := []string{
		// operands reordered, set reordered and repeated, prefixes spelled differently
		`{"@type":"Offer","permission":[{"action":"http://www.w3.org/ns/odrl/2/use","constraint":[
			{"leftOperand":"count","operator":"odrl:lteq","rightOperand":{"@value":"100","@type":"xsd:integer"}},
			{"leftOperand":"http://www.w3.org/ns/odrl/2/purpose","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/purpose/risk-control.credit","https://dx.example/ns/v1/purpose/research","https://dx.example/ns/v1/purpose/research"]}]}]}`,
		// the rule's constraints wrapped in an and, and a one-operand or
		`{"@type":"Offer","@context":"https://w3id.org/dspace/2025/1/context.jsonld","permission":{"action":"use","constraint":{"and":[
			{"or":{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"0100"}},
			{"leftOperand":"odrl:purpose","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/purpose/research","https://dx.example/ns/v1/purpose/risk-control.credit"]}]}}}`,
	}
	for i, v := range variants {
		if d1, d2 := Digest(base), Digest(mustParse(t, v)); d1 != d2 {
			t.Errorf("variant %d: digest %s, want %s; first difference at %s", i, d2, d1, FirstDifference(base, mustParse(t, v)))
		}
	}
	other := mustParse(t, `{"@type":"Offer","permission":[{"action":"use","constraint":[
		{"leftOperand":"odrl:purpose","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/purpose/research"]},
		{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"100"}]}]}`)
	if Digest(base) == Digest(other) {
		t.Fatal("different terms, same digest")
	}
	if d := FirstDifference(base, other); d != "/permission/0/constraint/1/rightOperand/1" && !strings.HasPrefix(d, "/permission/0/constraint/") {
		t.Fatalf("first difference at %q", d)
	}
	if d := FirstDifference(base, base); d != "" {
		t.Fatalf("a policy differs from itself at %q", d)
	}
}

func TestHostilePolicies(t *testing.T) {
	perm := func(constraints string) string {
		return `{"@type":"Offer","permission":[{"action":"use","constraint":[` + constraints + `]}]}`
	}
	tests := []struct {
		name, in, pointer, msg string
	}{
		{"not json", `{"permission":`, "", "JSON"},
		{"no rules", `{"@type":"Offer"}`, "", "permission"},
		{"empty permission", `{"@type":"Offer","permission":[]}`, "/permission", "empty"},
		{"unknown operator", perm(`{"leftOperand":"odrl:count","operator":"odrl:approximately","rightOperand":"5"}`), "/permission/0/constraint/0/operator", "unknown operator"},
		{"operator not for operand", perm(`{"leftOperand":"odrl:count","operator":"isAnyOf","rightOperand":["5"]}`), "/permission/0/constraint/0/operator", "does not take"},
		{"unknown left operand", perm(`{"leftOperand":"odrl:absolutePosition","operator":"eq","rightOperand":"1"}`), "/permission/0/constraint/0/leftOperand", "cannot evaluate"},
		{"number instead of string", perm(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":5}`), "/permission/0/constraint/0/rightOperand", "strings"},
		{"date without offset", perm(`{"leftOperand":"odrl:dateTime","operator":"lt","rightOperand":"2027-01-01T00:00:00"}`), "/permission/0/constraint/0/rightOperand", "offset"},
		{"unknown purpose", perm(`{"leftOperand":"odrl:purpose","operator":"eq","rightOperand":"https://dx.example/ns/v1/purpose/espionage"}`), "/permission/0/constraint/0/rightOperand", "purpose"},
		{"bad region", perm(`{"leftOperand":"odrl:spatial","operator":"isPartOf","rightOperand":"https://dx.example/ns/v1/region/cn/990000"}`), "/permission/0/constraint/0/rightOperand", "region"},
		{"set value in scalar operator", perm(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":["1","2"]}`), "/permission/0/constraint/0/rightOperand", "one value"},
		{"bad element of a set", perm(`{"leftOperand":"odrl:deliveryChannel","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/channel/api","fax"]}`), "/permission/0/constraint/0/rightOperand/1", "channel"},
		{"unknown key", perm(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"5","unit":"x"}`), "/permission/0/constraint/0/unit", "unknown key"},
		{"two logical operators", perm(`{"and":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"5"}],"or":[{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"5"}]}`), "/permission/0/constraint/0/or", "exactly one"},
		{"target on a rule", `{"@type":"Offer","permission":[{"action":"use","target":"x"}]}`, "/permission/0/target", "target"},
		{"duty on a prohibition", `{"@type":"Offer","prohibition":[{"action":"use","duty":[{"action":"odrl:delete"}]}]}`, "/prohibition/0/duty", "duties"},
		{"unknown action", `{"@type":"Offer","permission":[{"action":"odrl:teleport"}]}`, "/permission/0/action", "unknown action"},
		{"window closes before it opens", perm(`{"leftOperand":"odrl:dateTime","operator":"gteq","rightOperand":"2027-01-01T00:00:00Z"},{"leftOperand":"odrl:dateTime","operator":"lt","rightOperand":"2026-01-01T00:00:00+08:00"}`), "/permission/0/constraint/1", "before it begins"},
		{"count allows nothing", perm(`{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"0"}`), "/permission/0/constraint/0/rightOperand", "no use"},
		{"two eq values", perm(`{"leftOperand":"odrl:purpose","operator":"eq","rightOperand":"https://dx.example/ns/v1/purpose/research"},{"leftOperand":"odrl:purpose","operator":"eq","rightOperand":"https://dx.example/ns/v1/purpose/marketing"}`), "/permission/0/constraint/1", "two values"},
		{"isNoneOf excludes all", perm(`{"leftOperand":"odrl:spatial","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/region/cn/310115"]},{"leftOperand":"odrl:spatial","operator":"isNoneOf","rightOperand":["https://dx.example/ns/v1/region/cn/310000"]}`), "/permission/0/constraint/1", "excludes every"},
		{"duty operand on a use", perm(`{"leftOperand":"odrl:payAmount","operator":"eq","rightOperand":"1"}`), "/permission/0/constraint/0/leftOperand", "duty"},
		{"prohibition covers permission", `{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"odrl:purpose","operator":"eq","rightOperand":"https://dx.example/ns/v1/purpose/marketing.targeted"}]}],
			"prohibition":[{"action":"use","constraint":[{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/marketing"}]}]}`, "/prohibition/0", "every purpose"},
		{"agreement without parties", `{"@type":"Agreement","@id":"urn:uuid:1","permission":[{"action":"use"}]}`, "/assignee", "Agreement needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if dx.ErrorCode(err) != dx.EInvalid {
				t.Fatalf("got %v, want invalid", err)
			}
			problems, _ := dx.ErrorDetails(err)["problems"].([]any)
			if len(problems) == 0 { // not JSON at all: the message says it
				if tt.pointer != "" || !strings.Contains(dx.ErrorMessage(err), tt.msg) {
					t.Fatalf("got %v, want a problem at %q mentioning %q", err, tt.pointer, tt.msg)
				}
				return
			}
			for _, p := range problems {
				m := p.(map[string]any)
				if m["pointer"] == tt.pointer && strings.Contains(m["message"].(string), tt.msg) {
					return
				}
			}
			t.Fatalf("problems %v\nwant one at %q mentioning %q", problems, tt.pointer, tt.msg)
		})
	}
}

func TestDecide(t *testing.T) {
	p := mustParse(t, fullOffer)
	d, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	agreed := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ok := Request{Time: agreed.Add(24 * time.Hour), AgreedAt: agreed, Purpose: "risk-control.credit", Region: "cn/310115",
		Industry: "J66", Memberships: []string{"sh-finance-space"}, Channel: "api", Uses: 10}
	tests := []struct {
		name   string
		change func(r *Request)
		allow  bool
		reason string
	}{
		{"allowed", func(r *Request) {}, true, ""},
		{"child purpose of research", func(r *Request) { r.Purpose = "research.academic" }, true, ""},
		{"other purpose", func(r *Request) { r.Purpose = "public-service" }, false, "purpose"},
		{"prohibited purpose", func(r *Request) { r.Purpose = "marketing.targeted" }, false, "prohibition"},
		{"no purpose", func(r *Request) { r.Purpose = "" }, false, "no purpose stated"},
		{"outside Shanghai", func(r *Request) { r.Region = "cn/330106" }, false, "spatial"},
		{"wrong channel", func(r *Request) { r.Channel = "download" }, false, "deliveryChannel"},
		{"last allowed use", func(r *Request) { r.Uses = 999 }, true, ""},
		{"over the count", func(r *Request) { r.Uses = 1000 }, false, "1000 uses made"},
		{"after 90 days", func(r *Request) { r.Time = agreed.Add(91 * 24 * time.Hour) }, false, "expired"},
		{"after the end date", func(r *Request) {
			r.AgreedAt = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			r.Time = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		}, false, "dateTime"},
		{"not a member", func(r *Request) { r.Memberships = nil }, false, "membership"},
		{"another industry", func(r *Request) { r.Industry = "I64" }, false, "industry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.change(&r)
			got := d.Decide(&r)
			if got.Allow != tt.allow || (!tt.allow && !strings.Contains(strings.Join(got.Reasons, "\n"), tt.reason)) {
				t.Fatalf("got %+v, want allow=%v with %q", got, tt.allow, tt.reason)
			}
		})
	}
}

func TestLogicalAndRegions(t *testing.T) {
	p := mustParse(t, `{"@type":"Offer","permission":[{"action":"use","constraint":[{"or":[
		{"leftOperand":"odrl:spatial","operator":"isPartOf","rightOperand":"https://dx.example/ns/v1/region/iso3166/CN"},
		{"leftOperand":"odrl:spatial","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/region/iso3166/HK","https://dx.example/ns/v1/region/iso3166/SG"]}]},
		{"xone":[{"leftOperand":"odrl:deliveryChannel","operator":"eq","rightOperand":"https://dx.example/ns/v1/channel/api"},
		         {"leftOperand":"odrl:deliveryChannel","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/channel/api","https://dx.example/ns/v1/channel/compute"]}]}]}]}`)
	d, _ := Compile(p)
	for region, want := range map[string]bool{"cn/440305": true, "iso3166/SG": true, "cn/810000": true, "iso3166/HK": true, "cn/710000": false, "iso3166/DE": false} {
		// compute satisfies exactly one xone branch; api satisfies both, so xone fails.
		if got := d.Decide(&Request{Region: region, Channel: "compute"}).Allow; got != want {
			t.Errorf("region %s: allow=%v, want %v", region, got, want)
		}
	}
	if d.Decide(&Request{Region: "cn/440305", Channel: "api"}).Allow {
		t.Error("xone allowed a channel that satisfies both operands")
	}
}

func ExampleDecider_Decide() {
	p, _ := Parse([]byte(`{"@type":"Offer","permission":[{"action":"use","constraint":[
		{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/research"},
		{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"3"}]}]}`))
	d, _ := Compile(p)
	fmt.Println(d.Decide(&Request{Purpose: "research.academic", Uses: 2}))
	fmt.Println(d.Decide(&Request{Purpose: "research.academic", Uses: 3}).Reasons[0])
	// Output:
	// {true []}
	// 不满足 / not satisfied: count lteq 3 (已使用 3 次 / 3 uses made)
}

// BenchmarkDecide measures one decision on a five-constraint policy (purpose, time
// window, count, region, channel). Target: ≥ 200k decisions/s per core.
func BenchmarkDecide(b *testing.B) {
	p := mustParse(b, `{"@type":"Offer","permission":[{"action":"use","constraint":[
		{"leftOperand":"odrl:purpose","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/purpose/research","https://dx.example/ns/v1/purpose/risk-control.credit"]},
		{"leftOperand":"odrl:dateTime","operator":"lt","rightOperand":"2027-01-01T00:00:00+08:00"},
		{"leftOperand":"odrl:count","operator":"lteq","rightOperand":"1000"},
		{"leftOperand":"odrl:spatial","operator":"isPartOf","rightOperand":"https://dx.example/ns/v1/region/cn/310000"},
		{"leftOperand":"odrl:deliveryChannel","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/channel/compute","https://dx.example/ns/v1/channel/download"]}]}],
		"prohibition":[{"action":"use","constraint":[{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/marketing"}]}]}`)
	d, err := Compile(p)
	if err != nil {
		b.Fatal(err)
	}
	r := &Request{Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Purpose: "research.academic", Region: "cn/310115", Channel: "download", Uses: 10}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !d.Decide(r).Allow {
			b.Fatal("denied")
		}
	}
}

func TestNarrows(t *testing.T) {
	offer := mustParse(t, fullOffer)
	narrow := func(edit func(s string) string) Policy { return mustParse(t, edit(fullOffer)) }
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("test edit: %q not in the offer", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	yes := map[string]Policy{
		"same": offer,
		"one purpose of two": narrow(replace(`"operator": "isAnyOf", "rightOperand": [
       "https://dx.example/ns/v1/purpose/risk-control.credit", "https://dx.example/ns/v1/purpose/research"]`, `"operator": "eq", "rightOperand": "https://dx.example/ns/v1/purpose/risk-control.credit"`)),
		"child purpose":    narrow(replace(`"https://dx.example/ns/v1/purpose/research"]`, `"https://dx.example/ns/v1/purpose/research.academic"]`)),
		"fewer uses":       narrow(replace(`"rightOperand": "1000"`, `"rightOperand": "10"`)),
		"earlier end":      narrow(replace(`"2027-01-01T00:00:00+08:00"`, `"2026-06-01T00:00:00+08:00"`)),
		"shorter validity": narrow(replace(`"P90D"`, `"P30D"`)),
		"a district":       narrow(replace(`region/cn/310000"`, `region/cn/310115"`)),
		"one channel": narrow(replace(`"rightOperand": [
       "https://dx.example/ns/v1/channel/compute", "https://dx.example/ns/v1/channel/api"]`, `"rightOperand": ["https://dx.example/ns/v1/channel/api"]`)),
		"an added constraint": narrow(replace(`"constraint": [
     {"leftOperand": "odrl:purpose"`, `"constraint": [
     {"leftOperand": "odrl:recipient", "operator": "eq", "rightOperand": "did:web:bank.example"},
     {"leftOperand": "odrl:purpose"`)),
	}
	for name, req := range yes {
		if ok, why := Narrows(req, offer); !ok {
			t.Errorf("%s: not a narrowing: %s", name, why)
		}
	}
	no := map[string]Policy{
		"another purpose":    narrow(replace(`"https://dx.example/ns/v1/purpose/research"]`, `"https://dx.example/ns/v1/purpose/public-service"]`)),
		"more uses":          narrow(replace(`"rightOperand": "1000"`, `"rightOperand": "5000"`)),
		"later end":          narrow(replace(`"2027-01-01T00:00:00+08:00"`, `"2028-01-01T00:00:00+08:00"`)),
		"validity in months": narrow(replace(`"P90D"`, `"P3M"`)),
		"another province":   narrow(replace(`region/cn/310000"`, `region/cn/330000"`)),
		"cheaper":            narrow(replace(`"0.50"`, `"0.10"`)),
		"no prohibition": narrow(replace(`"prohibition": [{"action": "use", "constraint": [
   {"leftOperand": "odrl:purpose", "operator": "isA", "rightOperand": "https://dx.example/ns/v1/purpose/marketing"}]}],`, ``)),
	}
	for name, req := range no {
		if ok, _ := Narrows(req, offer); ok {
			t.Errorf("%s: accepted as a narrowing", name)
		}
	}
	if _, why := Narrows(no["more uses"], offer); !strings.HasPrefix(why, "/permission/0/constraint/") {
		t.Errorf("reason %q names no constraint", why)
	}
}

// TestPrefixedODRLNames: the prefixed and full-IRI spellings a JSON-LD peer may send are
// the same terms as the bare names of the DSP context.
func TestPrefixedODRLNames(t *testing.T) {
	bare, err := Parse([]byte(`{"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"count","operator":"lteq","rightOperand":"5"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		`{"@type":"odrl:Offer","odrl:permission":{"odrl:action":"odrl:use","odrl:constraint":{"odrl:leftOperand":"odrl:count","odrl:operator":"odrl:lteq","odrl:rightOperand":"5"}}}`,
		`{"@type":"http://www.w3.org/ns/odrl/2/Offer","http://www.w3.org/ns/odrl/2/permission":[{"action":"http://www.w3.org/ns/odrl/2/use","constraint":[{"leftOperand":"count","operator":"http://www.w3.org/ns/odrl/2/lteq","rightOperand":"5"}]}]}`,
	} {
		p, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if Digest(p) != Digest(bare) {
			t.Fatalf("%s is not the same policy: %s", in, FirstDifference(p, bare))
		}
	}
	// A bare key wins over its prefixed twin.
	p, err := Parse([]byte(`{"@type":"Offer","permission":[{"action":"use"}],"odrl:permission":[{"action":"distribute"}]}`))
	if err != nil || len(p.Permission) != 1 || p.Permission[0].Action != "use" {
		t.Fatalf("twin keys: %+v %v", p, err)
	}
}
