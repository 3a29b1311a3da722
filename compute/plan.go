package compute

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/dp"
)

// Settings are what a provider declares for computing on an asset.
type Settings struct {
	AssetID string `json:"asset_id"`
	// UnitColumn is the privacy unit (the protected person or entity): every row with
	// the same value belongs to one unit. "" declares one row per unit (row-level DP).
	UnitColumn string `json:"unit_column"`
	// MaxGroups caps max_groups_contributed (1–10).
	MaxGroups int `json:"max_groups"`
	// SnapshotRows, when > 0, makes user-level queries run on a bounded snapshot of the
	// version (at most this many rows per unit, built once per agreement): fast queries,
	// bounds applied per row, and a unit's rows counted at most SnapshotRows times in all.
	SnapshotRows int `json:"snapshot_rows"`
}

// maxSnapshotRows caps SnapshotRows.
const maxSnapshotRows = 100

// Budget is an amount of privacy loss: pure ε with δ, or ρ-zCDP with δ.
type Budget struct {
	Epsilon float64 `json:"epsilon"`
	Delta   float64 `json:"delta"`
	Rho     float64 `json:"rho"`
}

// Limits are the budget rules of one agreement: per query and in total.
type Limits struct {
	PerQuery Budget `json:"per_query"`
	Total    Budget `json:"total"`
}

// DefaultLimits apply where an agreement does not state its own (the digest's defaults).
var DefaultLimits = Limits{PerQuery: Budget{Epsilon: 1, Delta: 1e-7, Rho: 0.05}, Total: Budget{Epsilon: 10, Delta: 1e-5, Rho: 1}}

// maxL0 caps max_groups_contributed whatever the provider says.
const maxL0 = 10

// Plan is a validated query ready to run: the SQL dx built, and how to noise its cells.
type Plan struct {
	Query    Query
	Unit     string // the privacy unit column; "" for row-level
	L0       int    // groups one unit may touch
	Gaussian bool   // ρ-zCDP with discrete Gaussian noise; else ε with discrete Laplace
	Cost     Budget // what the query spends
	Select   bool   // whether groups pass partition selection (GROUP BY present)
	// Snapshot is k > 0 when the query runs on a bounded snapshot of ≤ k rows per unit;
	// the SQL then reads it as "source" and treats every row as clamped on its own.
	Snapshot int
	// SelSensitivity is how much one unit can add to one group's selection count: 1
	// (distinct units), or k on a snapshot, where rows are counted.
	SelSensitivity int64
	Share          float64 // each mechanism's part of the budget (AVG splits its own in two)
	// Threshold: a group is released only if its noisy count of units reaches it.
	Threshold int64
	Cells     []Cell // the noised integers of each output row, in SQL column order after the keys
	SQL       string
}

// Cell is one integer column the SQL returns per group, with its sensitivity.
type Cell struct {
	Agg         int    // index into Query.Aggregates
	Part        string // "value", "sum" (AVG's Σ(a−mid)) or "count" (AVG's count)
	Sensitivity int64  // per-group L∞ in grid units
	Shift       uint   // grid 2^−Shift
	Share       float64
}

