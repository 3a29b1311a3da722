package classify

import (
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// The digest's §5 test vectors (official examples and synthetic values made for dx).
func TestChecksums(t *testing.T) {
	cases := []struct {
		name string
		ok   func(string) bool
		good []string
		bad  []string
	}{
		{"id", func(v string) bool { _, ok := IDCard(v, now, false); return ok },
			[]string{"11010519491231002X", "440524188001010014", "310104198504121237", "510107197706010019", "650102199909098880",
				"110105201512313603", "460107201807040529", "810000199506120045", "820000199001010125", "830000198809230064"},
			[]string{"11010519491231002Y", "110101199001011234", "440305200102294561", "540102196102290039", "200105194912310021",
				"110105209901010012", "911840198803150034"}},
		{"pr2023", func(v string) bool { _, ok := IDCard(v, now, true); return ok }, []string{"911840198803150034"}, nil},
		{"uscc", USCC, []string{"91110108MA01ABCD5T", "92330106MA2H8K7L0U", "121000004000005952", "52440300MJL123454Y", "313100004250000140"},
			[]string{"91110108MA01ABCD5A", "91110108MA01ABCDIT"}},
		{"org", OrgCode, []string{"MA01ABCD-5"}, []string{"MA01ABCD-6"}},
		{"regno15", RegNo15, []string{"110108000000016", "310115001234562", "440301103097413"}, []string{"110108000000017"}},
		{"luhn", Luhn, []string{"6228484848240124626", "6217001470331026490", "6225882687914348", "6258074503546369", "6222021234567894", "351234567890124"},
			[]string{"6228484848240124627"}},
		{"vin", VIN, []string{"11111111111111111", "LVSHCAMB1CE123456"}, []string{"LVSHCAMB2CE123456", "LVSHCAMB1CE12345O"}},
		{"hkid", HKID, []string{"A123456(3)", "AB987654(3)", "Z683365(A)"}, []string{"A123456(4)"}},
		{"twid", TaiwanID, []string{"A123456789", "B123456780", "A800000014"}, []string{"A123456788"}},
	}
	for _, c := range cases {
		for _, v := range c.good {
			if !c.ok(v) {
				t.Errorf("%s: %s should be valid", c.name, v)
			}
		}
		for _, v := range c.bad {
			if c.ok(v) {
				t.Errorf("%s: %s should be invalid", c.name, v)
			}
		}
	}
	if got := UpgradeID15("310104850412123"); got != "310104198504121237" {
		t.Errorf("UpgradeID15 = %s", got)
	}
}
