package itemsapi

import (
	"context"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/items/expr"
)

// The dispatcher's operations speak DynamoDB's expression language
// (package expr) over the item as a whole (its id, version, createdAt and
// updatedAt with the client's attributes): conditions, updates,
// projections, filters and key conditions, with expression attribute
// names and values, ReturnValues and ReturnConsumedCapacity, refused with
// DynamoDB's ValidationException messages. A write with a condition, or
// one that returns the old item, reads the item (strongly consistent),
// evaluates, and writes with the item's revision as the store's
// condition, starting over when another write came between, as PATCH
// does: atomic on every store.

// keyAttrs are the table's key attributes, as expressions see them.
var keyAttrs = []string{"id"}

// opsRequest is a payload's members and its compiled expressions.
type opsRequest struct {
	m  map[string]jsontext.Value
	ex *expr.Expressions
	// rv is ReturnValues (NONE when absent; hasRV says whether given).
	rv    expr.ReturnValues
	hasRV bool
	// capacity is ReturnConsumedCapacity: NONE, TOTAL or INDEXES.
	capacity string
}

// exprMembers are the payload members of expressions, which every
// operation that takes expressions allows.
var exprMembers = []string{"ExpressionAttributeNames", "ExpressionAttributeValues"}

// parseOps reads an operation's payload: its members (allowed, and
// ReturnConsumedCapacity), its expressions compiled for eop with opt, and
// ReturnValues when allowed. legacy names members that DynamoDB refuses
// beside expressions.
func parseOps(payload []byte, op string, eop expr.Op, opt expr.Options, allowed []string, legacy ...string) (*opsRequest, error) {
	all := append(append(append([]string(nil), allowed...), exprMembers...), "ReturnConsumedCapacity")
	m, err := members(payload, op, all...)
	if err != nil {
		return nil, err
	}
	r := &opsRequest{m: m, rv: expr.ReturnNone, capacity: "NONE"}
	if v, ok := m["ReturnConsumedCapacity"]; ok {
		s := ""
		if v.Kind() == '"' {
			s = unquote(v)
		}
		switch s {
		case "NONE", "TOTAL", "INDEXES":
			r.capacity = s
		default:
			return nil, items.Errorf(items.EINVALID, "1 validation error detected: Value '%s' at 'returnConsumedCapacity' failed to satisfy constraint: "+
				"Member must satisfy enum value set: [INDEXES, TOTAL, NONE]", clip(string(v)))
		}
	}
	if v, ok := m["ReturnValues"]; ok {
		if v.Kind() != '"' {
			return nil, items.Errorf(items.EINVALID, `"ReturnValues" must be a string.`)
		}
		if r.rv, err = expr.ParseReturnValues(eop, unquote(v)); err != nil {
			return nil, err
		}
		r.hasRV = true
	}
	req, err := expr.ParseRequest(payload)
	if err != nil {
		return nil, err
	}
	for _, l := range legacy {
		if _, ok := m[l]; ok {
			req.Legacy = append(req.Legacy, l)
		}
	}
	if r.ex, err = expr.Compile(eop, req, opt); err != nil {
		return nil, err
	}
	return r, nil
}

// doc is an item as expressions see it: its JSON, server-managed
// attributes included; nil for none.
func doc(it *items.Item) items.Attributes {
	if it == nil {
		return nil
	}
	return items.Attributes(it.AppendJSON(nil))
}

// getCurrent reads an item for a read-modify-write: nil when there is
// none.
func (h *Handler) getCurrent(ctx context.Context, key items.Key) (*items.Item, error) {
	cur, err := h.store.Get(ctx, key, items.ReadOptions{Consistent: true})
	if items.ErrorCode(err) == items.ENOTFOUND {
		return nil, nil
	}
	return cur, err
}

// writeOver writes attrs at key where cur was (nil: no item), as the
// store's conditional write: done is false when another write came
// between, and the caller starts over.
func (h *Handler) writeOver(ctx context.Context, key items.Key, cur *items.Item, attrs items.Attributes) (it *items.Item, done bool, err error) {
	if cur == nil {
		c, err := h.store.Create(ctx, key, attrs, nil)
		if items.ErrorCode(err) == items.ECONFLICT {
			return nil, false, nil
		}
		if err != nil {
			return nil, true, err
		}
		return c.Item, true, nil
	}
	it, err = h.store.Replace(ctx, key, attrs, items.Condition{IfRev: cur.Rev})
	if code := items.ErrorCode(err); code == items.EPRECONDITION || code == items.ENOTFOUND {
		return nil, false, nil
	}
	return it, true, err
}

