package itemsapi

import (
	"context"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/items/expr"
)

// indexKeySchema is the secondary index's key, as a query names it: the
// partition key items.IndexAttr and the sort key id, both strings.
var indexKeySchema = expr.KeySchema{Partition: items.IndexAttr, PartitionType: "S", Sort: "id", SortType: "S"}

// tableKeySchema is the table's key: id, a string.
var tableKeySchema = expr.KeySchema{Partition: "id", PartitionType: "S"}

// pageLimit reads an optional Limit: 0 when absent (a page of up to 1 MB)
// or beyond any page's count.
func pageLimit(m map[string]jsontext.Value) (int, error) {
	v, ok := m["Limit"]
	if !ok {
		return 0, nil
	}
	if !positiveInteger(v) {
		return 0, items.Errorf(items.EINVALID, `"Limit" must be an integer of at least 1.`)
	}
	if len(v) > 9 {
		return 0, nil // more than a page can hold anyway
	}
	n, _ := strconv.Atoi(string(v))
	return n, nil
}

// selectMode reads Select: ALL_ATTRIBUTES (the default), COUNT,
// SPECIFIC_ATTRIBUTES (with a ProjectionExpression) or, on an index,
// ALL_PROJECTED_ATTRIBUTES; count reports COUNT.
func selectMode(m map[string]jsontext.Value, projection, index bool) (count bool, err error) {
	v, ok := m["Select"]
	if !ok {
		return false, nil
	}
	s := ""
	if v.Kind() == '"' {
		s = unquote(v)
	}
	switch s {
	case "COUNT":
		if projection {
			return false, items.Errorf(items.EINVALID, "Cannot specify the AttributesToGet when choosing to get only the Count")
		}
		return true, nil
	case "ALL_ATTRIBUTES":
		if projection {
			return false, items.Errorf(items.EINVALID, "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES")
		}
		return false, nil
	case "SPECIFIC_ATTRIBUTES":
		return false, nil
	case "ALL_PROJECTED_ATTRIBUTES":
		if !index {
			return false, items.Errorf(items.EINVALID, "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
		}
		return false, nil
	}
	return false, items.Errorf(items.EINVALID, "1 validation error detected: Value '%s' at 'select' failed to satisfy constraint: "+
		"Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]", clip(string(v)))
}

// scanBody renders a page read by a Scan or Query: the items the filter
// kept, projected, their Count, the ScannedCount of the items read, and
// LastEvaluatedKey (the key of the last item read when the page stopped
// at its limit or 1 MB; with an index's key for a query of the index).
func scanBody(p *items.Page, ex *expr.Expressions, count bool, index bool) ([]byte, error) {
	b := []byte(`{`)
	if !count {
		b = append(b, `"Items": [`...)
	}
	kept := 0
	var last *items.Item
	for _, it := range p.Items {
		last = it
		d := doc(it)
		if !ex.Filter.Match(d) {
			continue
		}
		kept++
		if count {
			continue
		}
		if kept > 1 {
			b = append(b, ", "...)
		}
		var err error
		if ex.Projection != nil {
			b, err = appendPy(b, ex.Projection.Apply(d))
		} else {
			b, err = appendPy(b, d)
		}
		if err != nil {
			return nil, err
		}
	}
	if !count {
		b = append(b, `], `...)
	}
	b = append(b, `"Count": `...)
	b = strconv.AppendInt(b, int64(kept), 10)
	b = append(b, `, "ScannedCount": `...)
	b = strconv.AppendInt(b, int64(len(p.Items)), 10)
	if p.Next != "" {
		b = append(b, `, "LastEvaluatedKey": {"id": `...)
		b = appendPyString(b, p.Next)
		if index && last != nil && last.ID == p.Next {
			b = append(b, `, "`+items.IndexAttr+`": `...)
			b = appendPyString(b, items.IndexValueOf(last.Attrs))
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// opsList is Scan: {"Limit": n, "ExclusiveStartKey": {"id": ...},
// "FilterExpression": ..., "ProjectionExpression": ..., "ConsistentRead":
// b, "Select": ...}, all optional. Like a Scan, a page holds at most
// Limit items read (none given: up to 1 MB of them), the filter keeps
// some of them (Count) of all it read (ScannedCount), and every item read
// is charged; LastEvaluatedKey is there when the page stopped at Limit or
// 1 MB.
func (h *Handler) opsList(ctx context.Context, tenant string, payload []byte) ([]byte, *opsRequest, error) {
	r, err := parseOps(payload, "list", expr.Scan, expr.Options{Key: keyAttrs},
		[]string{"Limit", "ExclusiveStartKey", "ConsistentRead", "FilterExpression", "ProjectionExpression", "Select"})
	if err != nil {
		return nil, nil, err
	}
	q := items.ScanQuery{}
	if q.Limit, err = pageLimit(r.m); err != nil {
		return nil, r, err
	}
	start, hasStart, err := opsKey(r.m, tenant, "ExclusiveStartKey", false)
	if err != nil {
		return nil, r, err
	}
	if hasStart {
		q.After = start.ID
	}
	if q.Consistent, err = consistent(r.m); err != nil {
		return nil, r, err
	}
	count, err := selectMode(r.m, r.ex.Projection != nil, false)
	if err != nil {
		return nil, r, err
	}
	page, err := items.Scan(ctx, h.store, tenant, q)
	if err != nil {
		return nil, r, err
	}
	body, err := scanBody(page, r.ex, count, false)
	return body, r, err
}

// opsQuery is Query: a KeyConditionExpression on the secondary index
// ("IndexName": "name-index": an equality on name, and perhaps a condition
// on id), or on the table (an equality on id), with the same
// FilterExpression, ProjectionExpression, Limit, ExclusiveStartKey and
// Select as a Scan, in ascending id order. An index is read eventually
// consistent only, as a global secondary index is.
func (h *Handler) opsQuery(ctx context.Context, tenant string, payload []byte) ([]byte, *opsRequest, error) {
	allowed := []string{"IndexName", "KeyConditionExpression", "FilterExpression", "ProjectionExpression", "Limit",
		"ExclusiveStartKey", "ConsistentRead", "ScanIndexForward", "Select"}
	m, err := members(payload, "query", append(append(allowed, exprMembers...), "ReturnConsumedCapacity")...)
	if err != nil {
		return nil, nil, err
	}
	index := false
	if v, ok := m["IndexName"]; ok {
		if v.Kind() != '"' || unquote(v) != items.IndexName {
			return nil, nil, items.Errorf(items.EINVALID, "The table does not have the specified index: %s", clip(unquote(v)))
		}
		index = true
	}
	schema := tableKeySchema
	if index {
		schema = indexKeySchema
	}
	r, err := parseOps(payload, "query", expr.Query, expr.Options{Key: keyAttrs, KeySchema: schema}, allowed)
	if err != nil {
		return nil, nil, err
	}
	if v, ok := r.m["ScanIndexForward"]; ok {
		if v.Kind() != 't' && v.Kind() != 'f' {
			return nil, r, items.Errorf(items.EINVALID, `"ScanIndexForward" must be true or false.`)
		}
		if v.Kind() == 'f' {
			return nil, r, items.Errorf(items.EINVALID, "This table reads its items in ascending id order only: ScanIndexForward false is not supported.")
		}
	}
	cons, err := consistent(r.m)
	if err != nil {
		return nil, r, err
	}
	if cons && index {
		return nil, r, items.Errorf(items.EINVALID, "Consistent reads are not supported on global secondary indexes")
	}
	limit, err := pageLimit(r.m)
	if err != nil {
		return nil, r, err
	}
	count, err := selectMode(r.m, r.ex.Projection != nil, index)
	if err != nil {
		return nil, r, err
	}
	kc := r.ex.KeyCondition
	if kc == nil {
		return nil, r, items.Errorf(items.EINVALID, "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	var value string
	if err := jsonString(kc.Value, &value); err != nil {
		return nil, r, err
	}
	if !index {
		// The table's key: one item at most.
		page := &items.Page{Items: []*items.Item{}}
		if items.ValidateID(value) == nil {
			it, err := h.store.Get(ctx, items.Key{Tenant: tenant, ID: value}, items.ReadOptions{Consistent: cons})
			switch {
			case err == nil:
				page.Items = append(page.Items, it)
			case items.ErrorCode(err) != items.ENOTFOUND:
				return nil, r, err
			}
		}
		body, err := scanBody(page, r.ex, count, false)
		return body, r, err
	}
	q := items.IndexQuery{Value: value, Limit: limit}
	if s := kc.Sort; s != nil {
		if q.From, q.To, err = idRange(s); err != nil {
			return nil, r, err
		}
	}
	if v, ok := r.m["ExclusiveStartKey"]; ok {
		km, err := members(v, "ExclusiveStartKey", "id", items.IndexAttr)
		if err != nil {
			return nil, r, err
		}
		idv, ok := km["id"]
		if !ok || idv.Kind() != '"' {
			return nil, r, items.Errorf(items.EINVALID, `The ExclusiveStartKey must be {"id": "<string>", "%s": "<string>"}.`, items.IndexAttr)
		}
		q.After = unquote(idv)
	}
	page, err := items.QueryIndex(ctx, h.store, tenant, q)
	if err != nil {
		return nil, r, err
	}
	body, err := scanBody(page, r.ex, count, true)
	return body, r, err
}

// jsonString reads a JSON string value.
func jsonString(v []byte, s *string) error {
	if len(v) == 0 || v[0] != '"' {
		return items.Errorf(items.EINVALID, "One or more parameter values were invalid: Condition parameter type does not match schema type")
	}
	*s = unquote(jsontext.Value(v))
	return nil
}

// idRange turns a sort key condition on id into the ids it reads, [from,
// to): ids are ASCII, so "\x00" just follows a string and "\x7f" is above
// every id character.
func idRange(s *expr.SortCondition) (from, to string, err error) {
	vals := make([]string, len(s.Values))
	for i, v := range s.Values {
		if err := jsonString(v, &vals[i]); err != nil {
			return "", "", err
		}
	}
	switch s.Op {
	case "=":
		return vals[0], vals[0] + "\x00", nil
	case "<":
		return "", vals[0], nil
	case "<=":
		return "", vals[0] + "\x00", nil
	case ">":
		return vals[0] + "\x00", "", nil
	case ">=":
		return vals[0], "", nil
	case "BETWEEN":
		return vals[0], vals[1] + "\x00", nil
	case "begins_with":
		return vals[0], vals[0] + "\x7f", nil
	}
	return "", "", items.Errorf(items.EINVALID, "Invalid operator used in KeyConditionExpression: %s", s.Op)
}