// Plan checks the options against the asset's settings and the agreement's limits,
// and builds the bounded SQL over the table "source".
func NewPlan(opts Options, q Query, s Settings, lim Limits, seed uint64) (Plan, error) {
	p := Plan{Query: q, Unit: s.UnitColumn, L0: 1, SelSensitivity: 1}
	if s.UnitColumn != "" && s.SnapshotRows > 0 {
		p.Snapshot = min(s.SnapshotRows, maxSnapshotRows)
	}
	for k := range opts {
		switch k {
		case "epsilon", "delta", "rho", "max_groups_contributed", "privacy_unit_column", "group_selection_strategy":
		default:
			return p, optionErr(k, "unknown option %q (epsilon, delta, rho, max_groups_contributed, privacy_unit_column, group_selection_strategy)", k)
		}
	}
	num := func(k string) (float64, bool, error) {
		v, ok := opts[k]
		if !ok {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, true, optionErr(k, "%s must be a number, not %q", k, v)
		}
		return f, true, nil
	}
	eps, hasEps, err := num("epsilon")
	if err != nil {
		return p, err
	}
	rho, hasRho, err := num("rho")
	if err != nil {
		return p, err
	}
	delta, hasDelta, err := num("delta")
	if err != nil {
		return p, err
	}
	switch {
	case hasEps == hasRho:
		return p, optionErr("epsilon", "give exactly one of epsilon (pure ε, Laplace noise) or rho (ρ-zCDP, Gaussian noise)")
	case hasEps && !(eps > 0):
		return p, optionErr("epsilon", "epsilon must be > 0")
	case hasEps && eps > lim.PerQuery.Epsilon:
		return p, optionErr("epsilon", "epsilon %v exceeds the agreement's %v per query", eps, lim.PerQuery.Epsilon)
	case hasRho && !(rho > 0):
		return p, optionErr("rho", "rho must be > 0")
	case hasRho && rho > lim.PerQuery.Rho:
		return p, optionErr("rho", "rho %v exceeds the agreement's %v per query", rho, lim.PerQuery.Rho)
	}
	p.Gaussian = hasRho
	if u, ok := opts["privacy_unit_column"]; ok && u != s.UnitColumn {
		if s.UnitColumn == "" {
			return p, optionErr("privacy_unit_column", "the provider declares one row per person for this asset; privacy_unit_column cannot be %q", u)
		}
		return p, optionErr("privacy_unit_column", "the privacy unit of this asset is %q, declared by its provider; a query cannot choose %q", s.UnitColumn, u)
	}
	if st, ok := opts["group_selection_strategy"]; ok && !strings.EqualFold(st, "LAPLACE_THRESHOLD") {
		return p, optionErr("group_selection_strategy", "only LAPLACE_THRESHOLD is offered (no public group tables are declared for this asset)")
	}
	if v, ok := opts["max_groups_contributed"]; ok {
		n, err := strconv.Atoi(v)
		limit := min(max(s.MaxGroups, 1), maxL0)
		if err != nil || n < 1 || n > limit {
			return p, optionErr("max_groups_contributed", "max_groups_contributed must be an integer from 1 to %d", limit)
		}
		if s.UnitColumn == "" && n != 1 {
			return p, optionErr("max_groups_contributed", "with one row per person a person touches one group: max_groups_contributed is 1")
		}
		if p.Snapshot == 0 {
			p.L0 = n
		} // on a snapshot a unit's ≤ k rows bound its contribution to all groups together
	} else if s.UnitColumn != "" && len(q.GroupBy) > 0 && p.Snapshot == 0 {
		return p, optionErr("max_groups_contributed", "max_groups_contributed is required: how many groups one %s may count in", s.UnitColumn)
	}
	p.Select = len(q.GroupBy) > 0
	if p.Select {
		if !hasDelta {
			delta = 1e-7
		}
		if !(delta > 0 && delta < 1) {
			return p, optionErr("delta", "delta must be in (0, 1): groups are selected from the data")
		}
		if delta > lim.PerQuery.Delta {
			return p, optionErr("delta", "delta %v exceeds the agreement's %v per query", delta, lim.PerQuery.Delta)
		}
		if s.UnitColumn != "" && slicesContains(q.GroupBy, s.UnitColumn) {
			return p, refuse(s.UnitColumn, -1, "grouping by the privacy unit %q would single people out", s.UnitColumn)
		}
	} else {
		if hasDelta && delta != 0 {
			return p, optionErr("delta", "delta is spent only when groups are selected; this query has no GROUP BY, leave it out")
		}
		delta = 0
	}
	if s.UnitColumn != "" {
		for _, a := range q.Aggregates {
			if a.Column == s.UnitColumn && (a.Function == "sum" || a.Function == "avg") {
				return p, refuse(a.Column, -1, "the privacy unit %q cannot be summed or averaged", a.Column)
			}
		}
	}
	p.Cost = Budget{Epsilon: eps, Rho: rho, Delta: delta}
	mechanisms := len(q.Aggregates)
	if p.Select {
		mechanisms++
	}
	p.Share = 1 / float64(mechanisms)
	for i, a := range q.Aggregates {
		steps := 21 // grid steps over a bound, in bits
		if p.Gaussian {
			steps = 13 // the Gaussian sampler's σ² must stay below 2^42
		}
		cells, err := cellsOf(i, a, s.UnitColumn == "" || p.Snapshot > 0, steps)
		if err != nil {
			return p, err
		}
		if p.Snapshot > 0 { // ≤ k rows of one unit, each clamped: k times a row's bound
			for j := range cells {
				cells[j].Sensitivity *= int64(p.Snapshot)
			}
		}
		for j := range cells {
			cells[j].Share = p.Share / float64(len(cells))
		}
		p.Cells = append(p.Cells, cells...)
	}
	for _, c := range p.Cells { // a budget too small for the sampler is a static error
		if _, err := p.mechanism(c.Sensitivity, c.Share).Interval(0.95); err != nil {
			return p, optionErr("epsilon", "the privacy budget of this query is too small for its bounds: raise epsilon/rho or tighten the bounds")
		}
	}
	if p.Select {
		if p.Snapshot > 0 {
			p.SelSensitivity = int64(p.Snapshot)
		}
		tau, err := p.threshold(p.Cost.Delta)
		if err != nil {
			return p, optionErr("delta", "no selection threshold for these parameters: %v", err)
		}
		p.Threshold = tau
	}
	p.SQL = p.rewrite(seed)
	return p, nil
}

