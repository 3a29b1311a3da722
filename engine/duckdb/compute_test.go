package duckdb

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/crossborder"
	"github.com/dxexchange/dx/engine"
)

// visitsFile writes a Parquet table of hospital visits: 20,000 patients with 1–4 visits
// each, in four regions (the last one tiny), with costs; it returns the path and the
// exact per-region visit counts.
func visitsFile(t *testing.T) string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := filepath.Join(t.TempDir(), "visits.parquet")
	_, err = db.Exec(`COPY (
		SELECT 'P' || lpad(CAST(pid AS VARCHAR), 6, '0') AS patient_id,
		       CASE WHEN pid < 3 THEN 'tiny' WHEN pid % 3 = 0 THEN 'east' WHEN pid % 3 = 1 THEN 'west' ELSE 'north' END AS region,
		       20 + pid % 60 AS age,
		       CAST(100 + (pid * 7 + v * 13) % 400 AS DOUBLE) AS cost,
		       CASE WHEN pid % 5 = 0 THEN 'x' ELSE CAST(pid % 50 AS VARCHAR) END AS code
		FROM range(20000) AS a(pid), range(1 + pid % 4) AS b(v)
	) TO '` + p + `' (FORMAT parquet)`)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var visitsTable = compute.Table{Name: "visits", Columns: map[string]string{"patient_id": "VARCHAR", "region": "VARCHAR", "age": "BIGINT", "cost": "DOUBLE", "code": "VARCHAR"}}

// plan runs the static steps of a query.
func plan(t *testing.T, e *Engine, q string, st compute.Settings) (compute.Plan, error) {
	t.Helper()
	opts, blanked, err := compute.PreLex(q)
	if err != nil {
		return compute.Plan{}, err
	}
	tree, err := e.ParseSQL(context.Background(), blanked)
	if err != nil {
		t.Fatal(err)
	}
	vq, err := compute.Validate(tree, visitsTable)
	if err != nil {
		return compute.Plan{}, err
	}
	return compute.NewPlan(opts, vq, st, compute.DefaultLimits, 42)
}

