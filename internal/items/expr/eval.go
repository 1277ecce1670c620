package expr

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// Evaluation follows DynamoDB's: a path to a missing attribute is a
// missing operand; an operand of a type an operator does not take makes a
// comparison false (and size missing), never an error; equality is of
// type and value, for lists and maps too.

// doc is an item being evaluated. A condition looks up several top-level
// attributes; doc finds them all in one pass over the item, the first
// time it is asked for one, rather than one pass each.
type doc struct {
	raw   []byte
	built bool
	top   []topMember
}

type topMember struct {
	name []byte // quoted
	val  []byte
}

// docs are reused: a filter evaluates a condition on every item a scan
// reads, and the index of an item's attributes is best not garbage.
var docs = sync.Pool{New: func() any { return &doc{top: make([]topMember, 0, 32)} }}

var emptyObject = []byte("{}")

// getDoc returns a doc for raw, an item (nil or empty: an absent one).
func getDoc(raw []byte) *doc {
	if len(raw) == 0 {
		raw = emptyObject
	}
	d := docs.Get().(*doc)
	d.raw, d.built, d.top = raw, false, d.top[:0]
	return d
}

// putDoc returns d to the pool, keeping no reference to its item.
func putDoc(d *doc) {
	clear(d.top)
	d.raw, d.top = nil, d.top[:0]
	docs.Put(d)
}

// member returns the top-level attribute name, or nil.
func (d *doc) member(name string) []byte {
	if !d.built {
		d.built = true
		raw := d.raw
		for i := 1; len(raw) > 1 && raw[0] == '{' && i < len(raw) && raw[i] != '}'; {
			if raw[i] == ',' {
				i++
			}
			if i >= len(raw) || raw[i] != '"' {
				break
			}
			ne := skipString(raw, i)
			if ne < 0 || ne >= len(raw) || raw[ne] != ':' {
				break
			}
			ve := skipValue(raw, ne+1)
			if ve < 0 {
				break
			}
			d.top = append(d.top, topMember{raw[i:ne], raw[ne+1 : ve]})
			i = ve
		}
	}
	for _, m := range d.top {
		if nameIs(m.name, name) {
			return m.val
		}
	}
	return nil
}

// resolveDoc returns the value at path p in d, or nil.
func resolveDoc(d *doc, p bpath) []byte {
	if len(p) == 0 || p[0].kind != pMap || typeOf(d.raw) != vM {
		return nil
	}
	v := d.member(p[0].name)
	if v == nil {
		return nil
	}
	return resolve(v, p[1:])
}

// resolve returns the value at path p in doc, or nil.
func resolve(doc []byte, p bpath) []byte {
	cur := doc
	for _, e := range p {
		switch {
		case e.kind == pMap && typeOf(cur) == vM:
			cur = member(cur, e.name)
		case e.kind == pList && typeOf(cur) == vL:
			cur = elemAt(cur, e.index)
		default:
			return nil
		}
		if cur == nil {
			return nil
		}
	}
	return cur
}

// operand evaluates an operand of a condition: nil when missing.
func operand(n *bnode, doc *doc) []byte {
	switch n.kind {
	case nPath:
		return resolveDoc(doc, n.path)
	case nValue:
		return n.val
	case nCall: // size: the only function that is an operand in a condition
		if n.op == "size" {
			if sz, ok := sizeOf(operand(n.args[0], doc)); ok {
				return strconv.AppendInt(nil, int64(sz), 10)
			}
		}
	}
	return nil
}

// holds evaluates a condition on doc.
func holds(n *bnode, doc *doc) bool {
	switch n.kind {
	case nAnd:
		return holds(n.args[0], doc) && holds(n.args[1], doc)
	case nOr:
		return holds(n.args[0], doc) || holds(n.args[1], doc)
	case nNot:
		return !holds(n.args[0], doc)
	case nCompare:
		a, b := operand(n.args[0], doc), operand(n.args[1], doc)
		switch n.op {
		case "=":
			return equal(a, b)
		case "<>":
			return !equal(a, b)
		}
		if !ordered(a, b) {
			return false
		}
		c := compareOrdered(a, b)
		switch n.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	case nBetween:
		a, lo, hi := operand(n.args[0], doc), operand(n.args[1], doc), operand(n.args[2], doc)
		return ordered(a, lo) && ordered(a, hi) && compareOrdered(a, lo) >= 0 && compareOrdered(a, hi) <= 0
	case nIn:
		a := operand(n.args[0], doc)
		for _, x := range n.args[1:] {
			if equal(a, operand(x, doc)) {
				return true
			}
		}
		return false
	case nCall:
		return call(n, doc)
	}
	return false
}

// equal is DynamoDB's equality: both present, same type and value.
func equal(a, b []byte) bool { return a != nil && b != nil && bytes.Equal(a, b) }

// ordered reports whether a and b are present and of one ordered type.
func ordered(a, b []byte) bool {
	t := typeOf(a)
	return (t == vS || t == vN) && typeOf(b) == t
}

func call(n *bnode, doc *doc) bool {
	a := operand(n.args[0], doc)
	switch n.op {
	case "attribute_exists":
		return a != nil
	case "attribute_not_exists":
		return a == nil
	case "attribute_type":
		return a != nil && abbr[typeOf(a)] == unquote(n.args[1].val)
	case "begins_with":
		b := operand(n.args[1], doc)
		return typeOf(a) == vS && typeOf(b) == vS && bytes.HasPrefix(strBytes(a), strBytes(b))
	case "contains":
		b := operand(n.args[1], doc)
		if a == nil || b == nil {
			return false
		}
		switch typeOf(a) {
		case vS:
			return typeOf(b) == vS && bytes.Contains(strBytes(a), strBytes(b))
		case vL:
			found := false
			eachElem(a, func(_ int, e []byte) bool {
				found = bytes.Equal(e, b)
				return !found
			})
			return found
		}
	}
	return false
}

// project returns the parts of doc that the tree's paths name, nested as
// they are in doc, or nil when none is there. A list keeps the projected
// elements in their order, without gaps.
func project(t *ptree, doc []byte) []byte {
	switch typeOf(doc) {
	case vM:
		type part struct {
			name string
			val  []byte
		}
		var parts []part
		d := getDoc(doc)
		defer putDoc(d)
		for _, k := range t.kids {
			if k.el.kind != pMap {
				continue
			}
			v := d.member(k.el.name)
			if v != nil && k.sub != nil {
				v = project(k.sub, v)
			}
			if v != nil {
				parts = append(parts, part{k.el.name, v})
			}
		}
		if len(parts) == 0 {
			return nil
		}
		slices.SortFunc(parts, func(a, b part) int { return strings.Compare(a.name, b.name) })
		out := []byte{'{'}
		for i, p := range parts {
			if i > 0 {
				out = append(out, ',')
			}
			out, _ = jsontext.AppendQuote(out, p.name)
			out = append(out, ':')
			out = append(out, p.val...)
		}
		return append(out, '}')
	case vL:
		type part struct {
			index int
			val   []byte
		}
		var parts []part
		for _, k := range t.kids {
			if k.el.kind != pList {
				continue
			}
			v := elemAt(doc, k.el.index)
			if v != nil && k.sub != nil {
				v = project(k.sub, v)
			}
			if v != nil {
				parts = append(parts, part{k.el.index, v})
			}
		}
		if len(parts) == 0 {
			return nil
		}
		slices.SortFunc(parts, func(a, b part) int { return a.index - b.index })
		out := []byte{'['}
		for i, p := range parts {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, p.val...)
		}
		return append(out, ']')
	}
	return nil
}
