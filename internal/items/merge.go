package items

import (
	"bytes"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// MergePatch applies a JSON Merge Patch (RFC 7396) to an item's attributes
// and returns the result. The patch must be a JSON object (an item stays an
// object); its top-level server-managed members are ignored. The result is
// canonical, its members in name order. Errors
// are EINVALID *Errors.
func MergePatch(target Attributes, patch []byte) (Attributes, error) {
	p, err := ParseBody(patch)
	if err != nil {
		return nil, err
	}
	if len(target) == 0 {
		target = Attributes("{}")
	}
	out, err := mergeObjects(jsontext.Value(target), jsontext.Value(p.Attrs))
	if err != nil {
		return nil, Errorf(EINVALID, "The patch cannot be applied.")
	}
	return Attributes(out), nil
}

// member is one member of a JSON object being merged.
type member struct {
	name  string
	value jsontext.Value
}

// mergeObjects merges patch, a canonical object, into target, a canonical
// object, and returns the canonical result.
func mergeObjects(target, patch jsontext.Value) ([]byte, error) {
	tm, err := members(target)
	if err != nil {
		return nil, err
	}
	pm, err := members(patch)
	if err != nil {
		return nil, err
	}
	for _, p := range pm {
		at := -1
		for i := range tm {
			if tm[i].name == p.name {
				at = i
				break
			}
		}
		switch {
		case p.value.Kind() == 'n': // null removes
			if at >= 0 {
				tm = append(tm[:at], tm[at+1:]...)
			}
			continue
		case p.value.Kind() == '{':
			// An object patches the target's object, or an empty one, so
			// that nulls inside it are removed rather than stored.
			base := jsontext.Value("{}")
			if at >= 0 && tm[at].value.Kind() == '{' {
				base = tm[at].value
			}
			merged, err := mergeObjects(base, p.value)
			if err != nil {
				return nil, err
			}
			p.value = merged
		}
		if at >= 0 {
			tm[at].value = p.value
		} else {
			tm = append(tm, p)
		}
	}
	slices.SortFunc(tm, func(a, b member) int { return strings.Compare(a.name, b.name) })
	var b bytes.Buffer
	b.Grow(len(target) + len(patch))
	b.WriteByte('{')
	for i, m := range tm {
		if i > 0 {
			b.WriteByte(',')
		}
		q, _ := jsontext.AppendQuote(nil, m.name)
		b.Write(q)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// members splits a canonical object into its members, values raw.
func members(obj jsontext.Value) ([]member, error) {
	d := jsontext.NewDecoder(bytes.NewReader(obj))
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	var ms []member
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		name := tok.String() // before the next read voids tok
		v, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		ms = append(ms, member{name: name, value: v.Clone()})
	}
	return ms, nil
}
