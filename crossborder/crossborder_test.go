package crossborder

import (
	"testing"
	"time"
)

func TestDecisionTable(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	scc := []Filing{{Kind: StandardContract, ValidUntil: now.AddDate(1, 0, 0)}}
	expired := []Filing{{Kind: SecurityAssessment, ValidUntil: now.AddDate(0, 0, -1)}}
	assessed := []Filing{{Kind: SecurityAssessment, ValidUntil: now.AddDate(3, 0, 0)}}
	for _, c := range []struct {
		name      string
		d         Delivery
		allow     bool
		mechanism string
	}{
		{"no PI", Delivery{Persons: 5_000_000}, true, "exempt"},
		{"small general PI", Delivery{General: true, Persons: 50_000, YTDGeneral: 49_999}, true, "exempt"},
		{"general PI reaching 100k", Delivery{General: true, Persons: 50_000, YTDGeneral: 50_000}, false, StandardContract + "|" + Certification},
		{"with a standard contract", Delivery{General: true, Persons: 50_000, YTDGeneral: 50_000, Filings: scc}, true, StandardContract + "|" + Certification},
		{"any sensitive PI", Delivery{Sensitive: true, Persons: 1}, false, StandardContract + "|" + Certification},
		{"sensitive reaching 10k", Delivery{Sensitive: true, Persons: 10, YTDSensitive: 9_990, Filings: scc}, false, SecurityAssessment},
		{"general reaching 1M", Delivery{General: true, Persons: 1, YTDGeneral: 999_999, Filings: scc}, false, SecurityAssessment},
		{"expired assessment", Delivery{General: true, Persons: 1, YTDGeneral: 999_999, Filings: expired}, false, SecurityAssessment},
		{"valid assessment", Delivery{General: true, Persons: 1, YTDGeneral: 999_999, Filings: assessed}, true, SecurityAssessment},
		{"important data", Delivery{Important: true, Filings: scc}, false, SecurityAssessment},
		{"core data", Delivery{Core: true, Filings: assessed}, false, ""},
	} {
		c.d.Now = now
		got := Decide(c.d)
		if got.Allow != c.allow || got.Mechanism != c.mechanism || got.Rule == "" {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
	if !Abroad("SG") || !Abroad("HK") || Abroad("") || Abroad("CN") {
		t.Fatal("Abroad")
	}
}
