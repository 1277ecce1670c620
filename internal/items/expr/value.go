package expr

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Values are JSON text in surge's canonical form (see items.Attributes):
// compact, numbers normalized, object members in name order, strings
// quoted one way. Two canonical values are equal exactly when their bytes
// are, which is DynamoDB's equality: numbers by value, maps whatever their
// order, lists element by element. A nil value is a missing attribute.
//
// The readers below never panic on malformed text: they treat it as
// missing.

// vtype is a value's DynamoDB type. JSON has no sets and no binary.
type vtype uint8

const (
	vNone vtype = iota
	vS
	vN
	vBool
	vNull
	vL
	vM
)

// abbr is the type's name in DynamoDB's messages about operands, longName
// in its messages about ADD and DELETE.
var (
	abbr     = [...]string{vNone: "", vS: "S", vN: "N", vBool: "BOOL", vNull: "NULL", vL: "L", vM: "M"}
	longName = [...]string{vNone: "", vS: "STRING", vN: "NUMBER", vBool: "BOOLEAN", vNull: "NULL", vL: "LIST", vM: "MAP"}
)

func typeOf(v []byte) vtype {
	if len(v) == 0 {
		return vNone
	}
	switch c := v[0]; {
	case c == '"':
		return vS
	case c == '{':
		return vM
	case c == '[':
		return vL
	case c == 't' || c == 'f':
		return vBool
	case c == 'n':
		return vNull
	case c == '-' || isDigit(c):
		return vN
	}
	return vNone
}

