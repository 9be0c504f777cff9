package evaluate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Format is the syntax of a rules file.
type Format string

// The supported rules file formats.
const (
	FormatYAML Format = "yaml"
	FormatJSON Format = "json"
)

// maxDepth bounds nesting in rules files; real files nest at most 6 deep.
const maxDepth = 32

type nodeKind int

const (
	nNull nodeKind = iota
	nMap
	nSeq
	nString
	nNumber
	nBool
)

func (k nodeKind) String() string {
	return [...]string{"null", "mapping", "list", "string", "number", "boolean"}[k]
}

// node is a format-neutral syntax tree with positions, built from YAML or JSON,
// so both formats share one decoder and report errors the same way.
type node struct {
	kind      nodeKind
	line, col int
	text      string  // nString, and the source text of nNumber/nBool
	num       float64 // nNumber
	b         bool    // nBool
	keys      []*node // nMap: nString key nodes, in order
	vals      []*node // nMap: values; nSeq: items
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// parseYAMLTree parses data as YAML into a node tree.
func parseYAMLTree(file string, data []byte) (*node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &RuleError{File: file, Msg: "file is empty"}
		}
		re := &RuleError{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			re.Line, _ = strconv.Atoi(m[1])
		}
		return nil, re
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &RuleError{File: file, Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) != 1 {
			return nil, &RuleError{File: file, Msg: "file is empty"}
		}
		root = root.Content[0]
	}
	return fromYAML(file, root, 0)
}

func fromYAML(file string, y *yaml.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &RuleError{File: file, Line: y.Line, Column: y.Column, Msg: "nested too deeply"}
	}
	n := &node{line: y.Line, col: y.Column}
	switch y.Kind {
	case yaml.AliasNode:
		return nil, &RuleError{File: file, Line: y.Line, Column: y.Column, Msg: "YAML aliases are not supported in rules files"}
	case yaml.MappingNode:
		n.kind = nMap
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Tag == "!!merge" {
				return nil, &RuleError{File: file, Line: k.Line, Column: k.Column, Msg: "YAML merge keys are not supported in rules files"}
			}
			if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!int" && k.Tag != "!!float" && k.Tag != "!!bool") {
				return nil, &RuleError{File: file, Line: k.Line, Column: k.Column, Msg: "mapping keys must be plain strings"}
			}
			cv, err := fromYAML(file, v, depth+1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, &node{kind: nString, text: k.Value, line: k.Line, col: k.Column})
			n.vals = append(n.vals, cv)
		}
	case yaml.SequenceNode:
		n.kind = nSeq
		for _, c := range y.Content {
			cv, err := fromYAML(file, c, depth+1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, cv)
		}
	case yaml.ScalarNode:
		n.text = y.Value
		switch y.Tag {
		case "!!null":
			n.kind = nNull
		case "!!bool":
			n.kind = nBool
			if err := y.Decode(&n.b); err != nil {
				return nil, &RuleError{File: file, Line: y.Line, Column: y.Column, Msg: "invalid boolean " + strconv.Quote(y.Value)}
			}
		case "!!int", "!!float":
			n.kind = nNumber
			if err := y.Decode(&n.num); err != nil {
				return nil, &RuleError{File: file, Line: y.Line, Column: y.Column, Msg: "invalid number " + strconv.Quote(y.Value)}
			}
		default:
			n.kind = nString
		}
	default:
		return nil, &RuleError{File: file, Line: y.Line, Column: y.Column, Msg: "unsupported YAML node"}
	}
	return n, nil
}

// jsonPos converts byte offsets into 1-based line and column numbers.
type jsonPos struct {
	data  []byte
	lines []int // offsets of line starts
}

func newJSONPos(data []byte) *jsonPos {
	p := &jsonPos{data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			p.lines = append(p.lines, i+1)
		}
	}
	return p
}

func (p *jsonPos) at(off int) (line, col int) {
	if off > len(p.data) {
		off = len(p.data)
	}
	lo, hi := 0, len(p.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if p.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, off - p.lines[lo] + 1
}

// tokenStart skips the whitespace and separators the decoder has not consumed
// yet, giving the offset of the next token.
func (p *jsonPos) tokenStart(off int) int {
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// parseJSONTree parses data as one JSON value into a node tree, rejecting
// duplicate keys and trailing data.
func parseJSONTree(file string, data []byte) (*node, error) {
	pos := newJSONPos(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	jp := &jsonParser{file: file, dec: dec, pos: pos}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &RuleError{File: file, Msg: "file is empty"}
	}
	n, err := jp.value(0)
	if err != nil {
		return nil, err
	}
	off := pos.tokenStart(int(dec.InputOffset()))
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		l, c := pos.at(off)
		return nil, &RuleError{File: file, Line: l, Column: c, Msg: "invalid JSON: data after the top-level value"}
	}
	return n, nil
}

type jsonParser struct {
	file string
	dec  *json.Decoder
	pos  *jsonPos
}

func (jp *jsonParser) fail(off int, msg string) *RuleError {
	l, c := jp.pos.at(off)
	return &RuleError{File: jp.file, Line: l, Column: c, Msg: msg}
}

func (jp *jsonParser) token() (json.Token, int, error) {
	off := jp.pos.tokenStart(int(jp.dec.InputOffset()))
	tok, err := jp.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, off, jp.fail(int(se.Offset), "invalid JSON: "+se.Error())
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, off, jp.fail(len(jp.pos.data), "invalid JSON: unexpected end of file")
		}
		return nil, off, jp.fail(off, "invalid JSON: "+err.Error())
	}
	return tok, off, nil
}

func (jp *jsonParser) value(depth int) (*node, error) {
	tok, off, err := jp.token()
	if err != nil {
		return nil, err
	}
	return jp.fromToken(tok, off, depth)
}

func (jp *jsonParser) fromToken(tok json.Token, off, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, jp.fail(off, "nested too deeply")
	}
	l, c := jp.pos.at(off)
	n := &node{line: l, col: c}
	switch t := tok.(type) {
	case nil:
		n.kind = nNull
	case bool:
		n.kind, n.b, n.text = nBool, t, strconv.FormatBool(t)
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, jp.fail(off, "invalid number "+string(t))
		}
		n.kind, n.num, n.text = nNumber, f, string(t)
	case string:
		n.kind, n.text = nString, t
	case json.Delim:
		switch t {
		case '{':
			n.kind = nMap
			seen := map[string]bool{}
			for {
				kt, koff, err := jp.token()
				if err != nil {
					return nil, err
				}
				if kt == json.Delim('}') {
					return n, nil
				}
				k, ok := kt.(string)
				if !ok {
					return nil, jp.fail(koff, "invalid JSON: object key is not a string")
				}
				if seen[k] {
					return nil, jp.fail(koff, fmt.Sprintf("duplicate key %q", k))
				}
				seen[k] = true
				kl, kc := jp.pos.at(koff)
				v, err := jp.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, &node{kind: nString, text: k, line: kl, col: kc})
				n.vals = append(n.vals, v)
			}
		case '[':
			n.kind = nSeq
			for {
				it, ioff, err := jp.token()
				if err != nil {
					return nil, err
				}
				if it == json.Delim(']') {
					return n, nil
				}
				v, err := jp.fromToken(it, ioff, depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
		default:
			return nil, jp.fail(off, "invalid JSON: unexpected "+t.String())
		}
	}
	return n, nil
}