func run(t *testing.T, e *Engine, src string, p compute.Plan) compute.Result {
	t.Helper()
	rows, err := e.Compute(context.Background(), src, p.SQL, engine.Limits{Threads: 2, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatalf("%v\n%s", err, p.SQL)
	}
	res, err := p.Release(rows)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestComputeEndToEnd runs DP queries through the whole pipeline on a real table:
// row-level and user-level counts, sums and averages come back close to the truth
// (within their stated intervals, mostly), tiny groups are suppressed, and the
// contribution bounds hold.
func TestComputeEndToEnd(t *testing.T) {
	e := open(t)
	src := visitsFile(t)
	user := compute.Settings{UnitColumn: "patient_id", MaxGroups: 3}
	const dp = "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, delta = 1e-7, max_groups_contributed = 1) "
	p, err := plan(t, e, dp+"region, COUNT(*, contribution_bounds_per_group => (0, 2)) AS visits, SUM(cost, contribution_bounds_per_group => (0, 1000)) AS total, AVG(age, contribution_bounds_per_group => (0, 100)) AS mean_age FROM visits WHERE age >= 30 GROUP BY region", user)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, e, src, p)
	if strings.Join(res.Columns, ",") != "region,visits,total,mean_age" {
		t.Fatalf("columns %v", res.Columns)
	}
	// Exact bounded values, computed independently.
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	exact := map[string][3]float64{}
	rs, err := db.Query(`WITH pu AS (SELECT patient_id, region, least(count(*), 2) AS c, least(greatest(sum(cost), 0), 1000) AS s, least(greatest(avg(age), 0), 100) AS a
		FROM read_parquet('` + src + `') WHERE age >= 30 GROUP BY ALL) SELECT region, sum(c), sum(s), avg(a) FROM pu GROUP BY region`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var r string
		var c, s, a float64
		rs.Scan(&r, &c, &s, &a)
		exact[r] = [3]float64{c, s, a}
	}
	rs.Close()
	got := map[string]bool{}
	misses := 0
	for i, row := range res.Rows {
		region := row[0].(string)
		got[region] = true
		want := exact[region]
		for j := range 3 {
			v := toFloat(row[1+j])
			iv := res.Intervals[i][j]
			if v < iv[0] || v > iv[1] {
				t.Fatalf("%s column %d: %v outside its own interval %v", region, j, v, iv)
			}
			if want[j] < iv[0] || want[j] > iv[1] {
				misses++
			}
			if math.Abs(v-want[j]) > 0.05*want[j]+50 {
				t.Errorf("%s column %d: %v, exact %v", region, j, v, want[j])
			}
		}
	}
	if misses > 2 { // 9 intervals at 95%: more than two misses is very unlikely
		t.Errorf("%d of 9 exact values fell outside their 95%% intervals", misses)
	}
	if !got["east"] || !got["west"] || !got["north"] {
		t.Fatalf("large groups missing: %v", res.Rows)
	}
	if got["tiny"] {
		t.Fatalf("a group of 3 patients was released (threshold %d): %v", res.Threshold, res.Rows)
	}
	if res.Threshold < 10 || len(res.Accuracy) != 3 || res.Accuracy[0].Mechanism != "discrete-laplace" {
		t.Fatalf("threshold %d accuracy %+v", res.Threshold, res.Accuracy)
	}

	// Row-level, ungrouped, with a zCDP budget: one row; no selection.
	row := compute.Settings{MaxGroups: 1}
	p, err = plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(rho = 0.05) COUNT(*) AS n, SUM(cost, contribution_bounds_per_group => (0, 500)) AS s FROM visits WHERE region IN ('east', 'west')", row)
	if err != nil {
		t.Fatal(err)
	}
	res = run(t, e, src, p)
	var n, s float64
	db.QueryRow(`SELECT count(*), sum(least(greatest(cost, 0), 500)) FROM read_parquet('`+src+`') WHERE region IN ('east', 'west')`).Scan(&n, &s)
	if len(res.Rows) != 1 || math.Abs(toFloat(res.Rows[0][0])-n) > 100 || math.Abs(toFloat(res.Rows[0][1])-s) > 0.01*s || res.Accuracy[0].Mechanism != "discrete-gaussian" {
		t.Fatalf("row-level: %v (exact %v, %v) %+v", res.Rows, n, s, res.Accuracy)
	}

	// A query over no rows at all still answers (noise around zero), never "no rows".
	p, err = plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) COUNT(*) AS n FROM visits WHERE age > 1000", row)
	if err != nil {
		t.Fatal(err)
	}
	if res = run(t, e, src, p); len(res.Rows) != 1 {
		t.Fatalf("empty: %v", res.Rows)
	}

	// Data-dependent errors are neutralised: a failing cast, a division by zero and an
	// overflow give NULL (the row does not match), never an error that leaks a value.
	for _, where := range []string{"CAST(code AS INTEGER) > 10", "1 / (age - age) > 0", "age * 9223372036854775807 > 0", "CASE WHEN patient_id = 'P000007' THEN CAST('x' AS INTEGER) ELSE 1 END = 1"} {
		p, err = plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) COUNT(*) AS n FROM visits WHERE "+where, row)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if _, err := e.Compute(context.Background(), src, p.SQL, engine.Limits{Threads: 1}); err != nil {
			t.Errorf("%s raised %v", where, err)
		}
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

// TestComputeRefusals: what the planner refuses before anything runs.
func TestComputeRefusals(t *testing.T) {
	e := open(t)
	user := compute.Settings{UnitColumn: "patient_id", MaxGroups: 2}
	for _, c := range []struct{ q, want string }{
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1, privacy_unit_column = region) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits", "privacy unit"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 5, max_groups_contributed = 1) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits", "exceeds"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1e20) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits", "exceeds"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, rho = 0.01) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits", "exactly one"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(delta = 1e-7) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits", "exactly one"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 5) region, COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits GROUP BY region", "max_groups_contributed"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) region, COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits GROUP BY region", "required"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) patient_id, COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits GROUP BY patient_id", "single people out"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) COUNT(*) FROM visits", "contribution_bounds_per_group"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) SUM(age) FROM visits", "bounds"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) SUM(region, contribution_bounds_per_group => (0, 1)) FROM visits", "numeric"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE nosuch = 1", "no column"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, kappa = 2) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits", "unknown option"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1, group_selection_strategy = PUBLIC_GROUPS) region, COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits GROUP BY region", "LAPLACE_THRESHOLD"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 0.000000001, max_groups_contributed = 1) SUM(cost, contribution_bounds_per_group => (0, 1000)) FROM visits", "too small"},
		{"SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) COUNT(*, contribution_bounds_per_group => (0, 1)) FROM visits WHERE CAST(age AS INTERVAL) IS NULL", "cast"},
	} {
		_, err := plan(t, e, c.q, user)
		if dx.ErrorCode(err) != dx.EInvalid || !strings.Contains(strings.ToLower(dx.ErrorMessage(err)), strings.ToLower(c.want)) {
			t.Errorf("%s\n  got %v, want an invalid-query error naming %q", c.q, err, c.want)
		}
	}
}

