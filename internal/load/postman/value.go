package postman

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/buger/jsonparser"
)

// vkind is the type of a value read from a response.
type vkind uint8

const (
	vMissing vkind = iota // undefined
	vString
	vNumber
	vBool
	vNull
	vObject
	vArray
)

// value is a value read from a response: raw holds the text of a string
// (escaped when esc), a number, or an object's or array's JSON.
type value struct {
	kind vkind
	raw  []byte
	esc  bool
	num  float64
	b    bool
	// str is set when a transform produced a new string.
	str    string
	hasStr bool
	// fromVar: the value is a variable's text.
	fromVar bool
}

// literal returns v as a literal to compare another value with.
func (v value) literal() literal {
	switch v.kind {
	case vString:
		return literal{kind: litString, s: v.text()}
	case vNumber:
		return literal{kind: litNumber, n: v.num}
	case vBool:
		return literal{kind: litBool, b: v.b}
	case vNull:
		return literal{kind: litNull}
	case vObject, vArray:
		// Compared as their JSON text: equal when written the same way.
		return literal{kind: litString, s: string(v.raw)}
	}
	return literal{kind: litUndefined}
}

func (s *subject) read(res *Response, sc *Scope) value {
	var v value
	switch s.kind {
	case subVar:
		val, ok := sc.lookup(s.name, s.target, s.any)
		if !ok {
			return value{}
		}
		v = value{kind: vString, str: val, hasStr: true, fromVar: true}
	case subStatus:
		v = value{kind: vNumber, num: float64(res.Status)}
	case subStatusText:
		v = value{kind: vString, str: http.StatusText(res.Status), hasStr: true}
	case subTime:
		v = value{kind: vNumber, num: float64(res.Elapsed) / float64(time.Millisecond)}
	case subText:
		v = value{kind: vString, raw: res.Body}
	case subHeader:
		if res.Header == nil {
			return value{}
		}
		h := res.Header.Peek(s.header)
		if h == nil {
			return value{}
		}
		v = value{kind: vString, raw: h}
	case subBody:
		v = readJSON(res.Body, s.path)
	}
	if s.stringify {
		v = v.jsonText()
	}
	for _, x := range s.xf {
		v = v.transform(x)
	}
	if s.length {
		switch v.kind {
		case vString:
			return value{kind: vNumber, num: float64(len([]rune(v.text())))}
		case vArray:
			n := 0
			_, _ = jsonparser.ArrayEach(v.raw, func([]byte, jsonparser.ValueType, int, error) { n++ })
			return value{kind: vNumber, num: float64(n)}
		}
		return value{}
	}
	return v
}

func readJSON(body []byte, path []string) value {
	data, typ, _, err := jsonparser.Get(body, path...)
	if err != nil {
		return value{}
	}
	switch typ {
	case jsonparser.String:
		return value{kind: vString, raw: data, esc: bytes.IndexByte(data, '\\') >= 0}
	case jsonparser.Number:
		f, err := jsonparser.ParseFloat(data)
		if err != nil {
			return value{}
		}
		return value{kind: vNumber, num: f, raw: data}
	case jsonparser.Boolean:
		return value{kind: vBool, b: len(data) == 4}
	case jsonparser.Null:
		return value{kind: vNull}
	case jsonparser.Object:
		return value{kind: vObject, raw: data}
	case jsonparser.Array:
		return value{kind: vArray, raw: data}
	}
	return value{}
}

// text returns a string value's text (unescaped).
func (v value) text() string {
	if v.hasStr {
		return v.str
	}
	if v.esc {
		if u, err := jsonparser.Unescape(v.raw, nil); err == nil {
			return string(u)
		}
	}
	return string(v.raw)
}

// textBytes is text without a copy when none is needed.
func (v value) textBytes() []byte {
	switch {
	case v.hasStr:
		return []byte(v.str)
	case v.esc:
		if u, err := jsonparser.Unescape(v.raw, nil); err == nil {
			return u
		}
	case v.kind == vNumber && v.raw == nil:
		return strconv.AppendFloat(nil, v.num, 'g', -1, 64)
	case v.kind == vBool:
		return strconv.AppendBool(nil, v.b)
	case v.kind == vNull:
		return []byte("null")
	}
	return v.raw
}

// asVariable is the value as a variable holds it: a string's text, a
// number's or a boolean's JSON, an object's or an array's JSON.
func (v value) asVariable() string {
	switch v.kind {
	case vString:
		return v.text()
	case vNumber:
		if v.raw != nil {
			return string(v.raw)
		}
		return strconv.FormatFloat(v.num, 'f', -1, 64)
	case vBool:
		return strconv.FormatBool(v.b)
	case vNull:
		return "null"
	}
	return string(v.raw)
}

