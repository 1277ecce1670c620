package itemsapi

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
)

// members decodes a payload object into its members, refusing names not
// in allowed: a payload carries only what an operation understands.
func members(payload []byte, op string, allowed ...string) (map[string]jsontext.Value, error) {
	d := jsontext.NewDecoder(bytes.NewReader(payload))
	if err := expectKind(d, '{', fmt.Sprintf("The %s payload must be a JSON object.", op)); err != nil {
		return nil, err
	}
	d.ReadToken()
	m := map[string]jsontext.Value{}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, jsonErr(err)
		}
		name := tok.String()
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			return nil, items.Errorf(items.EINVALID, "The %s payload does not support %q.", op, clip(name))
		}
		v, err := d.ReadValue()
		if err != nil {
			return nil, jsonErr(err)
		}
		m[name] = v.Clone()
	}
	return m, nil
}

// opsKey reads a payload's Key, {"id": "..."}, into the tenant's key.
func opsKey(m map[string]jsontext.Value, tenant, member string, required bool) (items.Key, bool, error) {
	v, ok := m[member]
	if !ok {
		if required {
			return items.Key{}, false, items.Errorf(items.EINVALID, `The payload needs a %s {"id": "..."}.`, member)
		}
		return items.Key{}, false, nil
	}
	km, err := members(v, member, "id")
	if err != nil {
		return items.Key{}, false, err
	}
	idv, ok := km["id"]
	if !ok || idv.Kind() != '"' {
		return items.Key{}, false, items.Errorf(items.EINVALID, `The %s must be {"id": "<string>"}.`, member)
	}
	id := unquote(idv)
	if err := items.ValidateID(id); err != nil {
		return items.Key{}, false, err
	}
	return items.Key{Tenant: tenant, ID: id}, true, nil
}

// consistent reads an optional ConsistentRead member.
func consistent(m map[string]jsontext.Value) (bool, error) {
	v, ok := m["ConsistentRead"]
	if !ok {
		return false, nil
	}
	if k := v.Kind(); k != 't' && k != 'f' {
		return false, items.Errorf(items.EINVALID, `"ConsistentRead" must be true or false.`)
	}
	return v.Kind() == 't', nil
}

// appendPyItem appends an item as the original rendered it.
func appendPyItem(dst []byte, it *items.Item) []byte {
	out, err := appendPy(dst, it.AppendJSON(nil))
	if err != nil {
		// An item's JSON is made by AppendJSON from canonical attributes
		// and cannot fail to decode; keep the compact form if it ever did.
		return it.AppendJSON(dst)
	}
	return out
}

// attrUpdate is one AttributeUpdates entry.
type attrUpdate struct {
	name   string
	value  jsontext.Value // for PUT
	delete bool
}

// decodeUpdates decodes AttributeUpdates: {"name": {"Value": v, "Action":
// "PUT"|"DELETE"}}, Action PUT by default, as in DynamoDB.
func decodeUpdates(v jsontext.Value) ([]attrUpdate, error) {
	d := jsontext.NewDecoder(bytes.NewReader(v))
	if err := expectKind(d, '{', `"AttributeUpdates" must be a JSON object.`); err != nil {
		return nil, err
	}
	d.ReadToken()
	var ups []attrUpdate
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, jsonErr(err)
		}
		name := tok.String()
		raw, err := d.ReadValue()
		if err != nil {
			return nil, jsonErr(err)
		}
		switch name {
		case "":
			return nil, items.Errorf(items.EINVALID, "An attribute name must not be empty.")
		case "id":
			return nil, items.Errorf(items.EINVALID, "Cannot update attribute id. This attribute is part of the key.")
		}
		m, err := members(raw, "AttributeUpdates "+strconv.Quote(clip(name)), "Value", "Action")
		if err != nil {
			return nil, err
		}
		up := attrUpdate{name: name, value: m["Value"]}
		if a, ok := m["Action"]; ok {
			if a.Kind() != '"' {
				return nil, items.Errorf(items.EINVALID, `The Action of %q must be "PUT" or "DELETE".`, clip(name))
			}
			switch unquote(a) {
			case "PUT":
			case "DELETE":
				up.delete = true
			default:
				return nil, items.Errorf(items.EINVALID, `The Action of %q must be "PUT" or "DELETE".`, clip(name))
			}
		}
		if !up.delete && up.value == nil {
			return nil, items.Errorf(items.EINVALID, "Only DELETE action is allowed when no attribute value is specified (%q).", clip(name))
		}
		ups = append(ups, up)
	}
	return ups, nil
}

// applyUpdates applies updates to canonical attributes and returns the
// canonical result; server-managed names are ignored, as in any body.
func applyUpdates(attrs items.Attributes, ups []attrUpdate) (items.Attributes, error) {
	type member struct {
		name  string
		value []byte
	}
	var ms []member
	if len(attrs) > 0 {
		d := jsontext.NewDecoder(bytes.NewReader(attrs))
		d.ReadToken()
		for d.PeekKind() != '}' {
			tok, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String()
			v, err := d.ReadValue()
			if err != nil {
				return nil, err
			}
			ms = append(ms, member{name, bytes.Clone(v)})
		}
	}
	for _, up := range ups {
		at := -1
		for i := range ms {
			if ms[i].name == up.name {
				at = i
				break
			}
		}
		switch {
		case up.delete && at >= 0:
			ms = append(ms[:at], ms[at+1:]...)
		case up.delete:
		case at >= 0:
			ms[at].value = up.value
		default:
			ms = append(ms, member{up.name, up.value})
		}
	}
	obj := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			obj = append(obj, ',')
		}
		obj, _ = jsontext.AppendQuote(obj, m.name)
		obj = append(obj, ':')
		obj = append(obj, m.value...)
	}
	obj = append(obj, '}')
	b, err := items.ParseBody(obj) // canonical values, and the item's limits
	if err != nil {
		return nil, err
	}
	return b.Attrs, nil
}

// positiveInteger reports whether a JSON value is an integer of at least
// 1 written without fraction or exponent, as DynamoDB's Limit must be.
func positiveInteger(v jsontext.Value) bool {
	if len(v) == 0 || v[0] == '0' {
		return false // JSON has no leading zeros: "0" alone, which is not positive
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
