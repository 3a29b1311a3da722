package compute

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"
)

// Result is a released answer: noisy aggregates only, with how noisy they are.
type Result struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
	// Accuracy per aggregate column: the noise's scale and the half-width of its 95%
	// interval (for AVG, of its numerator's noise).
	Accuracy []Accuracy `json:"accuracy"`
	// Intervals per row and aggregate column: [low, high] holding the exact bounded value
	// with probability ≥ 95% (for AVG, a conservative propagation).
	Intervals [][][2]float64 `json:"intervals"`
	// Threshold is the noisy count of persons a group needs to appear (0: no selection).
	Threshold int64  `json:"threshold,omitempty"`
	Cost      Budget `json:"cost"`
	Cached    bool   `json:"cached"`
}

// Accuracy describes one aggregate column's noise.
type Accuracy struct {
	Column    string  `json:"column"`
	Mechanism string  `json:"mechanism"` // "discrete-laplace" or "discrete-gaussian"
	Scale     float64 `json:"scale"`     // Laplace scale or Gaussian σ, in the column's units
	Interval  float64 `json:"interval95"`
}

// Release noises the engine's per-group integers, drops groups that fail selection and
// builds the answer. rows are the SQL's rows: the group keys, one integer per cell, the
// number of units.
func (p Plan) Release(rows [][]any) (Result, error) {
	q := p.Query
	res := Result{Cost: p.Cost, Threshold: p.Threshold, Columns: q.Outputs()}
	nk := len(q.GroupBy)
	if len(rows) == 0 && !p.Select { // an ungrouped query over no rows: one row of zeros
		row := make([]any, len(p.Cells)+1)
		for i := range row {
			if i >= len(p.Cells) || p.Cells[i].Part != "hist" {
				row[i] = int64(0)
			}
		}
		rows = [][]any{row}
	}
	kinds := map[bool]string{true: "discrete-gaussian", false: "discrete-laplace"}[p.Gaussian]
	for i := range q.Aggregates {
		for _, c := range p.Cells {
			if c.Agg != i || c.Part == "count" || c.Part == "sq" {
				continue
			}
			m := p.mechanism(c.Sensitivity, c.Share)
			k, err := m.Interval(0.95)
			if err != nil {
				return res, err
			}
			unit := math.Ldexp(1, -int(c.Shift))
			if c.Shift == 0 {
				unit = 1
			}
			res.Accuracy = append(res.Accuracy, Accuracy{Column: res.Columns[nk+i], Mechanism: kinds, Scale: scaleOf(m) * unit, Interval: float64(k) * unit})
		}
	}
	sel := p.selection()
	for _, r := range rows {
		if len(r) != nk+len(p.Cells)+1 {
			return res, fmt.Errorf("compute: the engine returned %d columns, not %d", len(r), nk+len(p.Cells)+1)
		}
		if p.Select {
			units, err := integer(r[len(r)-1])
			if err != nil {
				return res, err
			}
			noisy, err := sel.Add(units)
			if err != nil {
				return res, err
			}
			if noisy < p.Threshold {
				continue
			}
		}
		out := make([]any, 0, nk+len(q.Aggregates))
		for _, k := range r[:nk] {
			out = append(out, keyValue(k))
		}
		ivs := make([][2]float64, 0, len(q.Aggregates))
		noised := make([]int64, len(p.Cells))
		halves := make([]int64, len(p.Cells))
		part := map[[2]any]int{} // (aggregate, part) → cell
		for j, c := range p.Cells {
			part[[2]any{c.Agg, c.Part}] = j
			if c.Part == "hist" {
				continue
			}
			v, err := integer(r[nk+j])
			if err != nil {
				return res, err
			}
			m := p.mechanism(c.Sensitivity, c.Share)
			if noised[j], err = m.Add(v); err != nil {
				return res, err
			}
			if halves[j], err = m.Interval(0.95); err != nil {
				return res, err
			}
		}
		cell := func(agg int, name string) (float64, float64) {
			j := part[[2]any{agg, name}]
			unit := math.Ldexp(1, -int(p.Cells[j].Shift))
			return float64(noised[j]) * unit, float64(halves[j]) * unit
		}
		for i, a := range q.Aggregates {
			lo, hi, mid := 0.0, 0.0, 0.0
			if a.Bounds != nil {
				lo, hi = float64(a.Bounds[0]), float64(a.Bounds[1])
				mid = (lo + hi) / 2
			}
			switch a.Function {
			case "count", "count_star":
				v, h := cell(i, "value")
				out = append(out, int64(max(v, 0))) // counts are never negative (post-processing)
				ivs = append(ivs, [2]float64{max(v-h, 0), v + h})
			case "sum":
				v, h := cell(i, "value")
				out = append(out, v)
				ivs = append(ivs, [2]float64{v - h, v + h})
			case "avg": // mid + Ŝ/N̂, clamped to the bounds
				s, hs := cell(i, "sum")
				n, hn := cell(i, "count")
				n = max(n, 1)
				avg := min(max(mid+s/n, lo), hi)
				spread := (hs + math.Abs(s/n)*hn) / max(n-hn, 1)
				out = append(out, avg)
				ivs = append(ivs, [2]float64{max(avg-spread, lo), min(avg+spread, hi)})
			case "var_pop", "stddev_pop": // Ŝ₂/N̂ − (Ŝ₁/N̂)², clamped to [0, ((hi − lo)/2)²]
				s1, h1 := cell(i, "sum")
				n, hn := cell(i, "count")
				s2, h2 := cell(i, "sq")
				n = max(n, 1)
				top := (hi - lo) * (hi - lo) / 4
				variance := min(max(s2/n-(s1/n)*(s1/n), 0), top)
				d := max(n-hn, 1)
				spread := (h2 + 2*math.Abs(s1/n)*h1 + (math.Abs(s2/n)+(s1/n)*(s1/n))*hn) / d
				loV, hiV := max(variance-spread, 0), min(variance+spread, top)
				if a.Function == "stddev_pop" {
					out = append(out, math.Sqrt(variance))
					ivs = append(ivs, [2]float64{math.Sqrt(loV), math.Sqrt(hiV)})
				} else {
					out = append(out, variance)
					ivs = append(ivs, [2]float64{loV, hiV})
				}
			case "percentile_cont":
				j := part[[2]any{i, "hist"}]
				v, iv, err := p.quantile(r[nk+j], a, p.mechanism(p.Cells[j].Sensitivity, p.Cells[j].Share))
				if err != nil {
					return res, err
				}
				out = append(out, v)
				ivs = append(ivs, iv)
			}
		}
		res.Rows = append(res.Rows, out)
		res.Intervals = append(res.Intervals, ivs)
	}
	sortRows(res.Rows, res.Intervals, nk)
	q.postProcess(&res)
	return res, nil
}

