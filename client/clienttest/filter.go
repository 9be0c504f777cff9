package clienttest

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file parses the subset of MLflow's search filter language that
// pipelines use: comparisons joined by AND, on metrics (numbers), params and
// tags (quoted strings, =, !=, LIKE, ILIKE) and a few attributes. Anything
// else is rejected with INVALID_PARAMETER_VALUE rather than answered wrongly.

// clause is one comparison of a filter.
type clause struct {
	kind  string // "metric", "param", "tag", "attribute"
	key   string
	op    string // "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE"
	str   string
	raw   string // the value as written, quotes included
	num   float64
	isNum bool
}

// filterError is a rejected filter. invalidClause, when set, is a word
// (OR, ...) that MLflow rejects too, with its own message.
type filterError struct {
	msg           string
	invalidClause string
}

func (e *filterError) Error() string { return e.msg }

func unsupported(filter, why string) error {
	return &filterError{msg: fmt.Sprintf("Unsupported filter %q in the clienttest fake MLflow server: %s", filter, why)}
}

var kindPrefixes = map[string]string{
	"metric": "metric", "metrics": "metric",
	"param": "param", "params": "param", "parameter": "param", "parameters": "param",
	"tag": "tag", "tags": "tag",
	"attribute": "attribute", "attributes": "attribute", "attr": "attribute", "run": "attribute",
}

type token struct {
	kind string // "ident", "str", "num", "op", "word"
	text string
}

// lexFilter splits a filter into tokens.
func lexFilter(filter string) ([]token, error) {
	var toks []token
	s := filter
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case unicode.IsSpace(r):
			s = s[size:]
		case r == '\'' || r == '"':
			end := strings.IndexRune(s[1:], r)
			if end < 0 {
				return nil, unsupported(filter, "unterminated string")
			}
			toks = append(toks, token{"str", s[:end+2]})
			s = s[end+2:]
		case r == '!' || r == '<' || r == '>' || r == '=':
			op := string(r)
			if len(s) > 1 && s[1] == '=' {
				op += "="
			}
			if op == "!" {
				return nil, unsupported(filter, "unexpected '!'")
			}
			toks = append(toks, token{"op", op})
			s = s[len(op):]
		case r == '-' || r == '+' || r == '.' || (r >= '0' && r <= '9'):
			i := 1
			for i < len(s) && strings.IndexByte("0123456789.eE+-", s[i]) >= 0 {
				if (s[i] == '+' || s[i] == '-') && s[i-1] != 'e' && s[i-1] != 'E' {
					break
				}
				i++
			}
			toks = append(toks, token{"num", s[:i]})
			s = s[i:]
		case isWordRune(r):
			// An identifier: word characters and dots, with `quoted` or
			// "quoted" parts after a dot.
			var b strings.Builder
			for len(s) > 0 {
				r, size := utf8.DecodeRuneInString(s)
				if isWordRune(r) || r == '.' {
					b.WriteRune(r)
					s = s[size:]
					continue
				}
				if (r == '`' || r == '"') && strings.HasSuffix(b.String(), ".") {
					end := strings.IndexRune(s[1:], r)
					if end < 0 {
						return nil, unsupported(filter, "unterminated quoted identifier")
					}
					b.WriteString("\x00" + s[1:1+end])
					s = s[end+2:]
					continue
				}
				break
			}
			toks = append(toks, token{"ident", b.String()})
		default:
			return nil, unsupported(filter, fmt.Sprintf("unexpected character %q", r))
		}
	}
	return toks, nil
}

