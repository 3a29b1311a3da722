// Package compute runs consumers' queries on data that never leaves (数据可用不可见):
// differentially private SQL in the BigQuery dialect, checked against a strict whitelist
// before anything runs. This file is the pre-lexer: DuckDB cannot parse the
// WITH DIFFERENTIAL_PRIVACY clause, so dx reads its OPTIONS and blanks it out, keeping
// every other character's position so DuckDB's error offsets still point into the
// consumer's text.
package compute

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dxexchange/dx"
)

// MaxQuery bounds a query's text.
const MaxQuery = 64 << 10

// token is one lexical token: its text and byte offset.
type token struct {
	text string
	pos  int
}

// lex splits SQL into significant tokens the way DuckDB's lexer does: '…' strings with
// ” escapes (E'…' too), $$…$$ and $tag$…$tag$ strings, "…" identifiers, -- and /* */
// comments (skipped), numbers, words and punctuation.
func lex(q string) ([]token, error) {
	var out []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case strings.HasPrefix(q[i:], "--"):
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at %d", i)
			}
			i += end + 4
		case c == '\'' || ((c == 'E' || c == 'e') && i+1 < len(q) && q[i+1] == '\''):
			start := i
			if c != '\'' {
				i++
			}
			i++
			for {
				if i >= len(q) {
					return nil, fmt.Errorf("unterminated string at %d", start)
				}
				if q[i] == '\'' {
					if i+1 < len(q) && q[i+1] == '\'' {
						i += 2
						continue
					}
					i++
					break
				}
				if q[i] == '\\' && c != '\'' { // E'…' strings have backslash escapes
					i++
				}
				i++
			}
			out = append(out, token{q[start:i], start})
		case c == '"':
			start := i
			i++
			for {
				if i >= len(q) {
					return nil, fmt.Errorf("unterminated identifier at %d", start)
				}
				if q[i] == '"' {
					if i+1 < len(q) && q[i+1] == '"' {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			out = append(out, token{q[start:i], start})
		case c == '$':
			start := i
			j := i + 1
			for j < len(q) && (q[j] == '_' || isWordByte(q[j])) {
				j++
			}
			if j < len(q) && q[j] == '$' { // $tag$ … $tag$
				tag := q[i : j+1]
				end := strings.Index(q[j+1:], tag)
				if end < 0 {
					return nil, fmt.Errorf("unterminated dollar-quoted string at %d", start)
				}
				i = j + 1 + end + len(tag)
				out = append(out, token{q[start:i], start})
			} else { // a parameter such as $1
				i = j
				out = append(out, token{q[start:i], start})
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			start := i // a number: digits, a fraction, an exponent
			for i < len(q) && (q[i] >= '0' && q[i] <= '9' || q[i] == '.') {
				i++
			}
			if i < len(q) && (q[i] == 'e' || q[i] == 'E') {
				j := i + 1
				if j < len(q) && (q[j] == '+' || q[j] == '-') {
					j++
				}
				if j < len(q) && q[j] >= '0' && q[j] <= '9' {
					for i = j; i < len(q) && q[i] >= '0' && q[i] <= '9'; i++ {
					}
				}
			}
			out = append(out, token{q[start:i], start})
		case isWordByte(c) || c >= 0x80:
			start := i
			for i < len(q) && (isWordByte(q[i]) || q[i] >= 0x80) {
				i++
			}
			out = append(out, token{q[start:i], start})
		default:
			out = append(out, token{q[i : i+1], i})
			i++
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Options are the WITH DIFFERENTIAL_PRIVACY OPTIONS(…) of a query, by lower-cased key.
type Options map[string]string

// PreLex checks that q starts with SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS (…), reads
// the options (key = signed number or bare identifier) and returns q with the clause
// replaced by spaces of the same length, for DuckDB's parser.
func PreLex(q string) (Options, string, error) {
	invalid := func(format string, args ...any) error {
		return &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "invalid-query"},
			Message: "查询无效 / invalid query: " + fmt.Sprintf(format, args...)}
	}
	if len(q) > MaxQuery {
		return nil, "", invalid("longer than %d bytes", MaxQuery)
	}
	if strings.IndexByte(q, 0) >= 0 {
		return nil, "", invalid("a NUL byte")
	}
	toks, err := lex(q)
	if err != nil {
		return nil, "", invalid("%v", err)
	}
	want := []string{"select", "with", "differential_privacy", "options", "("}
	if len(toks) < len(want) {
		return nil, "", invalid("must start with SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(…)")
	}
	for i, w := range want {
		if strings.ToLower(toks[i].text) != w {
			return nil, "", invalid("must start with SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(…), found %q at %d", toks[i].text, toks[i].pos)
		}
	}
	opts := Options{}
	i := len(want)
	for {
		if i >= len(toks) {
			return nil, "", invalid("OPTIONS( is not closed")
		}
		if toks[i].text == ")" {
			break
		}
		if len(opts) > 0 {
			if toks[i].text != "," {
				return nil, "", invalid("expected , or ) in OPTIONS at %d", toks[i].pos)
			}
			i++
		}
		if i+2 >= len(toks) || toks[i+1].text != "=" {
			return nil, "", invalid("OPTIONS takes key = value pairs")
		}
		key := strings.ToLower(toks[i].text)
		if !isIdent(key) {
			return nil, "", invalid("bad option name %q", toks[i].text)
		}
		i += 2
		val := toks[i].text
		if val == "-" || val == "+" { // a signed number
			if i+1 >= len(toks) {
				return nil, "", invalid("a sign without a number")
			}
			val += toks[i+1].text
			i++
		}
		if !isNumber(val) && !isIdent(strings.ToLower(val)) {
			return nil, "", invalid("option %s must be a number or a bare identifier, not %q", key, val)
		}
		if _, dup := opts[key]; dup {
			return nil, "", invalid("option %s given twice", key)
		}
		opts[key] = val
		i++
	}
	// blank from "WITH" to the closing ")"
	from, to := toks[1].pos, toks[i].pos+1
	blanked := q[:from] + strings.Repeat(" ", to-from) + q[to:]
	return opts, blanked, nil
}

func isIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := range len(s) {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && !strings.ContainsAny(s, "xXnN_") // no hex, Inf, NaN, underscores
}
