package compute

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dxexchange/dx"
)

// Validation is a strict whitelist over the engine parser's syntax tree (DuckDB 1.5's
// json_serialize_sql with null fields skipped; empty ones are kept, because an empty
// grouping set is how ROLLUP shows): anything not listed here, or listed but not at its
// default, is refused, naming the construct and where it is. Never a blacklist.

// aggregates are the DP aggregates a query may compute.
var aggregates = []string{"count_star", "count", "sum", "avg"}

// scalars are the deterministic scalar functions allowed in expressions.
var scalars = []string{"lower", "upper", "substr", "substring", "length", "trim", "coalesce", "abs", "round", "floor", "ceil", "least",
	"greatest", "date_trunc", "extract", "date_part", "year", "month", "strftime", "~~", "starts_with", "contains",
	"+", "-", "*", "/", "%"}

// Query is what validation learns of an accepted query.
type Query struct {
	Table      string   // the one table read
	GroupBy    []string // group-by columns
	Aggregates []Aggregate
}

// Aggregate is one DP aggregate of the select list.
type Aggregate struct {
	Function string  // count_star, count, sum or avg
	Column   string  // its argument column ("" for COUNT(*))
	Bounds   []int64 // contribution_bounds_per_group => (lo, hi), if given
	Alias    string
}

// Validate checks a parsed query against the whitelist; tables lists the table names the
// consumer may read.
func Validate(tree []byte, tables []string) (Query, error) {
	var q Query
	var doc map[string]any
	if err := json.Unmarshal(tree, &doc); err != nil {
		return q, refuse("", -1, "the parser's answer is not JSON")
	}
	if doc["error"] == true {
		return q, refuse("", -1, "%v", doc["error_message"])
	}
	stmts, _ := doc["statements"].([]any)
	if len(stmts) != 1 {
		return q, refuse("statements", -1, "exactly one statement is allowed, not %d", len(stmts))
	}
	node, _ := stmts[0].(map[string]any)["node"].(map[string]any)
	if node == nil || node["type"] != "SELECT_NODE" {
		return q, refuse(fmt.Sprint(node["type"]), -1, "only a plain SELECT is allowed (no UNION, no recursive CTE)")
	}
	for k, v := range node {
		switch k {
		case "type", "select_list", "from_table", "where_clause", "group_expressions", "group_sets":
		case "aggregate_handling":
			if v != "STANDARD_HANDLING" {
				return q, refuse(k, -1, "GROUP BY ALL and similar forms are not allowed")
			}
		case "modifiers":
			if l, _ := v.([]any); len(l) > 0 {
				return q, refuse(k, -1, "%s is not allowed", construct(k))
			}
		case "cte_map":
			if m, _ := v.(map[string]any); m != nil {
				if l, _ := m["map"].([]any); len(l) > 0 {
					return q, refuse(k, -1, "%s is not allowed", construct(k))
				}
			}
		default: // modifiers (ORDER BY, LIMIT, DISTINCT), cte_map, having, qualify, sample …
			return q, refuse(k, -1, "%s is not allowed", construct(k))
		}
	}
	if sets, _ := node["group_sets"].([]any); len(sets) > 1 {
		return q, refuse("GROUPING SETS", -1, "one grouping set only (no ROLLUP, CUBE or GROUPING SETS)")
	}
	from, _ := node["from_table"].(map[string]any)
	if from == nil {
		return q, refuse("FROM", -1, "a FROM clause naming a table is required")
	}
	if from["type"] != "BASE_TABLE" {
		return q, refuse(fmt.Sprint(from["type"]), loc(from), "only a table may be read (no table functions, subqueries, joins or PIVOT)")
	}
	for k, v := range from {
		switch k {
		case "type", "table_name", "query_location", "alias":
		case "schema_name", "catalog_name":
			if v != "" {
				return q, refuse(k, loc(from), "%s is not allowed", construct(k))
			}
		case "column_name_alias":
			if l, _ := v.([]any); len(l) > 0 {
				return q, refuse(k, loc(from), "%s are not allowed", construct(k))
			}
		default:
			return q, refuse(k, loc(from), "%s is not allowed on a table", construct(k))
		}
	}
	q.Table, _ = from["table_name"].(string)
	if !slices.Contains(tables, q.Table) {
		return q, refuse(q.Table, loc(from), "unknown table %q (you may read %v)", q.Table, tables)
	}
	if w, ok := node["where_clause"]; ok {
		if err := expr(w, false); err != nil {
			return q, err
		}
	}
	groups, _ := node["group_expressions"].([]any)
	for _, g := range groups {
		col, ok := columnRef(g)
		if !ok {
			return q, refuse("GROUP BY", loc(g), "group by plain columns only")
		}
		q.GroupBy = append(q.GroupBy, col)
	}
	list, _ := node["select_list"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		if col, ok := columnRef(item); ok {
			if !slices.Contains(q.GroupBy, col) {
				return q, refuse(col, loc(item), "column %q is selected without being grouped by or aggregated (only aggregates leave)", col)
			}
			continue
		}
		if m["class"] == "FUNCTION" && slices.Contains(aggregates, fmt.Sprint(m["function_name"])) {
			a, err := aggregate(m)
			if err != nil {
				return q, err
			}
			q.Aggregates = append(q.Aggregates, a)
			continue
		}
		return q, refuse(fmt.Sprint(m["class"]), loc(item), "%s is not allowed in the select list: group-by columns and DP aggregates only", construct(fmt.Sprint(m["class"])))
	}
	if len(q.Aggregates) == 0 {
		return q, refuse("SELECT", -1, "at least one DP aggregate (COUNT, SUM, AVG) is required: rows never leave")
	}
	return q, nil
}