// cellsOf derives the noised integers of one aggregate from its bounds.
func cellsOf(i int, a Aggregate, rowLevel bool, steps int) ([]Cell, error) {
	switch a.Function {
	case "count", "count_star":
		c := int64(1)
		if a.Bounds != nil {
			if a.Bounds[0] != 0 || a.Bounds[1] < 1 || a.Bounds[1] > 1<<20 {
				return nil, refuse("contribution_bounds_per_group", -1, "COUNT bounds are (0, c) with 1 ≤ c ≤ 1048576")
			}
			c = a.Bounds[1]
		} else if !rowLevel {
			return nil, refuse("contribution_bounds_per_group", -1, "COUNT needs contribution_bounds_per_group => (0, c): how many rows of one person count in a group")
		}
		if rowLevel {
			c = 1 // a row counts once
		}
		return []Cell{{Agg: i, Part: "value", Sensitivity: c}}, nil
	case "sum":
		lo, hi := a.Bounds[0], a.Bounds[1]
		m := max(abs(lo), abs(hi))
		if m == 0 || m > 1<<40 {
			return nil, refuse("contribution_bounds_per_group", -1, "SUM bounds must not both be 0 and at most 2^40 in size")
		}
		f := shift(m, steps)
		return []Cell{{Agg: i, Part: "value", Sensitivity: m << f, Shift: f}}, nil
	case "avg":
		lo, hi := a.Bounds[0], a.Bounds[1]
		if hi <= lo || max(abs(lo), abs(hi)) > 1<<40 {
			return nil, refuse("contribution_bounds_per_group", -1, "AVG bounds need lower < upper, at most 2^40 in size")
		}
		f := shift(hi-lo, steps)
		// Σ(a − mid) has per-unit bound (hi − lo)/2, i.e. (hi − lo)·2^(f−1) on the grid.
		return []Cell{{Agg: i, Part: "sum", Sensitivity: (hi - lo) << (f - 1), Shift: f}, {Agg: i, Part: "count", Sensitivity: 1}}, nil
	case "var_pop", "stddev_pop", "percentile_cont":
		if !rowLevel {
			return nil, refuse(a.Function, -1, "%s clamps rows, so it needs one row per person or a bounded snapshot (the provider's snapshot_rows)", strings.ToUpper(a.Function))
		}
		lo, hi := a.Bounds[0], a.Bounds[1]
		if hi <= lo || max(abs(lo), abs(hi)) > 1<<20 {
			return nil, refuse("contribution_bounds_per_row", -1, "%s bounds need lower < upper, at most 2^20 in size", strings.ToUpper(a.Function))
		}
		if a.Function == "percentile_cont" {
			// One row adds 1 to one leaf and one inner node of the quantile tree.
			return []Cell{{Agg: i, Part: "hist", Sensitivity: 2}}, nil
		}
		d := hi - lo
		f1 := shift(d, steps)
		f2 := uint(max(2, steps-bits.Len64(uint64(d*d))+2))
		// Per row: 1 to the count, |x − mid| ≤ d/2 to Σ(x − mid), (d/2)² to Σ(x − mid)².
		return []Cell{{Agg: i, Part: "sum", Sensitivity: d << (f1 - 1), Shift: f1}, {Agg: i, Part: "count", Sensitivity: 1},
			{Agg: i, Part: "sq", Sensitivity: (d * d) << (f2 - 2), Shift: f2}}, nil
	}
	return nil, refuse(a.Function, -1, "unknown aggregate %s", a.Function)
}