// TestSandboxAttacks runs the digest's escape attempts directly against the sandbox,
// the validator bypassed: the sandbox alone must stop them.
func TestSandboxAttacks(t *testing.T) {
	e := open(t)
	src := visitsFile(t)
	other := write(t, "secret.csv", "a\n42\n")
	lim := engine.Limits{Threads: 1, MemoryLimit: "128MB"}
	ctx := context.Background()
	for _, q := range []string{
		"SELECT * FROM read_csv('" + other + "')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_blob('/etc/hostname')",
		"SELECT * FROM '/etc/passwd'",
		"SELECT * FROM glob('/etc/*')",
		"SELECT * FROM read_csv('https://example.com/x.csv')",
		"COPY (SELECT * FROM source) TO '" + filepath.Join(t.TempDir(), "out.csv") + "'",
		"ATTACH '" + filepath.Join(t.TempDir(), "x.db") + "' AS x",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"RESET lock_configuration",
		"SET allowed_paths = ['/etc/passwd']",
		"PRAGMA threads = 64",
		"SET memory_limit = '100GB'",
		"EXPORT DATABASE '" + t.TempDir() + "'",
	} {
		if _, err := e.Compute(ctx, src, q, lim); err == nil {
			t.Errorf("the sandbox ran: %s", q)
		}
	}
	// A cross join bomb is cut off by the deadline (or the memory limit).
	ctx2, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := e.Compute(ctx2, src, "SELECT count(*) FROM source a, source b, source c WHERE a.age + b.age + c.age = -1", lim); err == nil {
		t.Error("a cross join of 10^13 rows finished")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the cross join ran %v past its deadline", d)
	}
	// A recursive CTE bomb likewise.
	ctx3, cancel3 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel3()
	if _, err := e.Compute(ctx3, src, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r", lim); err == nil {
		t.Error("an unbounded recursive CTE finished")
	}
	// The one file it may read is readable.
	rows, err := e.Compute(ctx, src, "SELECT count(*) FROM source", lim)
	if err != nil || len(rows) != 1 {
		t.Fatalf("the sandbox cannot read its own source: %v", err)
	}
}

// TestSnapshot: a bounded snapshot keeps at most k rows of each unit, drops rows without
// a unit, chooses the same rows for the same seed, and queries on it come out close to
// the truth of the bounded data.
func TestSnapshot(t *testing.T) {
	e := open(t)
	src := visitsFile(t)
	ctx := context.Background()
	dst := filepath.Join(t.TempDir(), "snap.parquet")
	n, err := e.Snapshot(ctx, src, dst, "patient_id", 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	var want, most int64
	db.QueryRow(`SELECT sum(least(c, 2)) FROM (SELECT count(*) AS c FROM read_parquet('` + src + `') GROUP BY patient_id)`).Scan(&want)
	db.QueryRow(`SELECT max(c) FROM (SELECT count(*) AS c FROM read_parquet('` + dst + `') GROUP BY patient_id)`).Scan(&most)
	if n != want || most != 2 {
		t.Fatalf("snapshot of %d rows (want %d), at most %d per unit", n, want, most)
	}
	again := filepath.Join(t.TempDir(), "snap2.parquet")
	if _, err := e.Snapshot(ctx, src, again, "patient_id", 2, 7); err != nil {
		t.Fatal(err)
	}
	var diff int64
	db.QueryRow(`SELECT count(*) FROM (SELECT * FROM read_parquet('` + dst + `') EXCEPT ALL SELECT * FROM read_parquet('` + again + `'))`).Scan(&diff)
	if diff != 0 {
		t.Fatalf("the same seed chose %d other rows", diff)
	}
	if _, err := e.Snapshot(ctx, src, dst, "patient_id", 2, 7); err == nil {
		t.Fatal("a snapshot overwrote an existing file")
	}

	st := compute.Settings{UnitColumn: "patient_id", MaxGroups: 1, SnapshotRows: 2}
	p, err := plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, delta = 1e-7) region, COUNT(*) AS visits, SUM(cost, contribution_bounds_per_group => (0, 500)) AS total FROM visits GROUP BY region", st)
	if err != nil {
		t.Fatal(err)
	}
	if p.Snapshot != 2 || p.Cells[0].Sensitivity != 2 || p.SelSensitivity != 2 {
		t.Fatalf("snapshot plan %+v", p)
	}
	res := run(t, e, dst, p)
	exact := map[string]float64{}
	rs, _ := db.Query(`SELECT region, count(*) FROM read_parquet('` + dst + `') GROUP BY region`)
	for rs.Next() {
		var r string
		var c float64
		rs.Scan(&r, &c)
		exact[r] = c
	}
	rs.Close()
	if len(res.Rows) != 3 {
		t.Fatalf("rows %v (threshold %d)", res.Rows, res.Threshold)
	}
	for _, row := range res.Rows {
		if got, want := toFloat(row[1]), exact[row[0].(string)]; math.Abs(got-want) > 60 {
			t.Errorf("%v: %v visits on the snapshot, exact %v", row[0], got, want)
		}
	}
}

