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
	res := Result{Cost: p.Cost, Threshold: p.Threshold}
	for _, g := range q.GroupBy {
		res.Columns = append(res.Columns, g)
	}
	for i, a := range q.Aggregates {
		name := a.Alias
		if name == "" {
			name = fmt.Sprintf("%s_%d", a.Function, i)
		}
		res.Columns = append(res.Columns, name)
	}
	nk := len(q.GroupBy)
	if len(rows) == 0 && !p.Select { // an ungrouped query over no rows: one row of zeros
		row := make([]any, len(p.Cells)+1)
		for i := range row {
			row[i] = int64(0)
		}
		rows = [][]any{row}
	}
	kinds := map[bool]string{true: "discrete-gaussian", false: "discrete-laplace"}[p.Gaussian]
	for i, a := range q.Aggregates {
		for _, c := range p.Cells {
			if c.Agg != i || c.Part == "count" {
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
			_ = a
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
		for j, c := range p.Cells {
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
		for j, c := range p.Cells {
			a := q.Aggregates[c.Agg]
			unit := math.Ldexp(1, -int(c.Shift))
			switch {
			case c.Part == "value" && (a.Function == "count" || a.Function == "count_star"):
				n := max(noised[j], 0) // counts are never negative (post-processing)
				out = append(out, n)
				ivs = append(ivs, [2]float64{float64(max(noised[j]-halves[j], 0)), float64(noised[j] + halves[j])})
			case c.Part == "value": // sum
				v := float64(noised[j]) * unit
				out = append(out, v)
				ivs = append(ivs, [2]float64{v - float64(halves[j])*unit, v + float64(halves[j])*unit})
			case c.Part == "sum": // avg = mid + Ŝ/N̂, clamped to the bounds
				lo, hi := float64(a.Bounds[0]), float64(a.Bounds[1])
				mid := (lo + hi) / 2
				s, hs := float64(noised[j])*unit, float64(halves[j])*unit
				n, hn := float64(max(noised[j+1], 1)), float64(halves[j+1])
				avg := math.Min(math.Max(mid+s/n, lo), hi)
				spread := (hs + math.Abs(s/n)*hn) / math.Max(n-hn, 1)
				out = append(out, avg)
				ivs = append(ivs, [2]float64{math.Max(avg-spread, lo), math.Min(avg+spread, hi)})
			}
		}
		res.Rows = append(res.Rows, out)
		res.Intervals = append(res.Intervals, ivs)
	}
	sortRows(res.Rows, res.Intervals, nk)
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