func scaleOf(m noiser) float64 {
	switch m := m.(type) {
	case interface{ Scale() (float64, error) }:
		s, _ := m.Scale()
		return s
	case interface{ Variance() (float64, error) }:
		v, _ := m.Variance()
		return math.Sqrt(v)
	}
	return 0
}

// integer reads an engine integer (int64 or HUGEINT as *big.Int; NULL as 0).
func integer(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("compute: a count overflowed int64")
		}
		return int64(x), nil
	case *big.Int:
		if !x.IsInt64() {
			return 0, fmt.Errorf("compute: a bounded sum overflowed int64")
		}
		return x.Int64(), nil
	}
	return 0, fmt.Errorf("compute: the engine returned %T for an integer cell", v)
}

// keyValue makes a group key JSON-friendly.
func keyValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339Nano)
	case *big.Int:
		return x.String()
	case []byte:
		return string(x)
	}
	return v
}

// sortRows orders rows by their group keys (as text), so the answer's order says
// nothing about the engine's.
func sortRows(rows [][]any, ivs [][][2]float64, nk int) {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	key := func(r []any) string {
		s := ""
		for _, k := range r[:nk] {
			s += fmt.Sprint(k) + "\x00"
		}
		return s
	}
	sortIdx(idx, func(a, b int) bool { return key(rows[a]) < key(rows[b]) })
	r2 := make([][]any, len(rows))
	i2 := make([][][2]float64, len(rows))
	for i, j := range idx {
		r2[i], i2[i] = rows[j], ivs[j]
	}
	copy(rows, r2)
	copy(ivs, i2)
}

