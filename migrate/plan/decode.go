package plan

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a plan file: where it is, which field it concerns,
// what is wrong and how to fix it.
type Error struct {
	// File is the plan file's path.
	File string
	// Line and Col are 1-based; 0 means unknown (a plan built in memory).
	Line, Col int
	// Field is the path of the field ("waves[1].hosts[0].size"); empty for
	// the file as a whole.
	Field string
	// Msg says what is wrong and how to fix it.
	Msg string
}

func (e *Error) Error() string {
	loc := e.File
	if loc == "" {
		loc = "plan"
	}
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d", e.Line)
		if e.Col > 0 {
			loc += fmt.Sprintf(":%d", e.Col)
		}
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return loc + ": " + e.Msg
}

// Errors are all the problems found in a plan file, in file order. Load,
// Parse and CheckHosts return them as an Errors value.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// maxErrors bounds the problems reported at once.
const maxErrors = 50

// Load reads and checks a plan file.
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the plan: %v", unwrapPath(err))}}
	}
	return Parse(path, b)
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

var yamlLineRe = regexp.MustCompile(`line (\d+): `)

// Parse parses and checks a plan held in memory; path names it in errors and
// anchors the relative hosts path. The error, if any, is an Errors value
// listing every problem found, each with its line and column.
func Parse(path string, data []byte) (*Plan, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Errors{{File: path, Msg: "the file is empty: start with version: 1 (the format is in SCHEMA.md, or draft one with shift plan --from inventory.json)"}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{syntaxError(path, err)}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, Errors{{File: path, Msg: "the file holds no YAML document: start with version: 1"}}
	}
	doc := root.Content[0]
	w := &walker{file: path, pos: map[string]Pos{}, comments: map[string]string{}}
	if doc.Kind != yaml.MappingNode {
		return nil, Errors{w.at(doc, "", "the plan must be a mapping of fields (version:, hosts:, target:, waves:, ...), not a %s", kindName(doc))}
	}
	if hosts := mapValue(doc, "hosts"); hosts != nil && hosts.Kind == yaml.SequenceNode && mapValue(doc, "waves") == nil {
		return nil, Errors{w.at(hosts, "hosts", "this is a hosts file (its hosts: lists servers), not a plan: give the plan file, which names its hosts file in hosts:")}
	}
	w.walk(doc, reflect.TypeOf(Plan{}), "")
	var p Plan
	if err := doc.Decode(&p); err != nil {
		// The walk removed every value of the wrong shape, so this is not
		// expected; report it rather than hide it.
		return nil, append(w.errs, syntaxError(path, err))
	}
	p.Path, p.pos = path, w.pos
	p.Comment = firstNonZero(root.HeadComment, doc.HeadComment)
	if p.Comment == "" && len(doc.Content) > 0 {
		p.Comment = doc.Content[0].HeadComment
	}
	for i := range p.Waves {
		wf := fmt.Sprintf("waves[%d]", i)
		p.Waves[i].Pos, p.Waves[i].Comment = w.pos[wf], w.comments[wf]
		for j := range p.Waves[i].Hosts {
			hf := fmt.Sprintf("%s.hosts[%d]", wf, j)
			p.Waves[i].Hosts[j].Pos, p.Waves[i].Hosts[j].Comment = w.pos[hf], w.comments[hf]
		}
	}
	if errs := merge(w.errs, p.check()); len(errs) > 0 {
		return nil, errs
	}
	return &p, nil
}

// merge adds the problems the checks found to those of the walk, leaving out
// the ones about a field the walk already reported (a removed value is
// missing to the checks), and sorts them by position.
func merge(shape, semantic Errors) Errors {
	out := append(Errors(nil), shape...)
	for _, e := range semantic {
		related := false
		for _, s := range shape {
			if within(e.Field, s.Field) || within(s.Field, e.Field) {
				related = true
				break
			}
		}
		if !related {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	if len(out) > maxErrors {
		out = out[:maxErrors]
	}
	return out
}

// within reports whether field is parent or a field below it.
func within(field, parent string) bool {
	return field == parent || (parent != "" && strings.HasPrefix(field, parent) && (field[len(parent)] == '.' || field[len(parent)] == '['))
}

func syntaxError(path string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	e := &Error{File: path}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &e.Line)
		msg = strings.Replace(msg, m[0], "", 1)
	}
	e.Msg = "YAML syntax: " + strings.ReplaceAll(msg, "\n", "; ") + " (check the indentation and that every list item starts with '- ')"
	return e
}

