package duckdb

import (
	"context"
	"strings"
	"testing"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/compute"
)

// TestQueryWhitelist parses a corpus of consumer queries with DuckDB's own parser and
// runs the whitelist: the DP shapes pass with what they compute; every attack of the
// digest's list that the parser can see is refused, naming the construct, before
// anything runs.
func TestQueryWhitelist(t *testing.T) {
	e := open(t)
	ctx := context.Background()
	check := func(sql string) (compute.Query, error) {
		opts, blanked, err := compute.PreLex(sql)
		if err != nil {
			return compute.Query{}, err
		}
		_ = opts
		tree, err := e.ParseSQL(ctx, blanked)
		if err != nil {
			t.Fatalf("parse %q: %v", sql, err)
		}
		return compute.Validate(tree, parseTable)
	}
	const dp = "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1, delta=1e-6, privacy_unit_column=patient_id) "
	q, err := check(dp + "region, COUNT(*) AS n, SUM(cost, contribution_bounds_per_group => (0, 500)) AS total FROM visits WHERE age BETWEEN 18 AND 60 AND sex IN ('F', 'M') GROUP BY region")
	if err != nil {
		t.Fatal(err)
	}
	if q.Table != "visits" || len(q.GroupBy) != 1 || len(q.Aggregates) != 2 || q.Aggregates[1].Column != "cost" || q.Aggregates[1].Bounds[1] != 500 || q.Aggregates[0].Alias != "n" {
		t.Fatalf("query = %+v", q)
	}
	if _, err := check(dp + "AVG(age, contribution_bounds_per_group => (0, 120)) FROM visits WHERE lower(district) ~~ '%西湖%'"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sql, construct string }{
		{dp + "* FROM visits", "STAR"},
		{dp + "patient_id FROM visits", "patient_id"},
		{dp + "COUNT(*) FROM read_csv('/etc/passwd')", "TABLE_FUNCTION"},
		{dp + "COUNT(*) FROM read_parquet('/data/blobs/x')", "TABLE_FUNCTION"},
		{dp + "COUNT(*) FROM query('SELECT * FROM visits')", "TABLE_FUNCTION"},
		{dp + "COUNT(*) FROM visits, visits AS v2", "JOIN"},
		{dp + "COUNT(*) FROM (SELECT * FROM visits)", "SUBQUERY"},
		{dp + "COUNT(*) FROM other", "other"},
		{dp + "COUNT(*) FROM main.visits", "schema_name"},
		{dp + "COUNT(*) FROM visits WHERE age > (SELECT max(age) FROM visits)", "SUBQUERY"},
		{dp + "COUNT(*) FROM visits WHERE random() < 0.5", "random"},
		{dp + "COUNT(*) FROM visits WHERE getenv('HOME') = 'x'", "getenv"},
		{dp + "max(age) FROM visits", "FUNCTION"},
		{dp + "COUNT(DISTINCT patient_id) FROM visits", "distinct"},
		{dp + "SUM(age) OVER () FROM visits", "window"},
		{dp + "COUNT(*) FROM visits GROUP BY ROLLUP (region)", "GROUPING SETS"},
		{dp + "COUNT(*) FROM visits LIMIT 1 OFFSET 2", "OFFSET"},
		{dp + "DISTINCT COUNT(*) FROM visits", "DISTINCT"},
		{dp + "region, COUNT(*) AS n FROM visits GROUP BY region ORDER BY random()", "ORDER BY"},
		{dp + "region, COUNT(*) AS n FROM visits GROUP BY region HAVING n > (SELECT 1)", "HAVING"},
		{dp + "COUNT(*) FROM visits USING SAMPLE 10", "sample"},
		{dp + "COUNT(*) FROM visits HAVING COUNT(*) > 1", "having"},
		{dp + "COUNT(*) FROM visits UNION SELECT COUNT(*) FROM visits", "SET_OPERATION_NODE"},
		{dp + "COUNT(*) FROM visits; SELECT * FROM visits", "statements"},
		{dp + "COUNT(*) FROM visits WHERE age = $1", "PARAMETER"},
		{dp + "COUNT(*) FROM visits WHERE list_filter([1], x -> x > 0) = [1]", "list_filter"},
		{dp + "SUM(cost, contribution_bounds_per_group => (0, age)) FROM visits", "contribution_bounds_per_group"},
	} {
		_, err := check(c.sql)
		if dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("accepted: %s (%v)", c.sql[len(dp):], err)
			continue
		}
		if got := dx.ErrorDetails(err)["construct"]; !strings.Contains(strings.ToLower(dx.ErrorMessage(err)+" "+toString(got)), strings.ToLower(c.construct)) {
			t.Errorf("%s: refused (%v) without naming %s", c.sql[len(dp):], err, c.construct)
		}
	}
	// Statements DuckDB will not even serialise, and text before the clause.
	for _, sql := range []string{
		"COPY visits TO '/tmp/x.csv'", "ATTACH '/tmp/other.db'", "INSTALL httpfs", "LOAD httpfs", "PRAGMA database_list", "SET threads = 64",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) " + dp[7:] + "COUNT(*) FROM r",
	} {
		if _, err := check(sql); dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("accepted: %s (%v)", sql, err)
		}
	}
	for _, body := range []string{"COPY visits TO '/tmp/x.csv'", "ATTACH '/tmp/other.db'", "PRAGMA database_list"} {
		tree, err := e.ParseSQL(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := compute.Validate(tree, parseTable); dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("a bare %s passed validation", body)
		}
	}
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}

var parseTable = compute.Table{Name: "visits", Columns: map[string]string{"patient_id": "VARCHAR", "region": "VARCHAR", "age": "BIGINT",
	"cost": "DOUBLE", "sex": "VARCHAR", "district": "VARCHAR"}}
