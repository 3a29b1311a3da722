package compute

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Post-processing: HAVING, ORDER BY and LIMIT at the top level act on the released
// (noisy) values in Go — they never reach the engine, so they cannot see a raw count
// (digest §2.7). HAVING compares output columns with literals (AND, OR, NOT); ORDER BY
// names output columns; LIMIT is a literal.

// Cond is a HAVING condition over output columns.
type Cond struct {
	Op       string // "and", "or", "not", or a comparison: = <> < > <= >=
	Column   string // a comparison's output column
	Value    any    // its literal: float64 or string
	Children []Cond
}

// Order is one ORDER BY item.
type Order struct {
	Column string
	Desc   bool
}

var havingOps = map[string]string{"COMPARE_EQUAL": "=", "COMPARE_NOTEQUAL": "<>", "COMPARE_LESSTHAN": "<", "COMPARE_GREATERTHAN": ">",
	"COMPARE_LESSTHANOREQUALTO": "<=", "COMPARE_GREATERTHANOREQUALTO": ">="}

// having reads a HAVING expression; outputs are the query's output column names.
func having(v any, outputs []string) (Cond, error) {
	m, _ := v.(map[string]any)
	switch m["class"] {
	case "CONJUNCTION":
		op := map[string]string{"CONJUNCTION_AND": "and", "CONJUNCTION_OR": "or"}[fmt.Sprint(m["type"])]
		if op == "" {
			return Cond{}, refuse("HAVING", loc(m), "HAVING takes AND and OR of comparisons")
		}
		c := Cond{Op: op}
		for _, ch := range m["children"].([]any) {
			sub, err := having(ch, outputs)
			if err != nil {
				return Cond{}, err
			}
			c.Children = append(c.Children, sub)
		}
		return c, nil
	case "OPERATOR":
		children, _ := m["children"].([]any)
		if m["type"] != "OPERATOR_NOT" || len(children) != 1 {
			return Cond{}, refuse("HAVING", loc(m), "HAVING takes AND, OR and NOT of comparisons")
		}
		sub, err := having(children[0], outputs)
		return Cond{Op: "not", Children: []Cond{sub}}, err
	case "COMPARISON":
		op, ok := havingOps[fmt.Sprint(m["type"])]
		if !ok {
			return Cond{}, refuse("HAVING", loc(m), "comparison %v is not allowed in HAVING", m["type"])
		}
		left, right := m["left"], m["right"]
		col, isCol := columnRef(left)
		if !isCol { // literal on the left: flip
			col, isCol = columnRef(right)
			left, right = right, left
			op = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "<>": "<>"}[op]
		}
		if !isCol || !slices.Contains(outputs, col) {
			return Cond{}, refuse("HAVING", loc(m), "HAVING compares an output column (by its name or alias) with a literal")
		}
		val, err := literalValue(right)
		if err != nil {
			return Cond{}, err
		}
		return Cond{Op: op, Column: col, Value: val}, nil
	}
	return Cond{}, refuse("HAVING", loc(m), "HAVING compares output columns with literals (use the aggregate's alias, e.g. HAVING visits > 100)")
}

// literalValue reads a numeric or text literal.
func literalValue(v any) (any, error) {
	m, _ := v.(map[string]any)
	if m["class"] != "CONSTANT" {
		return nil, refuse("HAVING", loc(m), "HAVING compares with literals only")
	}
	s, err := constant(m)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(s, "'") {
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	}
	s = strings.TrimSuffix(s, "::DOUBLE")
	if strings.HasPrefix(s, "CAST('") {
		s = s[len("CAST('"):strings.Index(s, "' AS")]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, refuse("HAVING", loc(m), "unsupported literal %s in HAVING", s)
	}
	return f, nil
}