// walker checks the shape of the YAML tree against the Go types before
// anything is decoded: every key known, every value of the right kind, every
// scalar readable. It records where each field is, so that later checks can
// point at it.
type walker struct {
	file     string
	errs     Errors
	pos      map[string]Pos
	comments map[string]string
}

func (w *walker) at(n *yaml.Node, field, format string, args ...any) *Error {
	return &Error{File: w.file, Line: n.Line, Col: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (w *walker) fail(n *yaml.Node, field, format string, args ...any) {
	if len(w.errs) < maxErrors {
		w.errs = append(w.errs, w.at(n, field, format, args...))
	}
}

// bad reports a value of the wrong shape and empties it, so that decoding
// can go on and the rest of the plan be checked too.
func (w *walker) bad(n *yaml.Node, field, format string, args ...any) {
	w.fail(n, field, format, args...)
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

var (
	scalarType = reflect.TypeOf((*scalar)(nil)).Elem()
	mapForms   = map[reflect.Type]bool{reflect.TypeOf(Size{}): true, reflect.TypeOf(Window{}): true}
)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping (key: value)"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("value (%q)", n.Value)
	}
	return "alias"
}

func child(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	w.pos[field] = Pos{n.Line, n.Column}
	if n.HeadComment != "" {
		w.comments[field] = n.HeadComment
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(scalarType) {
		if n.Kind == yaml.ScalarNode {
			if err := reflect.New(t).Interface().(scalar).parse(n.Value); err != nil {
				w.bad(n, field, "%v", err)
			}
			return
		}
		if !mapForms[t] {
			w.bad(n, field, "want a single value, not a %s", kindName(n))
			return
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		w.walkStruct(n, t, field)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.bad(n, field, "want a list (- item per line, or [a, b]), not a %s", kindName(n))
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", field, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.bad(n, field, "want a mapping (key: value per line), not a %s", kindName(n))
			return
		}
		seen := map[string]int{}
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if w.dupKey(k, field, seen) {
				continue
			}
			w.walk(v, t.Elem(), fmt.Sprintf("%s[%s]", field, k.Value))
			kept = append(kept, k, v)
		}
		n.Content = kept
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.bad(n, field, "want a text value, not a %s", kindName(n))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			w.bad(n, field, "want a whole number, not a %s", kindName(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			w.bad(n, field, "want true or false, not a %s", kindName(n))
		}
	}
}

func (w *walker) dupKey(k *yaml.Node, field string, seen map[string]int) bool {
	if k.Kind != yaml.ScalarNode {
		w.fail(k, field, "a key must be a plain name, not a %s", kindName(k))
		return true
	}
	if line, ok := seen[k.Value]; ok {
		w.fail(k, child(field, k.Value), "set twice (first on line %d): keep one", line)
		return true
	}
	seen[k.Value] = k.Line
	return false
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind != yaml.MappingNode {
		w.bad(n, field, "want a mapping (key: value per line), not a %s", kindName(n))
		return
	}
	if field != "" && n.HeadComment == "" && len(n.Content) > 0 && n.Content[0].HeadComment != "" {
		w.comments[field] = n.Content[0].HeadComment
	}
	fields := yamlFields(t)
	seen := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if w.dupKey(k, field, seen) {
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			w.fail(k, child(field, k.Value), "unknown field%s", suggestField(k.Value, fields))
			continue
		}
		w.walk(v, ft, child(field, k.Value))
		kept = append(kept, k, v)
	}
	n.Content = kept
}

// yamlFields maps the YAML keys of a struct type to their field types,
// inline structs included.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func suggestField(got string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if s := closest(got, names); s != "" {
		return fmt.Sprintf(": did you mean %s?", s)
	}
	return ": the fields here are " + strings.Join(names, ", ")
}

// closest returns the candidate nearest to got (same letters ignoring case,
// or at most two edits away), or "".
func closest(got string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if strings.EqualFold(c, got) {
			return c
		}
		if d := editDistance(strings.ToLower(got), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
