package dx

import (
	"encoding/json"
	"testing"
)

// TestCanonicalJSONFastPath: maps of plain values, encoded directly, give the same bytes
// as the general path (marshal, decode, re-encode with sorted keys).
func TestCanonicalJSONFastPath(t *testing.T) {
	for _, m := range []map[string]any{
		{"b": 1, "a": "x<y>&z", "c": true, "d": nil},
		{"z": []string{"b", "a"}, "y": map[string]any{"q": int64(-5), "p": "中文"}},
		{},
		{"n": 9007199254740993, "s": "\u2028 tab\t"},
	} {
		raw, _ := json.Marshal(m)
		slow, err := CanonicalJSON(json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		fast, err := CanonicalJSON(m)
		if err != nil || string(fast) != string(slow) {
			t.Fatalf("fast %s, slow %s (%v)", fast, slow, err)
		}
	}
}
