package items

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Attributes are an item's client attributes: a JSON object in canonical
// form, that is compact, with numbers normalized (see NormalizeNumber),
// no duplicate or empty names, valid UTF-8, at most MaxDepth levels deep,
// and without the server-managed names, with every object's members in
// name order (byte order), as DynamoDB keeps map members. The zero value is
// the empty object.
type Attributes []byte

// MaxDepth is the deepest nesting of arrays and objects an item may have,
// counting the item itself: DynamoDB's limit for nested attributes.
const MaxDepth = 32

// serverManaged are the top-level names the server owns; a client's
// values for them are ignored (the id is read separately).
var serverManaged = [...]string{"id", "version", "createdAt", "updatedAt"}

func isServerManaged(name string) bool {
	for _, s := range serverManaged {
		if name == s {
			return true
		}
	}
	return false
}

// members returns the object's members without the braces.
func (a Attributes) members() []byte {
	if len(a) < 2 {
		return nil
	}
	return a[1 : len(a)-1]
}

// String returns the canonical JSON text.
func (a Attributes) String() string {
	if len(a) == 0 {
		return "{}"
	}
	return string(a)
}

// Map decodes the attributes into Go values: map[string]any, []any,
// string, bool, nil, and json.Number for numbers (never float64).
func (a Attributes) Map() (map[string]any, error) {
	m := map[string]any{}
	if len(a) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(a))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// Body is a client's item body, parsed: its canonical attributes and the
// id it named, if any.
type Body struct {
	Attrs Attributes
	// ID is the body's "id" member; HasID tells whether there was one.
	ID    string
	HasID bool
}

// ParseBody parses a client's item body: a JSON object whose members are
// the item's attributes. Server-managed members are dropped; "id" must be a
// string when present and is returned separately, unvalidated. Errors are
// EINVALID *Errors that say what is wrong.
func ParseBody(data []byte) (*Body, error) {
	var b Body
	attrs, err := canonicalObject(data, func(name string, d *jsontext.Decoder) (bool, error) {
		if !isServerManaged(name) {
			return false, nil
		}
		v, err := d.ReadValue()
		if err != nil {
			return true, err
		}
		if name == "id" {
			if v.Kind() != '"' {
				return true, Errorf(EINVALID, `The "id" attribute must be a string.`)
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return true, err
			}
			b.ID, b.HasID = s, true
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	b.Attrs = attrs
	return &b, nil
}

// Canonicalize returns the canonical form of a JSON object of attributes,
// keeping server-managed names, for documents that are not item bodies
// (such as a merge patch).
func Canonicalize(data []byte) (Attributes, error) {
	return canonicalObject(data, nil)
}

// canonicalObject canonicalizes a top-level JSON object. skip, when not
// nil, is called for each top-level name before its value is read; when it
// returns true it has consumed the value and the member is left out.
func canonicalObject(data []byte, skip func(string, *jsontext.Decoder) (bool, error)) (Attributes, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Errorf(EINVALID, "The body is empty; it must be a JSON object.")
	}
	d := jsontext.NewDecoder(bytes.NewReader(data))
	if k := d.PeekKind(); k != '{' {
		if k == 0 {
			return nil, jsonError(d.SkipValue())
		}
		return nil, Errorf(EINVALID, "The body must be a JSON object.")
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, jsonError(err)
	}
	dst := make([]byte, 0, len(data))
	dst = append(dst, '{')
	first := true
	var ms spans
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, jsonError(err)
		}
		name := tok.String()
		if skip != nil {
			skipped, err := skip(name, d)
			if err != nil {
				return nil, jsonError(err)
			}
			if skipped {
				continue
			}
		}
		if name == "" {
			return nil, Errorf(EINVALID, "An attribute name must not be empty.")
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		start := len(dst)
		if dst, err = jsontext.AppendQuote(dst, name); err != nil {
			return nil, jsonError(err)
		}
		dst = append(dst, ':')
		if dst, err = canonicalValue(dst, d, 2); err != nil {
			return nil, jsonError(err)
		}
		ms = append(ms, span{name, start, len(dst)})
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, jsonError(err)
	}
	dst = ms.sort(dst, 1)
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, Errorf(EINVALID, "The body must hold one JSON value.")
	}
	return Attributes(append(dst, '}')), nil
}

// canonicalValue appends the canonical form of the next value of d.
func canonicalValue(dst []byte, d *jsontext.Decoder, depth int) ([]byte, error) {
	switch d.PeekKind() {
	case '{', '[':
		if depth > MaxDepth {
			return nil, Errorf(EINVALID, "An item may nest at most %d levels deep.", MaxDepth)
		}
		open, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		isObject := open.Kind() == '{'
		closing := jsontext.Kind('}')
		if !isObject {
			closing = ']'
		}
		dst = append(dst, byte(open.Kind()))
		from := len(dst)
		var ms spans
		for i := 0; d.PeekKind() != closing; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			start := len(dst)
			var name string
			if isObject {
				tok, err := d.ReadToken()
				if err != nil {
					return nil, err
				}
				name = tok.String()
				if name == "" {
					return nil, Errorf(EINVALID, "An attribute name must not be empty.")
				}
				if dst, err = jsontext.AppendQuote(dst, name); err != nil {
					return nil, err
				}
				dst = append(dst, ':')
			}
			if dst, err = canonicalValue(dst, d, depth+1); err != nil {
				return nil, err
			}
			if isObject {
				ms = append(ms, span{name, start, len(dst)})
			}
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		dst = ms.sort(dst, from)
		return append(dst, byte(closing)), nil
	case '0':
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		n, err := NormalizeNumber(tok.String())
		if err != nil {
			return nil, err
		}
		return append(dst, n...), nil
	case '"':
		v, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(v, '\\') < 0 {
			// Valid JSON text without escapes is already canonical.
			return append(dst, v...), nil
		}
		s, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return nil, err
		}
		return jsontext.AppendQuote(dst, s)
	default:
		v, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		return append(dst, v...), nil
	}
}

// span is where one member of an object being canonicalized sits in the
// output, and its name.
type span struct {
	name       string
	start, end int
}

// spans are an object's members in the order they were written.
type spans []span

// sort puts the members written at dst[from:] (separated by commas) in
// name order, the order DynamoDB returns map members in, so that every
// backend answers with the same bytes. Members already in order, the
// common case, cost one pass.
func (ms spans) sort(dst []byte, from int) []byte {
	if slices.IsSortedFunc(ms, func(a, b span) int { return strings.Compare(a.name, b.name) }) {
		return dst
	}
	old := slices.Clone(dst[from:])
	sorted := slices.Clone(ms)
	slices.SortFunc(sorted, func(a, b span) int { return strings.Compare(a.name, b.name) })
	dst = dst[:from]
	for i, m := range sorted {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, old[m.start-from:m.end-from]...)
	}
	return dst
}

// jsonError turns a decoding error into an EINVALID *Error that names the
// problem without echoing the input at length.
func jsonError(err error) error {
	if err == nil {
		return Errorf(EINVALID, "Malformed JSON.")
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Errorf(EINVALID, "The body is not complete JSON.")
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "jsontext: ")
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return Errorf(EINVALID, "Malformed JSON: %s.", msg)
}