// aggregate checks one DP aggregate call.
func aggregate(m map[string]any) (Aggregate, error) {
	a := Aggregate{Function: fmt.Sprint(m["function_name"])}
	a.Alias, _ = m["alias"].(string)
	if err := plainCall(m); err != nil {
		return a, err
	}
	children, _ := m["children"].([]any)
	for i, c := range children {
		cm, _ := c.(map[string]any)
		if cm["class"] == "FUNCTION" && cm["function_name"] == "row" && cm["alias"] == "contribution_bounds_per_group" {
			for _, b := range cm["children"].([]any) {
				v, ok := constantInt(b)
				if !ok {
					return a, refuse("contribution_bounds_per_group", loc(c), "bounds must be integer literals")
				}
				a.Bounds = append(a.Bounds, v)
			}
			if len(a.Bounds) != 2 || a.Bounds[0] > a.Bounds[1] {
				return a, refuse("contribution_bounds_per_group", loc(c), "bounds are (lower, upper) with lower ≤ upper")
			}
			continue
		}
		if cm["class"] == "STAR" && a.Function == "count" && i == 0 {
			continue
		}
		col, ok := columnRef(c)
		if !ok || a.Column != "" {
			return a, refuse(fmt.Sprint(cm["class"]), loc(c), "an aggregate takes one plain column")
		}
		a.Column = col
	}
	if (a.Function == "sum" || a.Function == "avg") && a.Column == "" {
		return a, refuse(a.Function, loc(m), "%s needs a column", a.Function)
	}
	return a, nil
}

// plainCall refuses DISTINCT, FILTER, ORDER BY inside a call, and qualified names.
func plainCall(m map[string]any) error {
	for k, v := range m {
		switch k {
		case "class", "type", "function_name", "children", "alias", "query_location", "is_operator":
		case "distinct", "export_state":
			if v != false {
				return refuse(k, loc(m), "%s in a function call is not allowed", strings.ToUpper(k))
			}
		case "order_bys":
			if ob, _ := v.(map[string]any); ob != nil {
				if orders, _ := ob["orders"].([]any); len(orders) > 0 {
					return refuse("ORDER BY", loc(m), "ORDER BY inside a function call is not allowed")
				}
			}
		case "schema", "catalog":
			if v != "" && !(v == "main" && m["function_name"] == "row") {
				return refuse(k, loc(m), "qualified function names are not allowed")
			}
		default:
			return refuse(k, loc(m), "%s in a function call is not allowed", construct(k))
		}
	}
	return nil
}

