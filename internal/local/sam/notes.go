package sam

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// notes collects what reading a template finds: errors (what
// CloudFormation would refuse too) and what surge does not run locally.
type notes struct {
	errs []string
	skip map[string]string // what is not run, by path, so that each is said once
}

func (n *notes) errorf(path, format string, args ...any) {
	n.errs = append(n.errs, path+": "+fmt.Sprintf(format, args...))
}

func (n *notes) unsupported(path, format string, args ...any) {
	if n.skip == nil {
		n.skip = map[string]string{}
	}
	if _, ok := n.skip[path]; !ok {
		n.skip[path] = fmt.Sprintf(format, args...)
	}
}

// err returns the errors found, joined, or nil.
func (n *notes) err() error {
	if len(n.errs) == 0 {
		return nil
	}
	sort.Strings(n.errs)
	return errors.New(strings.Join(n.errs, "; "))
}

// list returns what is not run locally, in path order.
func (n *notes) list() []Unsupported {
	out := make([]Unsupported, 0, len(n.skip))
	for _, p := range sortedKeys(n.skip) {
		out = append(out, Unsupported{Path: p, Why: n.skip[p]})
	}
	return out
}

// Unsupported is one thing a template uses that surge does not run
// locally, or runs otherwise than AWS: where it is, and what surge does.
type Unsupported struct {
	// Path is where in the template: Resources.NAME.Properties.PROP, or
	// Resources.NAME for a whole resource.
	Path string
	// Why says what surge does instead.
	Why string
}

func (u Unsupported) String() string { return u.Path + ": " + u.Why }

// props reads a resource's properties, noting every one that reading did
// not take (see taken).
type props struct {
	path  string
	m     map[string]any
	used  map[string]bool
	notes *notes
}

func newProps(path string, m map[string]any, n *notes) *props {
	return &props{path: path, m: m, used: map[string]bool{}, notes: n}
}

// get returns the property name, marking it taken.
func (p *props) get(name string) (any, bool) {
	v, ok := p.m[name]
	p.used[name] = true
	return v, ok
}

// skip marks properties that surge reads as having no local effect, with
// why; each is listed as not run locally when the template sets it.
func (p *props) skip(why string, names ...string) {
	for _, name := range names {
		if _, ok := p.m[name]; ok && !p.used[name] {
			p.used[name] = true
			p.notes.unsupported(p.path+"."+name, "%s", why)
		}
	}
}

// ignore marks properties that have no effect to mirror locally (a
// description, tags): they are not listed.
func (p *props) ignore(names ...string) {
	for _, name := range names {
		p.used[name] = true
	}
}

// rest lists every property not taken as not supported.
func (p *props) rest() {
	for _, k := range sortedKeys(p.m) {
		if !p.used[k] {
			p.notes.unsupported(p.path+"."+k, "not supported locally; ignored")
		}
	}
}

// str returns a string property ("" when absent), noting a value of
// another type.
func (p *props) str(name string) string {
	v, ok := p.get(name)
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case float64, bool:
		return scalarString(v)
	}
	p.notes.errorf(p.path+"."+name, "want a string, got %s", short(v))
	return ""
}

// num returns a number property, given as a number or as its text (a
// parameter's value), and whether it is set.
func (p *props) num(name string) (float64, bool) {
	v, ok := p.get(name)
	if !ok {
		return 0, false
	}
	return numberOf(v, p.path+"."+name, p.notes)
}

// boolean returns a boolean property (true or false, or their text).
func (p *props) boolean(name string) (bool, bool) {
	v, ok := p.get(name)
	if !ok {
		return false, false
	}
	return boolOf(v, p.path+"."+name, p.notes)
}

// obj returns an object property's properties, nil when absent.
func (p *props) obj(name string) *props {
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.notes.errorf(p.path+"."+name, "want an object, got %s", short(v))
		return nil
	}
	return newProps(p.path+"."+name, m, p.notes)
}

// list returns a list property.
func (p *props) list(name string) []any {
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		p.notes.errorf(p.path+"."+name, "want a list, got %s", short(v))
	}
	return l
}

func numberOf(v any, path string, n *notes) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		var f float64
		if _, err := fmt.Sscan(strings.TrimSpace(v), &f); err == nil {
			return f, true
		}
	}
	n.errorf(path, "want a number, got %s", short(v))
	return 0, false
}

func boolOf(v any, path string, n *notes) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	n.errorf(path, "want true or false, got %s", short(v))
	return false, false
}

// UnsupportedLines returns App.Unsupported as lines to print once at
// start, one per kind of thing: what differs only by the resource it is
// in is one line, the resources named ("Properties.Tracing of
// CreateItemFunction, GetItemFunction: X-Ray: ...").
func (a *App) UnsupportedLines() []string {
	type group struct {
		what, why string
		ids       []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, u := range a.Unsupported {
		what, id := u.Path, ""
		if rest, ok := strings.CutPrefix(u.Path, "Resources."); ok {
			id, what, _ = strings.Cut(rest, ".")
			if what == "" {
				what = "resource"
			}
		}
		k := what + "\x00" + u.Why
		g, ok := byKey[k]
		if !ok {
			g = &group{what: what, why: u.Why}
			byKey[k] = g
			groups = append(groups, g)
		}
		if id != "" {
			g.ids = append(g.ids, id)
		}
	}
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		line := g.what
		switch {
		case g.what == "resource":
			line = strings.Join(g.ids, ", ")
		case len(g.ids) > 0:
			line += " of " + strings.Join(g.ids, ", ")
		}
		out = append(out, line+": "+g.why)
	}
	return out
}