// TestSpreadAndQuantiles: VAR_POP, STDDEV_POP and PERCENTILE_CONT on one row per person
// come out near the truth; on per-query user-level bounding they are refused.
func TestSpreadAndQuantiles(t *testing.T) {
	e := open(t)
	src := visitsFile(t)
	row := compute.Settings{MaxGroups: 1}
	p, err := plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, delta = 1e-7) region, VAR_POP(age, contribution_bounds_per_row => (0, 100)) AS v, STDDEV_POP(cost, contribution_bounds_per_row => (0, 600)) AS sd, PERCENTILE_CONT(age, 0.5, contribution_bounds_per_row => (0, 100)) AS median, PERCENTILE_CONT(cost, 0.9, contribution_bounds_per_row => (0, 1000)) AS p90 FROM visits GROUP BY region", row)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, e, src, p)
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	exact := map[string][4]float64{}
	rs, err := db.Query(`SELECT region, var_pop(age), stddev_pop(cost), quantile_cont(age, 0.5), quantile_cont(cost, 0.9) FROM read_parquet('` + src + `') GROUP BY region`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var r string
		var x [4]float64
		rs.Scan(&r, &x[0], &x[1], &x[2], &x[3])
		exact[r] = x
	}
	rs.Close()
	if len(res.Rows) != 3 {
		t.Fatalf("rows %v", res.Rows)
	}
	for i, r := range res.Rows {
		want := exact[r[0].(string)]
		tol := [4]float64{0.05 * want[0], 0.05 * want[1], 3.5, 10} // ages in a region are 3 years apart
		for j := range 4 {
			got := toFloat(r[1+j])
			if math.Abs(got-want[j]) > tol[j] {
				t.Errorf("%v %s: %v, exact %v", r[0], res.Columns[1+j], got, want[j])
			}
			if iv := res.Intervals[i][j]; got < iv[0] || got > iv[1] {
				t.Errorf("%v %s: %v outside its interval %v", r[0], res.Columns[1+j], got, iv)
			}
		}
	}
	user := compute.Settings{UnitColumn: "patient_id", MaxGroups: 1}
	if _, err := plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) VAR_POP(age, contribution_bounds_per_row => (0, 100)) FROM visits", user); dx.ErrorCode(err) != dx.EInvalid || !strings.Contains(dx.ErrorMessage(err), "snapshot") {
		t.Fatalf("VAR_POP on per-query bounding: %v", err)
	}
	for _, q := range []string{
		"VAR_POP(age, contribution_bounds_per_group => (0, 100))",
		"PERCENTILE_CONT(age, 1.5, contribution_bounds_per_row => (0, 100))",
		"PERCENTILE_CONT(age, contribution_bounds_per_row => (0, 100))",
		"AVG(age, contribution_bounds_per_row => (0, 100))",
		"STDDEV_POP(region, contribution_bounds_per_row => (0, 100))",
	} {
		if _, err := plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) "+q+" FROM visits", row); dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("%s: %v", q, err)
		}
	}
	// Over no rows at all: an answer inside the bounds, not an error.
	p, err = plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) PERCENTILE_CONT(age, 0.5, contribution_bounds_per_row => (0, 100)) AS m, VAR_POP(age, contribution_bounds_per_row => (0, 100)) AS v FROM visits WHERE age > 1000", row)
	if err != nil {
		t.Fatal(err)
	}
	if res := run(t, e, src, p); len(res.Rows) != 1 || toFloat(res.Rows[0][0]) < 0 || toFloat(res.Rows[0][0]) > 100 {
		t.Fatalf("empty: %v", res.Rows)
	}
}