// Quantile tree: 16 inner nodes of 16 leaves each over [lo, hi].
const (
	treeFanout = 16
	treeLeaves = treeFanout * treeFanout
)

// shift picks the fixed-point grid 2^−f for values up to m: about 2^steps grid steps
// over the bound, and at least one binary place (AVG's midpoint is a half).
func shift(m int64, steps int) uint {
	b := bits.Len64(uint64(m))
	return uint(max(1, steps-b))
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// measure is a numeric column as the SQL aggregates read it: integers as they are;
// decimals as DOUBLE; floating point with NaN and ±inf mapped to NULL before any clamp
// (least(greatest(NaN, lo), hi) would be hi). It also says whether the value is an
// integer (then no rounding is needed on the grid).
func measure(col, typ string) (string, bool) {
	t := strings.ToUpper(typ)
	switch {
	case strings.Contains(t, "INT") && !strings.Contains(t, "INTERVAL"): // TINYINT … HUGEINT, unsigned too
		return quote(col), true
	case strings.HasPrefix(t, "DECIMAL"):
		return "CAST(" + quote(col) + " AS DOUBLE)", false
	}
	v := "TRY_CAST(" + quote(col) + " AS DOUBLE)"
	return "(CASE WHEN isfinite(" + v + ") THEN " + v + " END)", false
}

// clamp bounds x to [lo, hi]; NULL stays NULL (DuckDB's least and greatest skip NULL
// arguments, so a bare least(greatest(NULL, lo), hi) would be lo).
func clamp(x string, lo, hi int64) string {
	return fmt.Sprintf("(CASE WHEN %s IS NOT NULL THEN least(greatest(%s, %d), %d) END)", x, x, lo, hi)
}

// fixed puts a clamped value on the grid 2^−f as an integer (|value| ≤ 2^21 grid
// steps, so BIGINT holds it; DuckDB sums BIGINT into HUGEINT, exactly).
// clampSum is clamp for a value that is only summed: with a lower bound of 0 a NULL
// turned into 0 adds nothing, so the cheaper bare form is exact.
func clampSum(x string, lo, hi int64) string {
	if lo == 0 {
		return fmt.Sprintf("least(greatest(%s, 0), %d)", x, hi)
	}
	return clamp(x, lo, hi)
}

func fixed(x string, f uint, integer bool) string {
	if integer {
		return fmt.Sprintf("(%s * %d)", x, int64(1)<<f)
	}
	return fmt.Sprintf("CAST(round(%s * %d) AS BIGINT)", x, int64(1)<<f)
}

// rewrite prints the bounded SQL. Row-level: one pass, each row clamped. User-level
// (Wilson et al.): per (unit, group) values clamped, at most L0 groups per unit chosen by
// a keyed hash of the unit and group (so a unit's choice depends on its own rows only),
// then exact fixed-point sums across units. Either way the SQL returns per group the
// keys, one integer per cell and the number of units.
func (p Plan) rewrite(seed uint64) string {
	q := p.Query
	where := "TRUE"
	if q.Where != "" {
		where = "coalesce(try(" + q.Where + "), FALSE)" // a runtime error is NULL, never a signal
	}
	var keys, keyRefs []string
	for i, g := range q.GroupBy {
		keys = append(keys, fmt.Sprintf("%s AS g%d", quote(g), i))
		keyRefs = append(keyRefs, fmt.Sprintf("g%d", i))
	}
	var b strings.Builder
	if p.Unit == "" || p.Snapshot > 0 {
		var out []string
		for _, c := range p.Cells {
			a := q.Aggregates[c.Agg]
			switch {
			case c.Part == "value" && a.Function == "count_star":
				out = append(out, "CAST(count(*) AS HUGEINT)")
			case c.Part == "value" && a.Function == "count":
				out = append(out, "CAST(count("+quote(a.Column)+") AS HUGEINT)")
			case c.Part == "value": // sum
				m, integer := measure(a.Column, q.Types[a.Column])
				if integer { // exact integers: scale the sum, not every row
					out = append(out, fmt.Sprintf("(sum(%s) * %d)", clampSum(m, a.Bounds[0], a.Bounds[1]), int64(1)<<c.Shift))
				} else {
					out = append(out, "sum("+fixed(clampSum(m, a.Bounds[0], a.Bounds[1]), c.Shift, false)+")")
				}
			case c.Part == "sum": // avg, var_pop, stddev_pop
				m, _ := measure(a.Column, q.Types[a.Column])
				mid := float64(a.Bounds[0]+a.Bounds[1]) / 2
				out = append(out, "sum("+fixed("("+clamp(m, a.Bounds[0], a.Bounds[1])+fmt.Sprintf(" - %v)", mid), c.Shift, false)+")")
			case c.Part == "sq":
				m, _ := measure(a.Column, q.Types[a.Column])
				mid := float64(a.Bounds[0]+a.Bounds[1]) / 2
				out = append(out, "sum("+fixed("power("+clamp(m, a.Bounds[0], a.Bounds[1])+fmt.Sprintf(" - %v, 2)", mid), c.Shift, false)+")")
			case c.Part == "hist": // leaf counts of the quantile tree, as a map
				m, _ := measure(a.Column, q.Types[a.Column])
				lo, hi := a.Bounds[0], a.Bounds[1]
				out = append(out, fmt.Sprintf("histogram(CAST(least(greatest(floor((%s - %d) * %d.0 / %d), 0), %d) AS BIGINT))",
					clamp(m, lo, hi), lo, treeLeaves, hi-lo, treeLeaves-1))
			case c.Part == "count":
				m, _ := measure(a.Column, q.Types[a.Column])
				out = append(out, "CAST(count("+m+") AS HUGEINT)")
			}
		}
		b.WriteString("SELECT " + strings.Join(append(append(keyRefs, out...), "CAST(count(*) AS HUGEINT) AS units"), ", "))
		b.WriteString(" FROM (SELECT *")
		if len(keys) > 0 {
			b.WriteString(", " + strings.Join(keys, ", "))
		}
		b.WriteString(" FROM source WHERE " + where + ") AS f")
		if len(keyRefs) > 0 {
			b.WriteString(" GROUP BY " + strings.Join(keyRefs, ", "))
		}
		return b.String()
	}
	// user level
	var inner, perUnit, out []string
	// Units are grouped by a 64-bit hash of their ID (grouping by strings costs twice as
	// much). Two units whose hashes collide count as one: their joint contribution is
	// bounded as one unit's, which only removes data.
	inner = append(inner, "hash("+quote(p.Unit)+") AS u")
	inner = append(inner, keys...)
	for i, a := range q.Aggregates {
		if a.Column != "" {
			inner = append(inner, fmt.Sprintf("%s AS c%d", quote(a.Column), i))
			if a.Function != "count" {
				m, _ := measure(a.Column, q.Types[a.Column])
				inner = append(inner, fmt.Sprintf("%s AS m%d", m, i))
			}
		}
	}
	for _, c := range p.Cells {
		a := q.Aggregates[c.Agg]
		col := fmt.Sprintf("a%d_%s", c.Agg, c.Part)
		switch {
		case c.Part == "value" && a.Function == "count_star":
			perUnit = append(perUnit, fmt.Sprintf("least(count(*), %d) AS %s", c.Sensitivity, col))
			out = append(out, "CAST(sum("+col+") AS HUGEINT)")
		case c.Part == "value" && a.Function == "count":
			perUnit = append(perUnit, fmt.Sprintf("least(count(c%d), %d) AS %s", c.Agg, c.Sensitivity, col))
			out = append(out, "CAST(sum("+col+") AS HUGEINT)")
		case c.Part == "value": // sum
			perUnit = append(perUnit, clampSum(fmt.Sprintf("sum(m%d)", c.Agg), a.Bounds[0], a.Bounds[1])+" AS "+col)
			_, integer := measure(a.Column, q.Types[a.Column])
			out = append(out, "sum("+fixed(col, c.Shift, integer)+")")
		case c.Part == "sum": // avg: the unit's average, clamped
			perUnit = append(perUnit, clamp(fmt.Sprintf("avg(m%d)", c.Agg), a.Bounds[0], a.Bounds[1])+" AS "+col)
			mid := float64(a.Bounds[0]+a.Bounds[1]) / 2
			out = append(out, "sum("+fixed(fmt.Sprintf("(%s - %v)", col, mid), c.Shift, false)+")")
		case c.Part == "count":
			out = append(out, fmt.Sprintf("CAST(count(a%d_sum) AS HUGEINT)", c.Agg))
		}
	}
	group := strings.Join(append([]string{"u"}, keyRefs...), ", ")
	b.WriteString("WITH f AS (SELECT " + strings.Join(inner, ", ") + " FROM source WHERE " + quote(p.Unit) + " IS NOT NULL AND " + where + "), ")
	b.WriteString("pu AS (SELECT " + group + ", " + strings.Join(perUnit, ", ") + " FROM f GROUP BY " + group + ")")
	from := "pu"
	if len(keyRefs) > 0 {
		hashArgs := strings.Join(append([]string{"u"}, keyRefs...), ", ")
		b.WriteString(fmt.Sprintf(", r AS (SELECT *, row_number() OVER (PARTITION BY u ORDER BY hash(%s, %d::UBIGINT), %s) AS rk FROM pu)", hashArgs, seed, strings.Join(keyRefs, ", ")))
		from = fmt.Sprintf("r WHERE rk <= %d", p.L0)
	}
	b.WriteString(" SELECT " + strings.Join(append(append(keyRefs, out...), "CAST(count(*) AS HUGEINT) AS units"), ", ") + " FROM " + from)
	if len(keyRefs) > 0 {
		b.WriteString(" GROUP BY " + strings.Join(keyRefs, ", "))
	}
	return b.String()
}

func optionErr(key, format string, args ...any) error {
	return &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "query-refused", "construct": key, "position": -1},
		Message: "查询选项无效 / invalid query option: " + fmt.Sprintf(format, args...)}
}

