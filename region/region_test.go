package region

import "testing"

func TestValidAndContains(t *testing.T) {
	for code, want := range map[string]bool{"330106": true, "100000": true, "810000": true, "990000": false, "33010": false, "3301066": false, "abcdef": false, "020000": false} {
		if Valid(code) != want {
			t.Errorf("Valid(%q) = %v", code, !want)
		}
	}
	tests := []struct {
		outer, inner string
		want         bool
	}{
		{"330000", "330106", true}, {"330100", "330106", true}, {"330106", "330106", true},
		{"330100", "330200", false}, {"330106", "330100", false}, {"100000", "440305", true}, {"440000", "330106", false},
	}
	for _, tt := range tests {
		if got := Contains(tt.outer, tt.inner); got != tt.want {
			t.Errorf("Contains(%s, %s) = %v", tt.outer, tt.inner, got)
		}
	}
}