// TestNonFiniteMeasures: NaN and ±inf in a DOUBLE column are dropped before clamping
// (least(greatest(NaN, lo), hi) would be hi), so sums and averages reflect the finite
// values only.
func TestNonFiniteMeasures(t *testing.T) {
	e := open(t)
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	src := filepath.Join(t.TempDir(), "x.parquet")
	if _, err := db.Exec(`COPY (SELECT CASE WHEN i % 10 = 0 THEN 'nan'::DOUBLE WHEN i % 10 = 1 THEN 'inf'::DOUBLE WHEN i % 10 = 2 THEN '-inf'::DOUBLE ELSE 10.0 END AS x
		FROM range(100000) AS t(i)) TO '` + src + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	opts, blanked, _ := compute.PreLex("SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1) SUM(x, contribution_bounds_per_group => (0, 100)) AS s, AVG(x, contribution_bounds_per_group => (0, 100)) AS a, COUNT(x) AS n, SUM(x, contribution_bounds_per_group => (5, 100)) AS s5 FROM t")
	tree, _ := e.ParseSQL(context.Background(), blanked)
	q, err := compute.Validate(tree, compute.Table{Name: "t", Columns: map[string]string{"x": "DOUBLE"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := compute.NewPlan(opts, q, compute.Settings{}, compute.DefaultLimits, 1)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, e, src, p)
	s, a, n := toFloat(res.Rows[0][0]), toFloat(res.Rows[0][1]), toFloat(res.Rows[0][2])
	if s5 := toFloat(res.Rows[0][3]); math.Abs(s5-700000) > 5000 { // NaN/inf must not become the lower bound 5
		t.Fatalf("sum with lower bound 5: %v, want ≈ 700000", s5)
	}
	// COUNT(x) counts values, NaN and inf included (they are not NULL).
	if math.Abs(s-700000) > 5000 || math.Abs(a-10) > 0.5 || math.Abs(n-100000) > 100 {
		t.Fatalf("sum %v (want ≈ 700000), avg %v (≈ 10), count %v (≈ 100000)", s, a, n)
	}
}

// TestMinHashes: the per-bucket minima of DuckDB's salted hashes make a sketch that
// counts distinct identifiers (normalised: trimmed, upper-cased) within 3 %, or rows.
func TestMinHashes(t *testing.T) {
	e := open(t)
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	src := filepath.Join(t.TempDir(), "p.parquet")
	// 150,000 rows, 50,000 persons; each ID also appears lower-case and padded.
	if _, err := db.Exec(`COPY (SELECT CASE i % 3 WHEN 0 THEN 'ab' || (i % 50000) WHEN 1 THEN ' AB' || (i % 50000) ELSE NULL END AS id FROM range(150000) AS t(i)) TO '` + src + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		column string
		want   float64
	}{{"id", 50000}, {"", 150000}} {
		mins, err := e.MinHashes(context.Background(), src, c.column, 12345, crossborder.SketchBits)
		if err != nil {
			t.Fatal(err)
		}
		s, err := crossborder.SketchFromMins(mins)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(s.Estimate()); math.Abs(got-c.want) > 0.03*c.want {
			t.Errorf("column %q: %v persons, want about %v", c.column, got, c.want)
		}
	}
}

// TestPostProcessing: HAVING, ORDER BY and LIMIT act on the noisy released values.
func TestPostProcessing(t *testing.T) {
	e := open(t)
	src := visitsFile(t)
	user := compute.Settings{UnitColumn: "patient_id", MaxGroups: 1}
	p, err := plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) region, COUNT(*, contribution_bounds_per_group => (0, 4)) AS visits FROM visits GROUP BY region HAVING visits > 100 AND NOT region = 'north' ORDER BY visits DESC LIMIT 1", user)
	if err != nil {
		t.Fatal(err)
	}
	if p.Query.Limit != 1 || len(p.Query.OrderBy) != 1 || !p.Query.OrderBy[0].Desc || p.Query.Having == nil {
		t.Fatalf("post-processing not read: %+v", p.Query)
	}
	res := run(t, e, src, p)
	// east: 6,667 patients × up to 4 visits; west: 6,667 with fewer; north excluded.
	if len(res.Rows) != 1 || len(res.Intervals) != 1 || res.Rows[0][0] == "north" {
		t.Fatalf("rows %v", res.Rows)
	}
	p, err = plan(t, e, "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, max_groups_contributed = 1) region, COUNT(*, contribution_bounds_per_group => (0, 4)) AS visits FROM visits GROUP BY region ORDER BY region DESC", user)
	if err != nil {
		t.Fatal(err)
	}
	res = run(t, e, src, p)
	var got []string
	for _, r := range res.Rows {
		got = append(got, r[0].(string))
	}
	if strings.Join(got, ",") != "west,north,east" {
		t.Fatalf("ORDER BY region DESC: %v", got)
	}
}
