package main

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/compute"
)

// visitsCSV is a small hospital-visits table: n patients with 1–3 visits each in three
// regions, plus two patients in a region of their own.
func visitsCSV(n int) string {
	var b strings.Builder
	b.WriteString("patient_id,region,age,cost\n")
	for p := range n {
		region := []string{"西湖区", "上城区", "拱墅区"}[p%3]
		if p < 2 {
			region = "淳安县"
		}
		for v := range 1 + p%3 {
			fmt.Fprintf(&b, "P%05d,%s,%d,%d\n", p, region, 18+p%70, 50+(p*7+v*31)%450)
		}
	}
	return b.String()
}

const computeOffer = `{"leftOperand":"odrl:deliveryChannel","operator":"eq","rightOperand":"https://dx.example/ns/v1/channel/compute"},
	{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/research"},
	{"leftOperand":"https://dx.example/ns/v1/dpEpsilon","operator":"lteq","rightOperand":"1"},
	{"leftOperand":"https://dx.example/ns/v1/dpEpsilonTotal","operator":"lteq","rightOperand":"%s"}`

func TestComputeInPlace(t *testing.T) { onBackends(t, testComputeInPlace) }

// testComputeInPlace is the "done means" through the API: with a compute-only
// agreement a consumer gets noisy counts by region, never rows; repeats are free; every
// attack is refused without spending; the budget stops it with a clear message; the
// audit trail shows every query.
func testComputeInPlace(t *testing.T, db string) {
	te := startExchange(t, func(c *Config) { c.DB = db; c.ComputePad = 0 })
	ctx := context.Background()
	prov, _ := te.org(t, "医院 Hospital", "provider")
	cons, _ := te.org(t, "研究所 Institute", "consumer")
	a, _, err := register(prov, "visits", "visits.csv", visitsCSV(3000), asset.Listed)
	if err != nil {
		t.Fatal(err)
	}
	const dp = "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) "
	byRegion := dp + "region, COUNT(*, contribution_bounds_per_group => (0, 3)) AS visits FROM visits GROUP BY region"

	// Not opened to computing yet: refused for everyone but in the same way.
	if _, err := prov.Query(ctx, a.ID, byRegion, ""); dx.ErrorCode(err) != dx.EForbidden {
		t.Fatalf("query before setup: %v", err)
	}
	if _, err := cons.SetCompute(ctx, a.ID, compute.Settings{UnitColumn: "patient_id", MaxGroups: 1}); dx.ErrorCode(err) != dx.EForbidden && dx.ErrorCode(err) != dx.ENotFound {
		t.Fatalf("a consumer configured computing: %v", err)
	}
	if _, err := prov.SetCompute(ctx, a.ID, compute.Settings{UnitColumn: "nosuch", MaxGroups: 1}); dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("unknown unit column: %v", err)
	}
	if _, err := prov.SetCompute(ctx, a.ID, compute.Settings{UnitColumn: "patient_id", MaxGroups: 2}); err != nil {
		t.Fatal(err)
	}
	// No agreement: refused.
	if _, err := cons.Query(ctx, a.ID, byRegion, "research"); dx.ErrorCode(err) != dx.EForbidden {
		t.Fatalf("query without agreement: %v", err)
	}
	o, err := prov.CreateOffer(ctx, a.ID, policyJSON(fmt.Sprintf(computeOffer, "2.5")), true)
	if err != nil {
		t.Fatal(err)
	}
	neg, err := cons.RequestContract(ctx, o.ID, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	agreementID := neg.AgreementID
	if agreementID == "" {
		t.Fatalf("no agreement: %+v", neg)
	}
	// Compute only: the rows cannot be downloaded.
	if _, err := download(t, cons, a.ID, 0, "csv"); dx.ErrorCode(err) != dx.EForbidden {
		t.Fatalf("download under a compute-only agreement: %v", err)
	}
	// A purpose outside the agreement is refused by the enforcement point.
	if _, err := cons.Query(ctx, a.ID, byRegion, "marketing.targeted"); dx.ErrorCode(err) != dx.EForbidden {
		t.Fatalf("query for marketing: %v", err)
	}

	ans, err := cons.Query(ctx, a.ID, byRegion, "research.academic")
	if err != nil {
		t.Fatal(err)
	}
	if ans.Cached || ans.Cost.Epsilon != 1 || ans.Spent == nil || ans.Spent.Epsilon != 1 || ans.Limits.Total.Epsilon != 2.5 || ans.AgreementID != agreementID {
		t.Fatalf("answer %+v", ans)
	}
	regions := map[string]float64{}
	for _, r := range ans.Rows {
		regions[r[0].(string)] = r[1].(float64)
	}
	if len(regions) != 3 || regions["淳安县"] != 0 {
		t.Fatalf("regions %v (the two-patient county must be suppressed)", regions)
	}
	// 999, 999 and 1000 patients with 1, 2 and 3 visits each; noise of scale 3·2 = 6.
	for r, want := range map[string]float64{"西湖区": 999, "上城区": 1998, "拱墅区": 3000} {
		if n := regions[r]; n < want-100 || n > want+100 {
			t.Errorf("%s: %v visits, want about %v", r, n, want)
		}
	}
	// The same query again (other spacing, other case): the same answer, free.
	again, err := cons.Query(ctx, a.ID, strings.ReplaceAll(strings.ToLower(byRegion), " from ", "\n  FROM "), "research.academic")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Cost.Epsilon != 0 || again.Spent.Epsilon != 1 || !reflect.DeepEqual(again.Rows, ans.Rows) {
		t.Fatalf("repeat: cached %v cost %+v spent %+v rows %v vs %v", again.Cached, again.Cost, again.Spent, again.Rows, ans.Rows)
	}

	// Every attack of the list is refused before anything runs, and costs nothing.
	for _, q := range []string{
		dp + "* FROM visits",
		dp + "patient_id, COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits GROUP BY patient_id",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM read_csv('/etc/passwd')",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM '/etc/passwd'",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM query('SELECT * FROM visits')",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM glob('/etc/*')",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM duckdb_settings()",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits, visits v2, visits v3",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE getenv('HOME') IS NOT NULL",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE current_setting('threads') = 2",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE random() < 0.5",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE CASE WHEN patient_id = 'P00007' THEN error('x') END",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits USING SAMPLE 10",
		dp + "list(patient_id) FROM visits",
		dp + "string_agg(patient_id, ',') FROM visits",
		dp + "max(cost) FROM visits",
		dp + "arg_max(patient_id, cost) FROM visits",
		dp + "first(patient_id) FROM visits",
		dp + "any_value(patient_id) FROM visits",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE version() <> ''",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE patient_id IN (SELECT patient_id FROM visits LIMIT 1)",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits LIMIT 1 OFFSET 1",
		dp + "region, COUNT(*, contribution_bounds_per_group => (0, 1)) AS n FROM visits GROUP BY region HAVING COUNT(*) > 1",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1, privacy_unit_column = region) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1e20, max_groups_contributed = 1) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) COUNT(*) FROM r",
		"COPY visits TO '/tmp/x.csv'", "ATTACH '/tmp/x.db'", "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true", "PRAGMA threads = 64",
		dp + "COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits; DROP TABLE visits",
		"SELECT * FROM visits",
		"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1\x00) COUNT(*) FROM visits",
	} {
		if _, err := cons.Query(ctx, a.ID, q, "research"); dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("not refused as invalid: %s (%v)", q, err)
		}
	}
	led, _, err := cons.Budget(ctx, agreementID)
	if err != nil {
		t.Fatal(err)
	}
	if led.Spent.Epsilon != 1 || led.Queries != 1 || led.Reserved.Epsilon != 0 {
		t.Fatalf("refused queries spent budget: %+v", led)
	}

	// A differencing pair: both halves are charged; the third query exceeds the budget.
	if _, err := cons.Query(ctx, a.ID, dp+"COUNT(*, contribution_bounds_per_group => (0, 3)) AS n FROM visits", "research"); err != nil {
		t.Fatal(err)
	}
	_, err = cons.Query(ctx, a.ID, dp+"COUNT(*, contribution_bounds_per_group => (0, 3)) AS n FROM visits WHERE patient_id <> 'P00042'", "research")
	if dx.ErrorCode(err) != dx.EForbidden || dx.ErrorDetails(err)["code"] != "budget-exhausted" || !strings.Contains(dx.ErrorMessage(err), "预算已用尽") {
		t.Fatalf("over budget: %v %v", err, dx.ErrorDetails(err))
	}
	// What is left can still be spent, exactly.
	half := strings.Replace(dp, "epsilon = 1", "epsilon = 0.5", 1)
	if _, err := cons.Query(ctx, a.ID, half+"AVG(age, contribution_bounds_per_group => (0, 100)) AS mean_age FROM visits", "research"); err != nil {
		t.Fatal(err)
	}
	if led, _, _ = cons.Budget(ctx, agreementID); led.Spent.Epsilon != 2.5 || led.Queries != 3 {
		t.Fatalf("ledger %+v", led)
	}
	// The provider sees the same ledger; a third party does not.
	if pl, _, err := prov.Budget(ctx, agreementID); err != nil || pl.Spent != led.Spent {
		t.Fatalf("provider's view %+v %v", pl, err)
	}
	other, _ := te.org(t, "other", "consumer")
	if _, _, err := other.Budget(ctx, agreementID); dx.ErrorCode(err) != dx.ENotFound {
		t.Fatalf("a stranger read the ledger: %v", err)
	}
	// The owner may query its own data without an agreement or a ledger.
	if own, err := prov.Query(ctx, a.ID, byRegion, ""); err != nil || own.Spent != nil || len(own.Rows) != 3 {
		t.Fatalf("owner: %+v %v", own, err)
	}

	// A bounded snapshot (≤ 2 rows per patient): the provider switches it on; user-level
	// queries then read the snapshot, and counts stay close (each patient counts ≤ 2 rows).
	if _, err := prov.SetCompute(ctx, a.ID, compute.Settings{UnitColumn: "patient_id", MaxGroups: 1, SnapshotRows: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := prov.SetCompute(ctx, a.ID, compute.Settings{SnapshotRows: 2}); dx.ErrorCode(err) != dx.EInvalid {
		t.Fatalf("a snapshot without a unit column: %v", err)
	}
	snap, err := prov.Query(ctx, a.ID, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) region, COUNT(*) AS visits FROM visits GROUP BY region", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range snap.Rows {
		want := map[string]float64{"西湖区": 999, "上城区": 1998, "拱墅区": 2000}[r[0].(string)]
		if n := r[1].(float64); n < want-100 || n > want+100 {
			t.Errorf("snapshot: %s %v visits, want about %v", r[0], n, want)
		}
	}
	if len(snap.Rows) != 3 {
		t.Fatalf("snapshot answer %v", snap.Rows)
	}
	if _, err := prov.SetCompute(ctx, a.ID, compute.Settings{UnitColumn: "patient_id", MaxGroups: 2}); err != nil {
		t.Fatal(err)
	}

	// Concurrent reservations never overspend: a fresh agreement of ε = 2, 16 distinct
	// queries of ε = 0.25 at once: exactly 8 answered.
	cons2, _ := te.org(t, "研究所二 Institute 2", "consumer")
	o2, err := prov.CreateOffer(ctx, a.ID, policyJSON(fmt.Sprintf(computeOffer, "2")), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cons2.RequestContract(ctx, o2.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	var ok, exhausted atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := fmt.Sprintf("SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 0.25, max_groups_contributed = 1) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE age > %d", i)
			_, err := cons2.Query(ctx, a.ID, q, "research")
			switch {
			case err == nil:
				ok.Add(1)
			case dx.ErrorDetails(err)["code"] == "budget-exhausted":
				exhausted.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 8 || exhausted.Load() != 8 {
		t.Fatalf("%d answered, %d refused; want 8 and 8", ok.Load(), exhausted.Load())
	}

	// The audit trail shows every query with its cost and a digest of its answer.
	var page struct {
		Events []struct {
			Action  string         `json:"action"`
			Payload map[string]any `json:"payload"`
		} `json:"events"`
	}
	if err := te.op.Do(ctx, "GET", "/api/v1/events?limit=1000", nil, &page); err != nil {
		t.Fatal(err)
	}
	queries, cached, refused := 0, 0, 0
	for _, e := range page.Events {
		switch e.Action {
		case "compute.query":
			queries++
			if e.Payload["cached"] == true {
				cached++
			} else if e.Payload["result"] == nil || e.Payload["cost"] == nil || e.Payload["query"] == nil {
				t.Errorf("query event without cost or digests: %v", e.Payload)
			}
		case "compute.refused":
			refused++
		}
	}
	// consumer: 3 charged + 1 cached; owner: 2; second consumer: 8.
	if queries != 14 || cached != 1 || refused != 9 {
		t.Fatalf("events: %d queries (%d cached), %d refusals", queries, cached, refused)
	}
}

func computeSettings(unit string, maxGroups, snapshot int) compute.Settings {
	return compute.Settings{UnitColumn: unit, MaxGroups: maxGroups, SnapshotRows: snapshot}
}
