package compute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/dxexchange/dx"
)

// Validation is a strict whitelist over the engine parser's syntax tree (DuckDB 1.5's
// json_serialize_sql with null fields skipped; empty ones are kept, because an empty
// grouping set is how ROLLUP shows): anything not listed here, or listed but not at its
// default, is refused, naming the construct and where it is. Never a blacklist.

// aggregates are the DP aggregates a query may compute.
var aggregates = []string{"count_star", "count", "sum", "avg", "var_pop", "stddev_pop", "percentile_cont"}

// perRow are the aggregates whose bounds clamp each row (contribution_bounds_per_row);
// the others clamp each person's contribution to a group (contribution_bounds_per_group).
var perRow = []string{"var_pop", "stddev_pop", "percentile_cont"}

// scalars are the deterministic scalar functions allowed in expressions.
var scalars = []string{"lower", "upper", "substr", "substring", "length", "trim", "coalesce", "abs", "round", "floor", "ceil", "least",
	"greatest", "date_trunc", "extract", "date_part", "year", "month", "strftime", "~~", "starts_with", "contains",
	"+", "-", "*", "/", "%", "!~~", "~~*"}

// Table is what a query may read: one table, known by name, with its columns and their
// engine types.
type Table struct {
	Name    string
	Columns map[string]string // name → SQL type, e.g. BIGINT, VARCHAR
}

// Query is what validation learns of an accepted query.
type Query struct {
	Table      string   // the one table read
	GroupBy    []string // group-by columns
	Aggregates []Aggregate
	// Where is the WHERE condition printed by dx from the syntax tree (every column
	// quoted, every literal re-quoted, CAST as TRY_CAST); "" when there is none.
	Where string
	// Types are the engine types of the table's columns.
	Types map[string]string
	// Post-processing on the noisy output (post.go).
	Having  *Cond
	OrderBy []Order
	Limit   int
}

// Aggregate is one DP aggregate of the select list.
type Aggregate struct {
	Function string  // count_star, count, sum or avg
	Column   string  // its argument column ("" for COUNT(*))
	Bounds   []int64 // contribution_bounds_per_group (or _per_row) => (lo, hi), if given
	Alias    string
	// Quantile is PERCENTILE_CONT's fraction in [0, 1], as a decimal literal.
	Quantile float64
}