// attributesBody is {"Attributes": item}, or {} without an item.
func attributesBody(it *items.Item) []byte {
	if it == nil {
		return []byte("{}")
	}
	b := append([]byte(nil), `{"Attributes": `...)
	b = appendPyItem(b, it)
	return append(b, '}')
}

// attributesDoc is {"Attributes": doc}, or {} without one.
func attributesDoc(d items.Attributes) ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	b := append([]byte(nil), `{"Attributes": `...)
	b, err := appendPy(b, d)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// opsCreate is PutItem: {"Item": {...}} stores the item, replacing one
// with the same id; a ConditionExpression must hold on the item there
// (none: an absent one), and ReturnValues ALL_OLD returns it.
func (h *Handler) opsCreate(ctx context.Context, tenant string, payload []byte) ([]byte, *opsRequest, error) {
	r, err := parseOps(payload, "create", expr.PutItem, expr.Options{Key: keyAttrs}, []string{"Item", "ConditionExpression", "ReturnValues"})
	if err != nil {
		return nil, nil, err
	}
	raw, ok := r.m["Item"]
	if !ok {
		return nil, r, items.Errorf(items.EINVALID, `The create payload needs an "Item".`)
	}
	b, err := items.ParseBody(raw)
	if err != nil {
		return nil, r, err
	}
	if !b.HasID {
		return nil, r, items.Errorf(items.EINVALID, `The Item needs an "id".`)
	}
	if err := items.ValidateID(b.ID); err != nil {
		return nil, r, err
	}
	key := items.Key{Tenant: tenant, ID: b.ID}
	if r.ex.Condition == nil && r.rv == expr.ReturnNone {
		// A plain put: no need to read the item first.
		for attempt := range h.writeAttempts {
			if err := backoff(ctx, attempt); err != nil {
				return nil, r, err
			}
			_, err := h.store.Create(ctx, key, b.Attrs, nil)
			if items.ErrorCode(err) != items.ECONFLICT {
				return emptyPayload, r, err
			}
			_, err = h.store.Replace(ctx, key, b.Attrs, items.Condition{})
			if items.ErrorCode(err) != items.ENOTFOUND {
				return emptyPayload, r, err
			}
			// Deleted between the two: create again.
		}
		return nil, r, errContention()
	}
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, r, err
		}
		cur, err := h.getCurrent(ctx, key)
		if err != nil {
			return nil, r, err
		}
		if err := r.ex.Condition.Check(doc(cur)); err != nil {
			return nil, r, err
		}
		if _, done, err := h.writeOver(ctx, key, cur, b.Attrs); !done {
			continue
		} else if err != nil {
			return nil, r, err
		}
		if r.rv == expr.ReturnAllOld {
			return attributesBody(cur), r, nil
		}
		return emptyPayload, r, nil
	}
	return nil, r, errContention()
}

// opsRead is GetItem: {"Key": {"id": ...}} answers {"Item": {...}}, or {}
// when there is no such item; a ProjectionExpression picks attributes.
func (h *Handler) opsRead(ctx context.Context, tenant string, payload []byte) ([]byte, *opsRequest, error) {
	r, err := parseOps(payload, "read", expr.GetItem, expr.Options{Key: keyAttrs}, []string{"Key", "ConsistentRead", "ProjectionExpression"})
	if err != nil {
		return nil, nil, err
	}
	key, _, err := opsKey(r.m, tenant, "Key", true)
	if err != nil {
		return nil, r, err
	}
	cons, err := consistent(r.m)
	if err != nil {
		return nil, r, err
	}
	it, err := h.store.Get(ctx, key, items.ReadOptions{Consistent: cons})
	if items.ErrorCode(err) == items.ENOTFOUND {
		return emptyPayload, r, nil
	}
	if err != nil {
		return nil, r, err
	}
	b := append([]byte(nil), `{"Item": `...)
	if r.ex.Projection != nil {
		if b, err = appendPy(b, r.ex.Projection.Apply(doc(it))); err != nil {
			return nil, r, err
		}
	} else {
		b = appendPyItem(b, it)
	}
	return append(b, '}'), r, nil
}