// mechanism returns the noise of a cell with sensitivity sens, spending share of the
// query's budget, across L0 groups.
func (p Plan) mechanism(sens int64, share float64) noiser {
	if p.Gaussian {
		// L2 over L0 groups: √L0·L∞, rounded up to an integer.
		l2 := int64(math.Ceil(math.Sqrt(float64(p.L0)) * float64(sens)))
		return dp.GaussianMechanism{Sensitivity: l2, Rho: p.Cost.Rho * share}
	}
	return dp.LaplaceMechanism{Sensitivity: int64(p.L0) * sens, Epsilon: p.Cost.Epsilon * share}
}

// selection is the noise of the selection counts.
func (p Plan) selection() noiser { return p.mechanism(p.SelSensitivity, p.Share) }

// threshold is the noisy count a group needs so that all the groups one unit alone
// creates are released with probability at most delta together: it may create L0 of
// them (distinct-unit counts of 1), or on a snapshot up to k (row counts summing to k;
// each is bounded as if it held all k rows).
func (p Plan) threshold(delta float64) (int64, error) {
	groups := float64(p.L0)
	if p.Snapshot > 0 {
		groups = float64(p.Snapshot)
	}
	tau, err := dp.Threshold(p.selection().Tail, delta/groups)
	return tau + p.SelSensitivity - 1, err
}

// noiser is what the two mechanisms share.
type noiser interface {
	Add(int64) (int64, error)
	Interval(conf float64) (int64, error)
	Tail(k int64) (float64, error)
}

var (
	_ noiser = dp.LaplaceMechanism{}
	_ noiser = dp.GaussianMechanism{}
)