// jsonText is JSON.stringify(v).
func (v value) jsonText() value {
	switch v.kind {
	case vMissing:
		return v
	case vString:
		return value{kind: vString, str: strconv.Quote(v.text()), hasStr: true}
	}
	return value{kind: vString, str: v.asVariable(), hasStr: true}
}

func (v value) transform(x xform) value {
	if v.kind != vString {
		return value{}
	}
	t := v.text()
	switch x.op {
	case 's':
		parts := strings.Split(t, x.a)
		i := x.index
		if i < 0 {
			i = len(parts) - 1
		}
		if i >= len(parts) {
			return value{}
		}
		t = parts[i]
	case 't':
		t = strings.TrimSpace(t)
	case 'l':
		t = strings.ToLower(t)
	case 'u':
		t = strings.ToUpper(t)
	case 'r':
		t = strings.Replace(t, x.a, x.b, 1)
	}
	return value{kind: vString, str: t, hasStr: true}
}

func (v value) number() (float64, bool) {
	switch v.kind {
	case vNumber:
		return v.num, true
	case vString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.text()), 64)
		return f, err == nil
	}
	return 0, false
}

// equal compares v with a literal as === (strict) or == does.
func (v value) equal(l literal, strict bool) bool {
	switch l.kind {
	case litUndefined:
		return v.kind == vMissing || !strict && v.kind == vNull
	case litNull:
		return v.kind == vNull || !strict && v.kind == vMissing
	case litBool:
		if v.kind == vBool {
			return v.b == l.b
		}
		if !strict {
			x, ok := v.number()
			return ok && x == boolNumber(l.b)
		}
	case litNumber:
		if v.kind == vNumber {
			return v.num == l.n
		}
		if !strict && v.kind == vString {
			x, ok := v.number()
			return ok && x == l.n
		}
	case litString:
		if v.kind == vString {
			if v.hasStr {
				return v.str == l.s
			}
			if !v.esc {
				return string(v.raw) == l.s
			}
			return v.text() == l.s
		}
		if !strict && v.kind == vNumber {
			f, err := strconv.ParseFloat(strings.TrimSpace(l.s), 64)
			return err == nil && f == v.num
		}
	}
	return false
}

func boolNumber(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (v value) contains(l literal) bool {
	switch v.kind {
	case vString:
		return strings.Contains(v.text(), l.text())
	case vArray:
		found := false
		_, _ = jsonparser.ArrayEach(v.raw, func(data []byte, typ jsonparser.ValueType, _ int, _ error) {
			if found {
				return
			}
			var e value
			switch typ {
			case jsonparser.String:
				e = value{kind: vString, raw: data, esc: bytes.IndexByte(data, '\\') >= 0}
			case jsonparser.Number:
				f, _ := jsonparser.ParseFloat(data)
				e = value{kind: vNumber, num: f}
			case jsonparser.Boolean:
				e = value{kind: vBool, b: len(data) == 4}
			case jsonparser.Null:
				e = value{kind: vNull}
			default:
				return
			}
			found = e.equal(l, true)
		})
		return found
	case vObject:
		// chai's include on an object asks for a member; a string names one.
		if l.kind == litString {
			_, _, _, err := jsonparser.Get(v.raw, l.s)
			return err == nil
		}
	}
	return false
}

func (v value) isType(t string) bool {
	switch t {
	case "string":
		return v.kind == vString
	case "number":
		return v.kind == vNumber
	case "integer":
		return v.kind == vNumber && v.num == math.Trunc(v.num) && !math.IsInf(v.num, 0)
	case "boolean":
		return v.kind == vBool
	case "null":
		return v.kind == vNull
	case "undefined":
		return v.kind == vMissing
	case "object":
		return v.kind == vObject
	case "array":
		return v.kind == vArray
	}
	return false
}

func (v value) truthy() bool {
	switch v.kind {
	case vString:
		if v.hasStr {
			return v.str != ""
		}
		return len(v.raw) > 0
	case vNumber:
		return v.num != 0 && !math.IsNaN(v.num)
	case vBool:
		return v.b
	case vObject, vArray:
		return true
	}
	return false
}

func (v value) empty() bool {
	switch v.kind {
	case vString:
		return !v.truthy()
	case vArray, vObject:
		inner := bytes.TrimSpace(v.raw[1 : len(v.raw)-1])
		return len(inner) == 0
	}
	return false
}

// isJSON reports whether b is one JSON document (encoding/json pools its
// scanner, so this does not allocate).
func isJSON(b []byte) bool { return json.Valid(b) }
