package postman

import (
	"math/rand/v2"
	"strings"
	"time"
)

// A template is text with {{variables}}, compiled once: its segments are
// literal text or a variable's name (or a dynamic variable such as
// {{$guid}}). Rendering appends to a caller's buffer.
type template struct {
	source string
	segs   []segment
}

type segment struct {
	lit  string
	name string // a variable; "" for literal text
	dyn  dynFunc
}

// maxDepth bounds the resolution of variables whose values hold
// {{variables}} in turn, and so a loop of them.
const maxDepth = 20

// nextVar finds the next {{name}} in s at or after from, as Postman's
// /\{\{([^{}]*?)}}/ does: the name has no brace. It returns the span of
// the whole reference and the name.
func nextVar(s string, from int) (start, end int, name string, ok bool) {
	for i := from; i+3 < len(s); i++ {
		if s[i] != '{' || s[i+1] != '{' {
			continue
		}
		j := i + 2
		for j < len(s) && s[j] != '{' && s[j] != '}' {
			j++
		}
		if j+1 < len(s) && s[j] == '}' && s[j+1] == '}' && j > i+2 {
			return i, j + 2, s[i+2 : j], true
		}
	}
	return 0, 0, "", false
}

func compile(s string) template {
	t := template{source: s}
	pos := 0
	for {
		start, end, name, ok := nextVar(s, pos)
		if !ok {
			break
		}
		if start > pos {
			t.segs = append(t.segs, segment{lit: s[pos:start]})
		}
		seg := segment{name: name}
		if strings.HasPrefix(name, "$") {
			seg.dyn = dynamics[name]
		}
		t.segs = append(t.segs, seg)
		pos = end
	}
	if pos < len(s) {
		t.segs = append(t.segs, segment{lit: s[pos:]})
	}
	return t
}

// static reports whether the template has no variables.
func (t *template) static() bool {
	for _, s := range t.segs {
		if s.name != "" {
			return false
		}
	}
	return true
}

// names calls fn with every variable the template names, dynamic ones
// included.
func (t *template) names(fn func(string)) {
	for _, s := range t.segs {
		if s.name != "" {
			fn(s.name)
		}
	}
}

// vars is the state of rendering: the scope variables come from, the
// random source and clock of dynamic variables, and the count of
// references left unresolved.
type vars struct {
	scope      *Scope
	rnd        *rand.Rand
	now        func() time.Time
	unresolved int
	missing    string // the first unresolved name
}

// appendTemplate renders t onto dst.
func (v *vars) appendTemplate(dst []byte, t *template) []byte {
	for i := range t.segs {
		dst = v.appendSegment(dst, &t.segs[i], 0)
	}
	return dst
}

func (v *vars) appendSegment(dst []byte, s *segment, depth int) []byte {
	switch {
	case s.name == "":
		return append(dst, s.lit...)
	case s.dyn != nil:
		return s.dyn(v, dst)
	}
	val, ok := v.scope.Get(s.name)
	if !ok {
		// Postman leaves an unknown reference as it is.
		v.unresolved++
		if v.missing == "" {
			v.missing = s.name
		}
		dst = append(dst, "{{"...)
		dst = append(dst, s.name...)
		return append(dst, "}}"...)
	}
	return v.appendExpand(dst, val, depth+1)
}

// appendExpand renders a variable's value, which may hold references of
// its own, without compiling it.
func (v *vars) appendExpand(dst []byte, s string, depth int) []byte {
	if !strings.Contains(s, "{{") {
		return append(dst, s...)
	}
	if depth >= maxDepth {
		// A loop of references (or a chain too deep): left as it is, and
		// counted as unresolved.
		if _, _, name, ok := nextVar(s, 0); ok {
			v.unresolved++
			if v.missing == "" {
				v.missing = name
			}
		}
		return append(dst, s...)
	}
	pos := 0
	for {
		start, end, name, ok := nextVar(s, pos)
		if !ok {
			break
		}
		dst = append(dst, s[pos:start]...)
		seg := segment{name: name}
		if strings.HasPrefix(name, "$") {
			seg.dyn = dynamics[name]
		}
		dst = v.appendSegment(dst, &seg, depth)
		pos = end
	}
	return append(dst, s[pos:]...)
}

// expand renders s to a string (for values that are kept).
func (v *vars) expand(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return string(v.appendExpand(nil, s, 0))
}