// expr checks an expression of WHERE (no aggregates there).
func expr(v any, _ bool) error {
	m, ok := v.(map[string]any)
	if !ok {
		return refuse("expression", -1, "malformed expression")
	}
	switch m["class"] {
	case "COLUMN_REF":
		if _, ok := columnRef(m); !ok {
			return refuse("column", loc(m), "qualified column names are not allowed")
		}
		return nil
	case "CONSTANT":
		return nil
	case "COMPARISON":
		if err := expr(m["left"], false); err != nil {
			return err
		}
		return expr(m["right"], false)
	case "CONJUNCTION", "OPERATOR":
		t := fmt.Sprint(m["type"])
		if !slices.Contains([]string{"CONJUNCTION_AND", "CONJUNCTION_OR", "OPERATOR_NOT", "OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL", "COMPARE_IN", "COMPARE_NOT_IN"}, t) {
			return refuse(t, loc(m), "operator %s is not allowed", t)
		}
		for _, c := range m["children"].([]any) {
			if err := expr(c, false); err != nil {
				return err
			}
		}
		return nil
	case "BETWEEN":
		for _, k := range []string{"input", "lower", "upper"} {
			if err := expr(m[k], false); err != nil {
				return err
			}
		}
		return nil
	case "CAST":
		return expr(m["child"], false)
	case "FUNCTION":
		name := fmt.Sprint(m["function_name"])
		if !slices.Contains(scalars, name) {
			return refuse(name, loc(m), "function %s is not allowed here", name)
		}
		if err := plainCall(m); err != nil {
			return err
		}
		children, _ := m["children"].([]any)
		for _, c := range children {
			if err := expr(c, false); err != nil {
				return err
			}
		}
		return nil
	}
	return refuse(fmt.Sprint(m["class"]), loc(m), "%s is not allowed", construct(fmt.Sprint(m["class"])))
}

func columnRef(v any) (string, bool) {
	m, _ := v.(map[string]any)
	if m["class"] != "COLUMN_REF" {
		return "", false
	}
	names, _ := m["column_names"].([]any)
	if len(names) != 1 {
		return "", false
	}
	s, ok := names[0].(string)
	return s, ok
}

func constantInt(v any) (int64, bool) {
	m, _ := v.(map[string]any)
	if m["class"] != "CONSTANT" {
		return 0, false
	}
	val, _ := m["value"].(map[string]any)
	typ, _ := val["type"].(map[string]any)
	switch typ["id"] {
	case "INTEGER", "BIGINT":
		f, ok := val["value"].(float64)
		return int64(f), ok && f == float64(int64(f))
	}
	return 0, false
}

func loc(v any) int {
	m, _ := v.(map[string]any)
	if f, ok := m["query_location"].(float64); ok && f < 1<<40 {
		return int(f)
	}
	return -1
}

// construct names a syntax-tree key or class as people write it.
func construct(k string) string {
	names := map[string]string{"modifiers": "ORDER BY, LIMIT or DISTINCT", "cte_map": "WITH (a CTE)", "having": "HAVING", "qualify": "QUALIFY",
		"sample": "USING SAMPLE", "SUBQUERY": "a subquery", "WINDOW": "a window function", "LAMBDA": "a lambda", "PARAMETER": "a parameter",
		"STAR": "*", "filter": "FILTER", "COLLATE": "COLLATE", "CASE": "CASE", "at_clause": "AT (time travel)", "schema_name": "a schema-qualified name",
		"catalog_name": "a catalog-qualified name", "column_name_alias": "column aliases"}
	if n, ok := names[k]; ok {
		return n
	}
	return k
}

func refuse(what string, at int, format string, args ...any) error {
	where := ""
	if at >= 0 {
		where = fmt.Sprintf(" (at %d)", at)
	}
	return &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "query-refused", "construct": what, "position": at},
		Message: "查询不被允许 / query refused: " + fmt.Sprintf(format, args...) + where}
}