func sortIdx(idx []int, less func(a, b int) bool) {
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}

// quantile estimates a fraction's quantile from the noisy quantile tree of one group:
// 16 inner nodes and 256 leaves over [lo, hi], every node noised (empty ones too), the
// rank p·N̂ followed down the tree, linear within a leaf. The interval is the same walk
// at the ranks that the count noise could shift it to.
func (p Plan) quantile(v any, a Aggregate, m noiser) (float64, [2]float64, error) {
	var leaves [treeLeaves]int64
	if v != nil {
		hist, ok := v.(map[any]any)
		if !ok {
			return 0, [2]float64{}, fmt.Errorf("compute: the engine returned %T for a histogram", v)
		}
		for k, c := range hist {
			b, err := integer(k)
			if err != nil {
				return 0, [2]float64{}, err
			}
			n, err := integer(c)
			if err != nil {
				return 0, [2]float64{}, err
			}
			if b >= 0 && b < treeLeaves {
				leaves[b] += n
			}
		}
	}
	var inner [treeFanout]float64
	var noisyLeaves [treeLeaves]float64
	for i := range treeFanout {
		sum := int64(0)
		for j := range treeFanout {
			sum += leaves[i*treeFanout+j]
			n, err := m.Add(leaves[i*treeFanout+j])
			if err != nil {
				return 0, [2]float64{}, err
			}
			noisyLeaves[i*treeFanout+j] = float64(n) // unclamped: clamping empty leaves at 0 would bias ranks toward the middle
		}
		n, err := m.Add(sum)
		if err != nil {
			return 0, [2]float64{}, err
		}
		inner[i] = float64(max(n, 0))
	}
	total := 0.0
	for _, c := range inner {
		total += c
	}
	lo, hi := float64(a.Bounds[0]), float64(a.Bounds[1])
	width := (hi - lo) / treeLeaves
	at := func(rank float64) float64 {
		rank = min(max(rank, 0), total)
		i, before := 0, 0.0
		for ; i < treeFanout-1 && before+inner[i] < rank; i++ {
			before += inner[i]
		}
		r := rank - before
		leafSum := 0.0
		for j := range treeFanout {
			leafSum += noisyLeaves[i*treeFanout+j]
		}
		if inner[i] > 0 && leafSum > 0 {
			r *= leafSum / inner[i]
		}
		j, cum := 0, 0.0
		for ; j < treeFanout-1 && cum+noisyLeaves[i*treeFanout+j] < r; j++ {
			cum += noisyLeaves[i*treeFanout+j]
		}
		frac := 0.5
		if c := noisyLeaves[i*treeFanout+j]; c > 0 && r > cum {
			frac = min(max((r-cum)/c, 0), 1)
		}
		return min(max(lo+(float64(i*treeFanout+j)+frac)*width, lo), hi)
	}
	half, err := m.Interval(0.95)
	if err != nil {
		return 0, [2]float64{}, err
	}
	// A rank passes at most 15 inner nodes and 15 leaves, each off by the noise.
	shift := float64(half) * math.Sqrt(2*treeFanout)
	rank := a.Quantile * total
	return at(rank), [2]float64{at(rank - shift), at(rank + shift)}, nil
}