// opsUpdate is UpdateItem: an UpdateExpression (or the legacy
// AttributeUpdates) changes the item, or creates it when absent, if the
// ConditionExpression holds; ReturnValues says what it answers. Without
// ReturnValues and without an UpdateExpression (the legacy form), it
// answers {"Attributes": the new item}, as the dispatcher always has; with
// an UpdateExpression, {}, as DynamoDB.
func (h *Handler) opsUpdate(ctx context.Context, tenant string, payload []byte) ([]byte, *opsRequest, error) {
	r, err := parseOps(payload, "update", expr.UpdateItem, expr.Options{Key: keyAttrs},
		[]string{"Key", "AttributeUpdates", "UpdateExpression", "ConditionExpression", "ReturnValues"}, "AttributeUpdates")
	if err != nil {
		return nil, nil, err
	}
	key, _, err := opsKey(r.m, tenant, "Key", true)
	if err != nil {
		return nil, r, err
	}
	var ups []attrUpdate
	v, legacy := r.m["AttributeUpdates"]
	if legacy {
		if ups, err = decodeUpdates(v); err != nil {
			return nil, r, err
		}
	}
	if !r.hasRV && r.ex.Update == nil {
		r.rv = expr.ReturnAllNew // the dispatcher's answer before expressions
	}
	keyDoc := append(append([]byte(`{"id":`), strconv.Quote(key.ID)...), '}') // ids need no escaping
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, r, err
		}
		cur, err := h.getCurrent(ctx, key)
		if err != nil {
			return nil, r, err
		}
		old := doc(cur)
		if err := r.ex.Condition.Check(old); err != nil {
			return nil, r, err
		}
		var attrs items.Attributes
		var updated items.Attributes // UPDATED_OLD and UPDATED_NEW's
		switch {
		case legacy:
			var base items.Attributes
			if cur != nil {
				base = cur.Attrs
			}
			if attrs, err = applyUpdates(base, ups); err != nil {
				return nil, r, err
			}
		case r.ex.Update != nil:
			up, err := r.ex.Update.Apply(old, items.Attributes(keyDoc), r.rv)
			if err != nil {
				return nil, r, err
			}
			b, err := items.ParseBody(up.Item) // the client's attributes, within the item's limits
			if err != nil {
				return nil, r, err
			}
			attrs, updated = b.Attrs, up.Attributes
		case cur != nil:
			attrs = cur.Attrs
		}
		it, done, err := h.writeOver(ctx, key, cur, attrs)
		if !done {
			continue
		}
		if err != nil {
			return nil, r, err
		}
		switch r.rv {
		case expr.ReturnAllNew:
			return attributesBody(it), r, nil
		case expr.ReturnAllOld:
			return attributesBody(cur), r, nil
		case expr.ReturnUpdatedOld, expr.ReturnUpdatedNew:
			body, err := attributesDoc(updated)
			return body, r, err
		}
		return emptyPayload, r, nil
	}
	return nil, r, errContention()
}

// opsDelete is DeleteItem: {"Key": {"id": ...}}; deleting an absent item
// is not an error. A ConditionExpression must hold on the item, and
// ReturnValues ALL_OLD returns it.
func (h *Handler) opsDelete(ctx context.Context, tenant string, payload []byte) ([]byte, *opsRequest, error) {
	r, err := parseOps(payload, "delete", expr.DeleteItem, expr.Options{Key: keyAttrs}, []string{"Key", "ConditionExpression", "ReturnValues"})
	if err != nil {
		return nil, nil, err
	}
	key, _, err := opsKey(r.m, tenant, "Key", true)
	if err != nil {
		return nil, r, err
	}
	if r.ex.Condition == nil && r.rv == expr.ReturnNone {
		if err := h.store.Delete(ctx, key, items.Condition{}); err != nil && items.ErrorCode(err) != items.ENOTFOUND {
			return nil, r, err
		}
		return emptyPayload, r, nil
	}
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, r, err
		}
		cur, err := h.getCurrent(ctx, key)
		if err != nil {
			return nil, r, err
		}
		if err := r.ex.Condition.Check(doc(cur)); err != nil {
			return nil, r, err
		}
		if cur == nil {
			return emptyPayload, r, nil
		}
		err = h.store.Delete(ctx, key, items.Condition{IfRev: cur.Rev})
		if code := items.ErrorCode(err); code == items.EPRECONDITION || code == items.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, r, err
		}
		if r.rv == expr.ReturnAllOld {
			return attributesBody(cur), r, nil
		}
		return emptyPayload, r, nil
	}
	return nil, r, errContention()
}