// parseFilter parses filter into clauses joined by AND.
func parseFilter(filter string) ([]clause, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	toks, err := lexFilter(filter)
	if err != nil {
		return nil, err
	}
	var out []clause
	for i := 0; i < len(toks); {
		if len(out) > 0 {
			if toks[i].kind != "ident" || !strings.EqualFold(toks[i].text, "and") {
				if toks[i].kind == "ident" && strings.EqualFold(toks[i].text, "or") {
					return nil, &filterError{msg: "Invalid clause(s) in filter string", invalidClause: toks[i].text}
				}
				return nil, unsupported(filter, "clauses must be joined by AND (OR, IN, NOT and parentheses are not supported)")
			}
			i++
		}
		if i+3 > len(toks) {
			return nil, unsupported(filter, "incomplete comparison")
		}
		lhs, opTok, rhs := toks[i], toks[i+1], toks[i+2]
		i += 3
		if lhs.kind != "ident" {
			return nil, unsupported(filter, "expected an identifier such as metrics.auc")
		}
		c := clause{}
		if key, quoted, ok := strings.Cut(lhs.text, ".\x00"); ok {
			c.kind, c.key = key, quoted
		} else if prefix, key, ok := strings.Cut(lhs.text, "."); ok {
			c.kind, c.key = prefix, key
		} else {
			c.kind, c.key = "attribute", lhs.text
		}
		kind, ok := kindPrefixes[strings.ToLower(c.kind)]
		if !ok {
			return nil, unsupported(filter, fmt.Sprintf("unknown entity type %q", c.kind))
		}
		c.kind = kind
		switch {
		case opTok.kind == "op":
			c.op = opTok.text
		case opTok.kind == "ident" && (strings.EqualFold(opTok.text, "like") || strings.EqualFold(opTok.text, "ilike")):
			c.op = strings.ToUpper(opTok.text)
		default:
			return nil, unsupported(filter, fmt.Sprintf("unsupported comparator %q", opTok.text))
		}
		c.raw = rhs.text
		switch rhs.kind {
		case "str":
			c.str = rhs.text[1 : len(rhs.text)-1]
		case "num":
			v, err := strconv.ParseFloat(rhs.text, 64)
			if err != nil {
				return nil, unsupported(filter, fmt.Sprintf("bad number %q", rhs.text))
			}
			c.num, c.isNum = v, true
		default:
			return nil, unsupported(filter, fmt.Sprintf("expected a quoted string or a number, got %q", rhs.text))
		}
		out = append(out, c)
	}
	return out, nil
}

var (
	numericOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}
	stringOps  = map[string]bool{"=": true, "!=": true, "LIKE": true, "ILIKE": true}
)

// checkClauses verifies that each clause uses types and comparators the
// subset supports. attrs maps supported attribute names to "num" or "str".
func checkClauses(filter string, cs []clause, attrs map[string]string, allowMetrics bool) error {
	for i := range cs {
		c := &cs[i]
		switch c.kind {
		case "metric":
			if !allowMetrics {
				return unsupported(filter, "metrics cannot be searched here")
			}
			if !c.isNum {
				return &filterError{msg: "Expected numeric value type for metric. Found " + c.raw}
			}
			if !numericOps[c.op] {
				return unsupported(filter, "metrics compare with =, !=, <, <=, >, >= and a number")
			}
		case "param", "tag":
			if c.isNum {
				kind := map[string]string{"param": "parameter", "tag": "tag"}[c.kind]
				return &filterError{msg: "Expected a quoted string value for " + kind + " (e.g. 'my-value'). Got value " + c.raw}
			}
			if !stringOps[c.op] {
				return unsupported(filter, "params and tags compare with =, !=, LIKE, ILIKE and a quoted string")
			}
		case "attribute":
			switch attrs[c.key] {
			case "num":
				if !c.isNum {
					return &filterError{msg: fmt.Sprintf("Expected numeric value type for numeric attribute: %s. Found %s", c.key, c.raw)}
				}
				if !numericOps[c.op] {
					return unsupported(filter, fmt.Sprintf("attribute %s compares with a number", c.key))
				}
			case "str":
				if c.isNum {
					return &filterError{msg: "Expected a quoted string value for attributes. Got value " + c.raw}
				}
				if !stringOps[c.op] {
					return unsupported(filter, fmt.Sprintf("attribute %s compares with =, !=, LIKE, ILIKE and a quoted string", c.key))
				}
			default:
				return unsupported(filter, fmt.Sprintf("attribute %q is not supported", c.key))
			}
		}
	}
	return nil
}

func compareNum(op string, a, b float64) bool {
	switch op {
	case "=":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

func compareStr(op, a, pattern string) bool {
	switch op {
	case "=":
		return a == pattern
	case "!=":
		return a != pattern
	case "LIKE":
		return likeRegexp(pattern, false).MatchString(a)
	case "ILIKE":
		return likeRegexp(pattern, true).MatchString(a)
	}
	return false
}

// likeRegexp converts a SQL LIKE pattern (% and _) to a regexp.
func likeRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	if fold {
		b.WriteString("(?i)")
	}
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString("(?s:.*)")
		case '_':
			b.WriteString("(?s:.)")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// matchValue evaluates one clause against a present value; absent values
// never match (the SQL store joins on the entity).
func (c *clause) matchNum(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	return compareNum(c.op, v, c.num)
}