// Validate checks a parsed query against the whitelist for the table t.
func Validate(tree []byte, t Table) (Query, error) {
	var q Query
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(tree))
	dec.UseNumber() // literals keep every digit
	if err := dec.Decode(&doc); err != nil {
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
		case "type", "select_list", "from_table", "where_clause", "group_expressions", "group_sets", "having":
		case "aggregate_handling":
			if v != "STANDARD_HANDLING" {
				return q, refuse(k, -1, "GROUP BY ALL and similar forms are not allowed")
			}
		case "modifiers": // ORDER BY and LIMIT, read after the select list
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
	if q.Table != t.Name {
		return q, refuse(q.Table, loc(from), "unknown table %q (you may read %q)", q.Table, t.Name)
	}
	q.Types = t.Columns
	v := validator{t}
	if w, ok := node["where_clause"]; ok {
		where, err := v.expr(w)
		if err != nil {
			return q, err
		}
		q.Where = where
	}
	groups, _ := node["group_expressions"].([]any)
	for _, g := range groups {
		col, ok := columnRef(g)
		if !ok {
			return q, refuse("GROUP BY", loc(g), "group by plain columns only")
		}
		if err := v.column(col, loc(g)); err != nil {
			return q, err
		}
		if slices.Contains(q.GroupBy, col) {
			return q, refuse(col, loc(g), "column %q is grouped by twice", col)
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
			a, err := v.aggregate(m)
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
	outputs := q.Outputs()
	if h, ok := node["having"]; ok {
		c, err := having(h, outputs)
		if err != nil {
			return q, err
		}
		q.Having = &c
	}
	if l, _ := node["modifiers"].([]any); len(l) > 0 {
		if err := modifiers(l, outputs, &q); err != nil {
			return q, err
		}
	}
	return q, nil
}

// Outputs are the answer's column names: the group-by columns, then each aggregate's
// alias (or function_index).
func (q Query) Outputs() []string {
	out := append([]string(nil), q.GroupBy...)
	for i, a := range q.Aggregates {
		name := a.Alias
		if name == "" {
			name = fmt.Sprintf("%s_%d", a.Function, i)
		}
		out = append(out, name)
	}
	return out
}

// validator checks expressions against one table's columns.
type validator struct{ t Table }

// column refuses a name the table does not have.
func (v validator) column(name string, at int) error {
	if _, ok := v.t.Columns[name]; !ok {
		return refuse(name, at, "table %q has no column %q", v.t.Name, name)
	}
	return nil
}

// aggregate checks one DP aggregate call.
func (v validator) aggregate(m map[string]any) (Aggregate, error) {
	a := Aggregate{Function: fmt.Sprint(m["function_name"])}
	a.Alias, _ = m["alias"].(string)
	if err := plainCall(m); err != nil {
		return a, err
	}
	boundsName := "contribution_bounds_per_group"
	if slices.Contains(perRow, a.Function) {
		boundsName = "contribution_bounds_per_row"
	}
	children, _ := m["children"].([]any)
	hasQuantile := false
	for i, c := range children {
		cm, _ := c.(map[string]any)
		if cm["class"] == "FUNCTION" && cm["function_name"] == "row" && strings.HasPrefix(fmt.Sprint(cm["alias"]), "contribution_bounds_per_") {
			if cm["alias"] != boundsName || a.Bounds != nil {
				return a, refuse(fmt.Sprint(cm["alias"]), loc(c), "%s takes %s => (lower, upper), once", strings.ToUpper(a.Function), boundsName)
			}
			for _, b := range cm["children"].([]any) {
				v, ok := constantInt(b)
				if !ok {
					return a, refuse(boundsName, loc(c), "bounds must be integer literals")
				}
				a.Bounds = append(a.Bounds, v)
			}
			if len(a.Bounds) != 2 || a.Bounds[0] > a.Bounds[1] {
				return a, refuse(boundsName, loc(c), "bounds are (lower, upper) with lower ≤ upper")
			}
			continue
		}
		if a.Function == "percentile_cont" && i == 1 && cm["class"] == "CONSTANT" {
			q, ok := constantFraction(cm)
			if !ok {
				return a, refuse("percentile_cont", loc(c), "PERCENTILE_CONT's fraction is a literal from 0 to 1")
			}
			a.Quantile, hasQuantile = q, true
			continue
		}
		if cm["class"] == "STAR" && a.Function == "count" && i == 0 {
			continue
		}
		col, ok := columnRef(c)
		if !ok || a.Column != "" {
			return a, refuse(fmt.Sprint(cm["class"]), loc(c), "an aggregate takes one plain column")
		}
		if err := v.column(col, loc(c)); err != nil {
			return a, err
		}
		a.Column = col
	}
	if a.Function == "count" && a.Column == "" { // COUNT(*, bounds)
		a.Function = "count_star"
	}
	numericAgg := a.Function != "count" && a.Function != "count_star"
	if numericAgg && a.Column == "" {
		return a, refuse(a.Function, loc(m), "%s needs a column", a.Function)
	}
	if a.Function == "percentile_cont" && !hasQuantile {
		return a, refuse(a.Function, loc(m), "PERCENTILE_CONT(column, fraction, contribution_bounds_per_row => (lower, upper))")
	}
	if numericAgg && !numeric(v.t.Columns[a.Column]) {
		return a, refuse(a.Column, loc(m), "%s needs a numeric column; %q is %s", strings.ToUpper(a.Function), a.Column, v.t.Columns[a.Column])
	}
	if a.Bounds == nil && a.Function != "count" && a.Function != "count_star" {
		return a, refuse(a.Function, loc(m), "%s needs %s => (lower, upper): bounds are never derived from the data", strings.ToUpper(strings.TrimSuffix(a.Function, "_star")), boundsName)
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

// comparisons maps the syntax tree's comparison types to SQL.
var comparisons = map[string]string{"COMPARE_EQUAL": "=", "COMPARE_NOTEQUAL": "<>", "COMPARE_LESSTHAN": "<", "COMPARE_GREATERTHAN": ">",
	"COMPARE_LESSTHANOREQUALTO": "<=", "COMPARE_GREATERTHANOREQUALTO": ">=", "COMPARE_DISTINCT_FROM": "IS DISTINCT FROM",
	"COMPARE_NOT_DISTINCT_FROM": "IS NOT DISTINCT FROM"}

// castTypes are the types a CAST may name (printed as TRY_CAST, so a value that does
// not convert becomes NULL instead of an error that depends on the data).
var castTypes = []string{"VARCHAR", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DATE", "TIMESTAMP"}

// expr checks an expression of WHERE (no aggregates there) and prints it as SQL.
func (v validator) expr(node any) (string, error) {
	m, ok := node.(map[string]any)
	if !ok {
		return "", refuse("expression", -1, "malformed expression")
	}
	if a, _ := m["alias"].(string); a != "" {
		return "", refuse("alias", loc(m), "an alias inside an expression is not allowed")
	}
	list := func(key string) ([]string, error) {
		children, _ := m[key].([]any)
		out := make([]string, len(children))
		for i, c := range children {
			s, err := v.expr(c)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	switch m["class"] {
	case "COLUMN_REF":
		col, ok := columnRef(m)
		if !ok {
			return "", refuse("column", loc(m), "qualified column names are not allowed")
		}
		if err := v.column(col, loc(m)); err != nil {
			return "", err
		}
		return quote(col), nil
	case "CONSTANT":
		return constant(m)
	case "COMPARISON":
		op, ok := comparisons[fmt.Sprint(m["type"])]
		if !ok {
			return "", refuse(fmt.Sprint(m["type"]), loc(m), "comparison %v is not allowed", m["type"])
		}
		l, err := v.expr(m["left"])
		if err != nil {
			return "", err
		}
		r, err := v.expr(m["right"])
		if err != nil {
			return "", err
		}
		return "(" + l + " " + op + " " + r + ")", nil
	case "CONJUNCTION", "OPERATOR":
		t := fmt.Sprint(m["type"])
		args, err := list("children")
		if err != nil {
			return "", err
		}
		switch {
		case t == "CONJUNCTION_AND" && len(args) >= 2:
			return "(" + strings.Join(args, " AND ") + ")", nil
		case t == "CONJUNCTION_OR" && len(args) >= 2:
			return "(" + strings.Join(args, " OR ") + ")", nil
		case t == "OPERATOR_NOT" && len(args) == 1:
			return "(NOT " + args[0] + ")", nil
		case t == "OPERATOR_IS_NULL" && len(args) == 1:
			return "(" + args[0] + " IS NULL)", nil
		case t == "OPERATOR_IS_NOT_NULL" && len(args) == 1:
			return "(" + args[0] + " IS NOT NULL)", nil
		case (t == "COMPARE_IN" || t == "COMPARE_NOT_IN") && len(args) >= 2:
			for _, c := range m["children"].([]any)[1:] {
				if c.(map[string]any)["class"] != "CONSTANT" {
					return "", refuse(t, loc(m), "IN takes a list of literals")
				}
			}
			not := map[bool]string{true: " NOT", false: ""}[t == "COMPARE_NOT_IN"]
			return "(" + args[0] + not + " IN (" + strings.Join(args[1:], ", ") + "))", nil
		}
		return "", refuse(t, loc(m), "operator %s is not allowed", t)
	case "BETWEEN":
		var parts [3]string
		for i, k := range []string{"input", "lower", "upper"} {
			s, err := v.expr(m[k])
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "(" + parts[0] + " BETWEEN " + parts[1] + " AND " + parts[2] + ")", nil
	case "CAST":
		child, err := v.expr(m["child"])
		if err != nil {
			return "", err
		}
		typ, err := castType(m["cast_type"], loc(m))
		if err != nil {
			return "", err
		}
		return "TRY_CAST(" + child + " AS " + typ + ")", nil
	case "CASE":
		var b strings.Builder
		b.WriteString("(CASE")
		checks, _ := m["case_checks"].([]any)
		for _, c := range checks {
			cm, _ := c.(map[string]any)
			w, err := v.expr(cm["when_expr"])
			if err != nil {
				return "", err
			}
			t, err := v.expr(cm["then_expr"])
			if err != nil {
				return "", err
			}
			b.WriteString(" WHEN " + w + " THEN " + t)
		}
		if e, ok := m["else_expr"]; ok {
			s, err := v.expr(e)
			if err != nil {
				return "", err
			}
			b.WriteString(" ELSE " + s)
		}
		b.WriteString(" END)")
		return b.String(), nil
	case "FUNCTION":
		name := fmt.Sprint(m["function_name"])
		if !slices.Contains(scalars, name) {
			return "", refuse(name, loc(m), "function %s is not allowed here", name)
		}
		if err := plainCall(m); err != nil {
			return "", err
		}
		args, err := list("children")
		if err != nil {
			return "", err
		}
		if m["is_operator"] == true {
			switch {
			case len(args) == 1 && (name == "-" || name == "+"):
				return "(" + name + args[0] + ")", nil
			case len(args) == 2 && name == "~~":
				return "(" + args[0] + " LIKE " + args[1] + ")", nil
			case len(args) == 2 && name == "!~~":
				return "(" + args[0] + " NOT LIKE " + args[1] + ")", nil
			case len(args) == 2 && name == "~~*":
				return "(" + args[0] + " ILIKE " + args[1] + ")", nil
			case len(args) == 2 && strings.Contains("+-*/%", name):
				return "(" + args[0] + " " + name + " " + args[1] + ")", nil
			}
			return "", refuse(name, loc(m), "operator %s with %d operands is not allowed", name, len(args))
		}
		if strings.ContainsAny(name, "~+-*/%!") {
			return "", refuse(name, loc(m), "operator %s is not allowed as a function", name)
		}
		return name + "(" + strings.Join(args, ", ") + ")", nil
	}
	return "", refuse(fmt.Sprint(m["class"]), loc(m), "%s is not allowed", construct(fmt.Sprint(m["class"])))
}

// constant prints a literal of the syntax tree, re-quoted by dx.
func constant(m map[string]any) (string, error) {
	val, _ := m["value"].(map[string]any)
	if val["is_null"] == true {
		return "NULL", nil
	}
	typ, _ := val["type"].(map[string]any)
	raw := val["value"]
	switch typ["id"] {
	case "VARCHAR":
		s, ok := raw.(string)
		if !ok {
			break
		}
		return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
	case "BOOLEAN":
		if b, ok := raw.(bool); ok {
			return strings.ToUpper(fmt.Sprint(b)), nil
		}
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER":
		n, ok := raw.(json.Number)
		if !ok {
			break
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			break
		}
		return string(n), nil
	case "DOUBLE", "FLOAT":
		n, ok := raw.(json.Number)
		if !ok {
			break
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			break
		}
		return strconv.FormatFloat(f, 'g', -1, 64) + "::DOUBLE", nil
	case "DECIMAL":
		n, ok := raw.(json.Number)
		info, _ := typ["type_info"].(map[string]any)
		width, _ := info["width"].(json.Number)
		scale, _ := info["scale"].(json.Number)
		w, werr := strconv.Atoi(string(width))
		sc, serr := strconv.Atoi(string(scale))
		v, verr := strconv.ParseInt(string(n), 10, 64)
		if !ok || werr != nil || serr != nil || verr != nil || w < 1 || w > 38 || sc < 0 || sc > w {
			break
		}
		digits := strconv.FormatInt(max(v, -v), 10)
		if len(digits) <= sc {
			digits = strings.Repeat("0", sc-len(digits)+1) + digits
		}
		text := digits[:len(digits)-sc] + "." + digits[len(digits)-sc:]
		if v < 0 {
			text = "-" + text
		}
		return fmt.Sprintf("CAST('%s' AS DECIMAL(%d,%d))", strings.TrimSuffix(text, "."), w, sc), nil
	}
	return "", refuse("literal", loc(m), "a literal of type %v is not allowed", typ["id"])
}

// castType prints a whitelisted CAST target type.
func castType(v any, at int) (string, error) {
	t, _ := v.(map[string]any)
	id := fmt.Sprint(t["id"])
	if slices.Contains(castTypes, id) {
		if _, extra := t["type_info"]; !extra {
			return id, nil
		}
	}
	if id == "DECIMAL" {
		info, _ := t["type_info"].(map[string]any)
		w, werr := strconv.Atoi(fmt.Sprint(info["width"]))
		sc, serr := strconv.Atoi(fmt.Sprint(info["scale"]))
		if werr == nil && serr == nil && w >= 1 && w <= 38 && sc >= 0 && sc <= w {
			return fmt.Sprintf("DECIMAL(%d,%d)", w, sc), nil
		}
	}
	return "", refuse("CAST", at, "a cast to %s is not allowed", id)
}

// numeric says whether an engine column type holds numbers.
func numeric(typ string) bool {
	t := strings.ToUpper(typ)
	for _, p := range []string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// quote quotes a column name as an SQL identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

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
		n, _ := val["value"].(json.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	}
	return 0, false
}

// constantFraction reads a numeric literal in [0, 1].
func constantFraction(m map[string]any) (float64, bool) {
	s, err := constant(m)
	if err != nil {
		return 0, false
	}
	s = strings.TrimSuffix(s, "::DOUBLE")
	if strings.HasPrefix(s, "CAST('") { // a decimal: CAST('0.5' AS DECIMAL(2,1))
		s = s[len("CAST('"):strings.Index(s, "' AS")]
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && f >= 0 && f <= 1
}

func loc(v any) int {
	m, _ := v.(map[string]any)
	n, _ := m["query_location"].(json.Number)
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil && i < 1<<40 {
		return int(i)
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
