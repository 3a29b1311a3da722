// Command compute times differentially private queries against the same aggregation
// run raw, on a generated table of 10M rows and 1M privacy units with 1,000 groups
// (2 threads): the static steps (pre-lex, parse, validate, plan), a row-level DP query,
// user-level queries with per-query bounding (L0 = 1 and 5), building a bounded snapshot
// and a user-level query on it. Each figure is the median of -rounds runs.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/engine"
	"github.com/dxexchange/dx/engine/duckdb"
)

func main() {
	rows := flag.Int("rows", 10_000_000, "rows")
	units := flag.Int("units", 1_000_000, "privacy units")
	groups := flag.Int("groups", 1000, "groups")
	rounds := flag.Int("rounds", 5, "runs per figure (median)")
	dir := flag.String("dir", os.TempDir(), "where the generated Parquet file is kept")
	flag.Parse()
	ctx := context.Background()
	src := filepath.Join(*dir, fmt.Sprintf("dp-%d-%d-%d.parquet", *rows, *units, *groups))
	if _, err := os.Stat(src); err != nil {
		db, err := sql.Open("duckdb", "")
		check(err)
		_, err = db.Exec(fmt.Sprintf(`COPY (SELECT 'U' || (hash(i) %% %d) AS unit, 'G' || (i %% %d) AS grp, (i * 7919) %% 1000 AS amount, i %% 90 AS age
			FROM range(%d) AS t(i)) TO '%s' (FORMAT parquet)`, *units, *groups, *rows, src))
		check(err)
		db.Close()
	}
	e, err := duckdb.Open(duckdb.Config{Threads: 2, MemoryLimit: "4GB", TempDir: filepath.Join(*dir, "dp-tmp")})
	check(err)
	defer e.Close()
	lim := engine.Limits{Threads: 2, MemoryLimit: "4GB"}
	table := compute.Table{Name: "t", Columns: map[string]string{"unit": "VARCHAR", "grp": "VARCHAR", "amount": "BIGINT", "age": "BIGINT"}}
	median := func(f func() time.Duration) time.Duration {
		var ds []time.Duration
		for range *rounds {
			ds = append(ds, f())
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	raw := func(path, q string) time.Duration {
		return median(func() time.Duration {
			start := time.Now()
			_, err := e.Compute(ctx, path, q, lim)
			check(err)
			return time.Since(start)
		})
	}
	planOf := func(q string, st compute.Settings) (compute.Plan, time.Duration) {
		var p compute.Plan
		d := median(func() time.Duration {
			start := time.Now()
			opts, blanked, err := compute.PreLex(q)
			check(err)
			tree, err := e.ParseSQL(ctx, blanked)
			check(err)
			vq, err := compute.Validate(tree, table)
			check(err)
			p, err = compute.NewPlan(opts, vq, st, compute.DefaultLimits, 12345)
			check(err)
			return time.Since(start)
		})
		return p, d
	}
	dpq := func(path, q string, st compute.Settings) (time.Duration, int) {
		n := 0
		return median(func() time.Duration {
			start := time.Now()
			p, _ := planOf(q, st)
			out, err := e.Compute(ctx, path, p.SQL, lim)
			check(err)
			res, err := p.Release(out)
			check(err)
			n = len(res.Rows)
			return time.Since(start)
		}), n
	}
	fmt.Printf("data: %d rows, %d units (about %d rows each), %d groups; 2 threads\n", *rows, *units, *rows / *units, *groups)
	rawAgg := "SELECT grp, count(*), sum(amount) FROM source GROUP BY grp"
	rawT := raw(src, rawAgg)
	fmt.Printf("raw GROUP BY COUNT, SUM (sandbox included)           %8.1f ms\n", ms(rawT))
	empty := raw(src, "SELECT 1")
	fmt.Printf("sandbox open + trivial query                         %8.1f ms\n", ms(empty))

	const dp = "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon = 1, delta = 1e-7%s) grp, COUNT(*%s) AS n, SUM(amount, contribution_bounds_per_group => (0, 1000)) AS s FROM t GROUP BY grp"
	rowQ := fmt.Sprintf(dp, "", "")
	_, static := planOf(rowQ, compute.Settings{})
	fmt.Printf("B9  pre-lex + parse + validate + plan                %8.2f ms\n", ms(static))
	rowT, n := dpq(src, rowQ, compute.Settings{})
	fmt.Printf("B4  row-level DP query                               %8.1f ms  (%.2f× raw; %d groups released)\n", ms(rowT), float64(rowT)/float64(rawT), n)

	user := compute.Settings{UnitColumn: "unit", MaxGroups: 5}
	for _, l0 := range []int{1, 5} {
		q := fmt.Sprintf(dp, fmt.Sprintf(", max_groups_contributed = %d", l0), ", contribution_bounds_per_group => (0, 5)")
		d, n := dpq(src, q, user)
		fmt.Printf("B7  user-level, per-query bounding, L0 = %d           %8.1f ms  (%.0f× raw; %d groups)\n", l0, ms(d), float64(d)/float64(rawT), n)
	}

	snap := filepath.Join(*dir, "dp-snapshot.parquet")
	build := median(func() time.Duration {
		os.Remove(snap)
		start := time.Now()
		_, err := e.Snapshot(ctx, src, snap, "unit", 5, 99)
		check(err)
		return time.Since(start)
	})
	fmt.Printf("B6  bounded snapshot, k = 5                          %8.1f ms\n", ms(build))
	rawSnap := raw(snap, rawAgg)
	snapQ := fmt.Sprintf(dp, "", "")
	d, n := dpq(snap, snapQ, compute.Settings{UnitColumn: "unit", MaxGroups: 1, SnapshotRows: 5})
	fmt.Printf("B5  user-level DP query on the snapshot              %8.1f ms  (%.2f× raw on the snapshot, %.1f ms; %.2f× raw on the table; %d groups)\n",
		ms(d), float64(d)/float64(rawSnap), ms(rawSnap), float64(d)/float64(rawT), n)
	os.Remove(snap)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
