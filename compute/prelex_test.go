package compute

import (
	"strings"
	"testing"
)

func TestPreLex(t *testing.T) {
	q := "select With Differential_Privacy OPTIONS(epsilon = 1.5, delta=1e-5, max_groups_contributed = 2, privacy_unit_column=patient_id)\n  region, COUNT(*) AS n FROM visits GROUP BY region -- a comment\n"
	opts, blanked, err := PreLex(q)
	if err != nil {
		t.Fatal(err)
	}
	if opts["epsilon"] != "1.5" || opts["delta"] != "1e-5" || opts["max_groups_contributed"] != "2" || opts["privacy_unit_column"] != "patient_id" {
		t.Fatalf("options %v", opts)
	}
	if len(blanked) != len(q) || !strings.HasPrefix(blanked, "select ") || strings.Contains(strings.ToLower(blanked), "differential") ||
		strings.Index(blanked, "region,") != strings.Index(q, "region,") {
		t.Fatalf("blanked %q", blanked)
	}
	for _, bad := range []string{
		"SELECT region FROM visits",
		"WITH x AS (SELECT 1) SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1) COUNT(*) FROM x",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1 COUNT(*) FROM t",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon='1') COUNT(*) FROM t",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1, epsilon=2) COUNT(*) FROM t",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=(SELECT 1)) COUNT(*) FROM t",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=0x10) COUNT(*) FROM t",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1) 'unterminated",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1) /* open",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1) x\x00",
		"/* c */ SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1) $$ open",
		strings.Repeat(" ", MaxQuery+1),
	} {
		if _, _, err := PreLex(bad); err == nil {
			t.Errorf("accepted %q", bad[:min(len(bad), 80)])
		}
	}
	// Strings, quoted identifiers and comments do not fool it.
	if _, b, err := PreLex(`SELECT /* x */ WITH -- y
	DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1) COUNT(*) FROM "odd "" table" WHERE s = 'it''s' AND t = $q$ ) $q$`); err != nil || !strings.Contains(b, `'it''s'`) {
		t.Fatalf("%q %v", b, err)
	}
}