// modifiers reads ORDER BY and LIMIT.
func modifiers(list []any, outputs []string, q *Query) error {
	for _, item := range list {
		m, _ := item.(map[string]any)
		switch m["type"] {
		case "ORDER_MODIFIER":
			orders, _ := m["orders"].([]any)
			for _, o := range orders {
				om, _ := o.(map[string]any)
				col, ok := columnRef(om["expression"])
				if !ok || !slices.Contains(outputs, col) {
					return refuse("ORDER BY", loc(om["expression"]), "ORDER BY names output columns (a group-by column or an aggregate's alias)")
				}
				if om["null_order"] != "ORDER_DEFAULT" {
					return refuse("ORDER BY", loc(om["expression"]), "NULLS FIRST/LAST is not supported")
				}
				q.OrderBy = append(q.OrderBy, Order{Column: col, Desc: om["type"] == "DESCENDING"})
			}
		case "LIMIT_MODIFIER":
			for k := range m {
				if k != "type" && k != "limit" {
					return refuse("OFFSET", -1, "only LIMIT n is supported (no OFFSET, no percentage)")
				}
			}
			n, ok := constantInt(m["limit"])
			if !ok || n < 1 || n > 100_000 {
				return refuse("LIMIT", loc(m["limit"]), "LIMIT takes an integer literal from 1 to 100000")
			}
			q.Limit = int(n)
		default:
			return refuse(fmt.Sprint(m["type"]), -1, "%v is not allowed (ORDER BY and LIMIT are)", m["type"])
		}
	}
	return nil
}

// holds evaluates a condition on one output row.
func (c Cond) holds(cols []string, row []any) bool {
	switch c.Op {
	case "and":
		for _, s := range c.Children {
			if !s.holds(cols, row) {
				return false
			}
		}
		return true
	case "or":
		for _, s := range c.Children {
			if s.holds(cols, row) {
				return true
			}
		}
		return false
	case "not":
		return !c.Children[0].holds(cols, row)
	}
	i := slices.Index(cols, c.Column)
	if i < 0 {
		return false
	}
	cmp, ok := compareValues(row[i], c.Value)
	if !ok {
		return false
	}
	switch c.Op {
	case "=":
		return cmp == 0
	case "<>":
		return cmp != 0
	case "<":
		return cmp < 0
	case ">":
		return cmp > 0
	case "<=":
		return cmp <= 0
	case ">=":
		return cmp >= 0
	}
	return false
}

// compareValues orders two output values: numbers as numbers, anything else as text.
func compareValues(a, b any) (int, bool) {
	fa, aNum := number(a)
	fb, bNum := number(b)
	if aNum && bNum {
		switch {
		case fa < fb:
			return -1, true
		case fa > fb:
			return 1, true
		}
		return 0, true
	}
	if a == nil || b == nil {
		return 0, false
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)), true
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// postProcess applies HAVING, ORDER BY and LIMIT to released rows (their intervals
// follow them).
func (q Query) postProcess(res *Result) {
	if q.Having != nil {
		var rows [][]any
		var ivs [][][2]float64
		for i, r := range res.Rows {
			if q.Having.holds(res.Columns, r) {
				rows = append(rows, r)
				ivs = append(ivs, res.Intervals[i])
			}
		}
		res.Rows, res.Intervals = rows, ivs
	}
	if len(q.OrderBy) > 0 {
		idx := make([]int, len(res.Rows))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			for _, o := range q.OrderBy {
				i := slices.Index(res.Columns, o.Column)
				c, _ := compareValues(res.Rows[a][i], res.Rows[b][i])
				if o.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0 // the rows were sorted by group key already: ties keep that order
		})
		rows := make([][]any, len(idx))
		ivs := make([][][2]float64, len(idx))
		for i, j := range idx {
			rows[i], ivs[i] = res.Rows[j], res.Intervals[j]
		}
		res.Rows, res.Intervals = rows, ivs
	}
	if q.Limit > 0 && len(res.Rows) > q.Limit {
		res.Rows, res.Intervals = res.Rows[:q.Limit], res.Intervals[:q.Limit]
	}
}