// skipString returns the index after the string that starts at v[i], or
// -1. It finds quotes with bytes.IndexByte and looks back for escapes,
// which is much faster than a byte loop on the long strings items hold.
func skipString(v []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(v[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0
		for p := j - 1; p > i && v[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// structural marks the bytes skipValue stops at inside a list or map.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// skipValue returns the index after the value that starts at v[i], or -1.
func skipValue(v []byte, i int) int {
	if i >= len(v) {
		return -1
	}
	switch v[i] {
	case '"':
		return skipString(v, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(v); j++ {
			c := v[j]
			if !structural[c] {
				continue
			}
			switch c {
			case '"':
				if j = skipString(v, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			default:
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(v) && v[j] != ',' && v[j] != '}' && v[j] != ']' && v[j] != ' ' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// eachMember calls fn with the quoted name and the value of each member
// of the object v, until fn returns false.
func eachMember(v []byte, fn func(name, val []byte) bool) {
	if len(v) < 2 || v[0] != '{' {
		return
	}
	for i := 1; i < len(v) && v[i] != '}'; {
		if v[i] == ',' {
			i++
		}
		if i >= len(v) || v[i] != '"' {
			return
		}
		ne := skipString(v, i)
		if ne < 0 || ne >= len(v) || v[ne] != ':' {
			return
		}
		ve := skipValue(v, ne+1)
		if ve < 0 || !fn(v[i:ne], v[ne+1:ve]) {
			return
		}
		i = ve
	}
}

// eachElem calls fn with each element of the list v, until fn returns false.
func eachElem(v []byte, fn func(i int, val []byte) bool) {
	if len(v) < 2 || v[0] != '[' {
		return
	}
	n := 0
	for i := 1; i < len(v) && v[i] != ']'; n++ {
		if v[i] == ',' {
			i++
		}
		e := skipValue(v, i)
		if e < 0 || !fn(n, v[i:e]) {
			return
		}
		i = e
	}
}

// unquote returns the string a quoted JSON string holds.
func unquote(q []byte) string {
	if len(q) >= 2 && bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1])
	}
	s, err := jsontext.AppendUnquote(nil, q)
	if err != nil {
		return ""
	}
	return string(s)
}

// nameIs reports whether the quoted name q is name.
func nameIs(q []byte, name string) bool {
	if len(q) >= 2 && bytes.IndexByte(q, '\\') < 0 {
		return string(q[1:len(q)-1]) == name // no allocation: the compiler compares in place
	}
	return unquote(q) == name
}

// member returns the value of the member name of the object v, or nil.
func member(v []byte, name string) []byte {
	if len(v) < 2 || v[0] != '{' {
		return nil
	}
	for i := 1; i < len(v) && v[i] != '}'; {
		if v[i] == ',' {
			i++
		}
		if i >= len(v) || v[i] != '"' {
			return nil
		}
		ne := skipString(v, i)
		if ne < 0 || ne >= len(v) || v[ne] != ':' {
			return nil
		}
		ve := skipValue(v, ne+1)
		if ve < 0 {
			return nil
		}
		if nameIs(v[i:ne], name) {
			return v[ne+1 : ve]
		}
		i = ve
	}
	return nil
}

// elemAt returns the element at index i of the list v, or nil.
func elemAt(v []byte, i int) []byte {
	var out []byte
	eachElem(v, func(n int, val []byte) bool {
		if n == i {
			out = val
			return false
		}
		return true
	})
	return out
}

// strBytes returns the UTF-8 bytes a string value holds.
func strBytes(v []byte) []byte {
	if len(v) >= 2 && bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1]
	}
	return []byte(unquote(v))
}

// compareOrdered compares two values of the same ordered type (S or N):
// strings by their UTF-8 bytes, numbers by value.
func compareOrdered(a, b []byte) int {
	if typeOf(a) == vN {
		return cmpNumbers(a, b)
	}
	return bytes.Compare(strBytes(a), strBytes(b))
}

// sizeOf returns what DynamoDB's size function returns for v: the length
// of a string in UTF-16 code units (as DynamoDB's Java counts it), the
// number of elements of a list or members of a map; ok is false for other
// types.
func sizeOf(v []byte) (n int, ok bool) {
	switch typeOf(v) {
	case vS:
		return utf16Len(unquote(v)), true
	case vL:
		eachElem(v, func(int, []byte) bool { n++; return true })
		return n, true
	case vM:
		eachMember(v, func(_, _ []byte) bool { n++; return true })
		return n, true
	}
	return 0, false
}

// attrSize returns a value's size as DynamoDB counts it against its
// limits: strings in UTF-8 bytes, numbers about one byte per two digits
// plus one, booleans and null one byte, lists and maps three bytes plus
// one per element and the elements (and, in maps, the names).
func attrSize(v []byte) int {
	switch typeOf(v) {
	case vS:
		return len(strBytes(v))
	case vN:
		d, _ := parseDecimal(string(v))
		n := 1 + (len(d.digits)+1)/2
		if d.neg {
			n++
		}
		return n
	case vL:
		n := 3
		eachElem(v, func(_ int, e []byte) bool { n += 1 + attrSize(e); return true })
		return n
	case vM:
		n := 3
		eachMember(v, func(q, e []byte) bool { n += 1 + len(strBytes(q)) + attrSize(e); return true })
		return n
	}
	return 1
}

// canonical returns the canonical form of a JSON value, as items keeps
// item values, or DynamoDB's message for a value it would refuse.
func canonical(raw []byte) ([]byte, string) {
	if v, ok := canonicalScalar(raw); ok {
		return v, ""
	}
	d := jsontext.NewDecoder(bytes.NewReader(raw))
	out, msg := canonicalNext(nil, d, 0)
	if msg != "" {
		return nil, msg
	}
	if _, err := d.ReadToken(); err == nil {
		return nil, "Malformed JSON"
	}
	return out, ""
}

// canonicalScalar is canonical's fast path for the values most requests
// carry: strings without escapes, numbers, true, false and null. ok is
// false for anything else, which canonical then decodes in full.
func canonicalScalar(raw []byte) ([]byte, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	switch c := raw[0]; {
	case c == '"':
		if len(raw) < 2 || raw[len(raw)-1] != '"' || !utf8.Valid(raw) {
			return nil, false
		}
		for _, c := range raw[1 : len(raw)-1] {
			if c < 0x20 || c == '"' || c == '\\' {
				return nil, false
			}
		}
		return raw, true
	case c == '-' || isDigit(c):
		d, ok := parseDecimal(string(raw))
		if !ok || d.check() != "" {
			return nil, false // canonical says why
		}
		return []byte(d.String()), true
	}
	switch string(raw) {
	case "true", "false", "null":
		return raw, true
	}
	return nil, false
}

// maxNesting is the deepest nesting of lists and maps DynamoDB stores.
const maxNesting = 32

const msgNesting = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"

func canonicalNext(dst []byte, d *jsontext.Decoder, depth int) ([]byte, string) {
	switch d.PeekKind() {
	case '{', '[':
		if depth >= maxNesting {
			return nil, msgNesting
		}
		open, err := d.ReadToken()
		if err != nil {
			return nil, "Malformed JSON"
		}
		if open.Kind() == '[' {
			dst = append(dst, '[')
			for i := 0; d.PeekKind() != ']'; i++ {
				if d.PeekKind() == 0 {
					return nil, "Malformed JSON"
				}
				if i > 0 {
					dst = append(dst, ',')
				}
				var msg string
				if dst, msg = canonicalNext(dst, d, depth+1); msg != "" {
					return nil, msg
				}
			}
			d.ReadToken()
			return append(dst, ']'), ""
		}
		type mem struct {
			name string
			val  []byte
		}
		var ms []mem
		for d.PeekKind() != '}' {
			tok, err := d.ReadToken()
			if err != nil || tok.Kind() != '"' {
				return nil, "Malformed JSON"
			}
			name := tok.String()
			if name == "" {
				return nil, "One or more parameter values were invalid: An AttributeValue may not contain an empty attribute name"
			}
			val, msg := canonicalNext(nil, d, depth+1)
			if msg != "" {
				return nil, msg
			}
			ms = append(ms, mem{name, val})
		}
		d.ReadToken()
		slices.SortFunc(ms, func(a, b mem) int { return strings.Compare(a.name, b.name) })
		dst = append(dst, '{')
		for i, m := range ms {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst, _ = jsontext.AppendQuote(dst, m.name)
			dst = append(dst, ':')
			dst = append(dst, m.val...)
		}
		return append(dst, '}'), ""
	case '0':
		tok, err := d.ReadToken()
		if err != nil {
			return nil, "Malformed JSON"
		}
		n, ok := parseDecimal(tok.String())
		if !ok {
			return nil, "The parameter cannot be converted to a numeric value: " + tok.String()
		}
		if msg := n.check(); msg != "" {
			return nil, msg
		}
		return append(dst, n.String()...), ""
	case '"':
		v, err := d.ReadValue()
		if err != nil {
			return nil, "Malformed JSON"
		}
		if bytes.IndexByte(v, '\\') < 0 {
			return append(dst, v...), ""
		}
		s, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return nil, "Malformed JSON"
		}
		dst, _ = jsontext.AppendQuote(dst, s)
		return dst, ""
	case 't', 'f', 'n':
		v, err := d.ReadValue()
		if err != nil {
			return nil, "Malformed JSON"
		}
		return append(dst, v...), ""
	}
	return nil, "Malformed JSON"
}
