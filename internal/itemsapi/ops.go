package itemsapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/surgehq/surge/internal/items"
)

// The operation dispatcher of the original Lambda function (the AWS
// tutorial's DynamoDBManager): an event {"operation", "tableName",
// "payload"} names a DynamoDB-style operation. Its answers are the
// original's, byte for byte (see pyjson.go), and its semantics are
// DynamoDB's: create is a PutItem (it replaces an existing item), a read
// or delete of an absent item answers {}, and an update creates the item
// when absent. The payload is never passed to the store as parameters:
// each operation reads the few members it knows and refuses the rest.

// OpsResult is the dispatcher's answer as the original function returned
// it: a status code, headers and a body.
type OpsResult struct {
	Status int
	// Header holds the headers the original set: Content-Type and
	// Access-Control-Allow-Origin on success, none on an unrecognized
	// operation (API Gateway then sends Content-Type application/json);
	// and Content-Type (and Retry-After) on a contract error.
	Header http.Header
	Body   []byte
	// Err is the cause of a 5xx answer, for the caller to log.
	Err error
}

// AppendLambdaJSON appends the result as the original function's return
// value, {"statusCode": 200, "headers": {...}, "body": "..."}, formatted
// as its runtime serialized it. A Lambda entry point answers a direct
// invocation with it.
func (res *OpsResult) AppendLambdaJSON(dst []byte) []byte {
	dst = append(dst, `{"statusCode": `...)
	dst = strconv.AppendInt(dst, int64(res.Status), 10)
	if len(res.Header) > 0 {
		dst = append(dst, `, "headers": {`...)
		keys := make([]string, 0, len(res.Header))
		for k := range res.Header {
			keys = append(keys, k)
		}
		// The original's order first, then the rest sorted.
		rank := map[string]int{"Content-Type": 1, "Access-Control-Allow-Origin": 2}
		sort.Slice(keys, func(i, j int) bool {
			ri, rj := rank[keys[i]], rank[keys[j]]
			if ri == 0 {
				ri = 3
			}
			if rj == 0 {
				rj = 3
			}
			if ri != rj {
				return ri < rj
			}
			return keys[i] < keys[j]
		})
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendPyString(dst, k)
			dst = append(dst, ": "...)
			dst = appendPyString(dst, res.Header.Get(k))
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `, "body": `...)
	dst = appendPyString(dst, string(res.Body))
	return append(dst, '}')
}

// opsNames are the operations the original knew.
var opsNames = map[string]bool{"create": true, "read": true, "update": true, "delete": true, "list": true, "echo": true, "ping": true}

// opsEvent is a decoded event.
type opsEvent struct {
	operation    string
	hasOperation bool
	// opErr is set when "operation" is present but cannot name one.
	opErr     error
	tableName string
	hasTable  bool
	payload   []byte // raw; nil when absent
}

// decodeEvent decodes an event. With unwrap, an event that has a "body"
// (an API Gateway proxy event invoked directly) is replaced by the event
// that body holds, as the original did. Members it does not know are
// ignored, as the original ignored them.
func decodeEvent(data []byte, unwrap bool) (opsEvent, error) {
	var ev opsEvent
	if len(bytes.TrimSpace(data)) == 0 {
		return ev, items.Errorf(items.EINVALID, `The body is empty; it must be an event {"operation": ..., "payload": ...}.`)
	}
	d := jsontext.NewDecoder(bytes.NewReader(data))
	if err := expectKind(d, '{', `The event must be a JSON object {"operation": ..., "payload": ...}.`); err != nil {
		return ev, err
	}
	d.ReadToken()
	var body []byte
	hasBody := false
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return ev, jsonErr(err)
		}
		name := tok.String()
		v, err := d.ReadValue()
		if err != nil {
			return ev, jsonErr(err)
		}
		switch name {
		case "operation":
			ev.hasOperation = true
			ev.operation, ev.opErr = operationName(v)
		case "tableName":
			if v.Kind() != '"' {
				return ev, items.Errorf(items.EINVALID, `"tableName" must be a string.`)
			}
			ev.tableName, ev.hasTable = unquote(v), true
		case "payload":
			ev.payload = bytes.Clone(v)
		case "body":
			if unwrap {
				if v.Kind() != '"' {
					return ev, items.Errorf(items.EINVALID, `An event's "body" must be a string.`)
				}
				body, hasBody = []byte(unquote(v)), true
			}
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return ev, jsonErr(err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return ev, items.Errorf(items.EINVALID, "The body must hold one JSON value.")
	}
	if hasBody {
		return decodeEvent(body, false)
	}
	return ev, nil
}

// operationName returns the name the original would have looked up for an
// "operation" value: a string as it is, other scalars as Python's str()
// writes them.
func operationName(v jsontext.Value) (string, error) {
	switch v.Kind() {
	case '"':
		return unquote(v), nil
	case '0':
		return string(v), nil
	case 't':
		return "True", nil
	case 'f':
		return "False", nil
	case 'n':
		return "None", nil
	}
	return "", items.Errorf(items.EINVALID, `"operation" must be a string.`)
}

// unquote returns the string a valid JSON string value holds.
func unquote(v jsontext.Value) string {
	b, _ := jsontext.AppendUnquote(nil, v)
	return string(b)
}

// Dispatch answers a direct invocation of the original function with
// event, for tenant: {"operation", "tableName", "payload"}, or an API
// Gateway proxy event whose "body" holds one, unwrapped as the original
// did. POST /ops answers its body with the same code.
func (h *Handler) Dispatch(ctx context.Context, tenant string, event []byte) OpsResult {
	return h.dispatch(ctx, tenant, event, true)
}

// ops serves POST /ops and POST /DynamoDBManager.
func (h *Handler) ops(w http.ResponseWriter, r *http.Request) {
	buf, err := readBody(w, r, MaxItemBody, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res := h.dispatch(r.Context(), items.TenantFrom(r.Context()), buf.b, false)
	buf.release()
	if res.Err != nil {
		h.report(r, res.Err)
	}
	hdr := w.Header()
	for k, v := range res.Header {
		hdr[k] = v
	}
	// API Gateway answers a proxy response without a Content-Type as
	// application/json; writeJSON sets the same.
	writeJSON(w, res.Status, res.Body)
}

var (
	opsOKHeader  = http.Header{"Content-Type": {"application/json"}, "Access-Control-Allow-Origin": {"*"}}
	emptyPayload = []byte("{}")
)

func opsOK(body []byte) OpsResult {
	return OpsResult{Status: http.StatusOK, Header: opsOKHeader.Clone(), Body: body}
}

// opsError is the answer for a contract error.
func opsError(err error) OpsResult {
	body, status := AppendError(nil, err)
	res := OpsResult{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		res.Header.Set("Retry-After", strconv.Itoa(retryAfter(err)))
	}
	if status >= 500 {
		res.Err = err
	}
	return res
}

func (h *Handler) dispatch(ctx context.Context, tenant string, event []byte, unwrap bool) OpsResult {
	ev, err := decodeEvent(event, unwrap)
	if err != nil {
		return opsError(err)
	}
	if !ev.hasOperation {
		return opsError(items.Errorf(items.EINVALID, `The event has no "operation".`))
	}
	if ev.opErr != nil {
		return opsError(ev.opErr)
	}
	if !opsNames[ev.operation] {
		// Exactly the original's answer, and as it did, before looking at
		// anything else.
		body := append([]byte(`{"error": `), appendPyString(nil, `Unrecognized operation "`+ev.operation+`"`)...)
		return OpsResult{Status: http.StatusBadRequest, Header: http.Header{}, Body: append(body, '}')}
	}
	if ev.hasTable && ev.tableName != h.table {
		return opsError(items.Errorf(items.EINVALID, "The table %q is not this service's table.", clip(ev.tableName)))
	}
	payload := ev.payload
	if payload == nil {
		payload = emptyPayload // the original's event.get('payload', {})
	}
	var body []byte
	switch ev.operation {
	case "ping":
		body = []byte(`"pong"`)
	case "echo":
		body, err = appendPy(nil, payload)
		if err != nil {
			err = jsonErr(err)
		}
	case "create":
		body, err = h.opsCreate(ctx, tenant, payload)
	case "read":
		body, err = h.opsRead(ctx, tenant, payload)
	case "update":
		body, err = h.opsUpdate(ctx, tenant, payload)
	case "delete":
		body, err = h.opsDelete(ctx, tenant, payload)
	case "list":
		body, err = h.opsList(ctx, tenant, payload)
	}
	if err != nil {
		return opsError(err)
	}
	return opsOK(body)
}

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

// opsCreate is PutItem: {"Item": {...}} stores the item, replacing one
// with the same id.
func (h *Handler) opsCreate(ctx context.Context, tenant string, payload []byte) ([]byte, error) {
	m, err := members(payload, "create", "Item")
	if err != nil {
		return nil, err
	}
	raw, ok := m["Item"]
	if !ok {
		return nil, items.Errorf(items.EINVALID, `The create payload needs an "Item".`)
	}
	b, err := items.ParseBody(raw)
	if err != nil {
		return nil, err
	}
	if !b.HasID {
		return nil, items.Errorf(items.EINVALID, `The Item needs an "id".`)
	}
	if err := items.ValidateID(b.ID); err != nil {
		return nil, err
	}
	key := items.Key{Tenant: tenant, ID: b.ID}
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		_, err := h.store.Create(ctx, key, b.Attrs, nil)
		if items.ErrorCode(err) != items.ECONFLICT {
			return emptyPayload, err
		}
		_, err = h.store.Replace(ctx, key, b.Attrs, items.Condition{})
		if items.ErrorCode(err) != items.ENOTFOUND {
			return emptyPayload, err
		}
		// Deleted between the two: create again.
	}
	return nil, errContention()
}

// opsRead is GetItem: {"Key": {"id": ...}} answers {"Item": {...}}, or {}
// when there is no such item.
func (h *Handler) opsRead(ctx context.Context, tenant string, payload []byte) ([]byte, error) {
	m, err := members(payload, "read", "Key", "ConsistentRead")
	if err != nil {
		return nil, err
	}
	key, _, err := opsKey(m, tenant, "Key", true)
	if err != nil {
		return nil, err
	}
	cons, err := consistent(m)
	if err != nil {
		return nil, err
	}
	it, err := h.store.Get(ctx, key, items.ReadOptions{Consistent: cons})
	if items.ErrorCode(err) == items.ENOTFOUND {
		return emptyPayload, nil
	}
	if err != nil {
		return nil, err
	}
	b := append([]byte(nil), `{"Item": `...)
	b = appendPyItem(b, it)
	return append(b, '}'), nil
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

// opsUpdate is UpdateItem with AttributeUpdates: it changes the item, or
// creates it when absent, and answers {"Attributes": {...}}, the new item.
func (h *Handler) opsUpdate(ctx context.Context, tenant string, payload []byte) ([]byte, error) {
	m, err := members(payload, "update", "Key", "AttributeUpdates")
	if err != nil {
		return nil, err
	}
	key, _, err := opsKey(m, tenant, "Key", true)
	if err != nil {
		return nil, err
	}
	var ups []attrUpdate
	if v, ok := m["AttributeUpdates"]; ok {
		if ups, err = decodeUpdates(v); err != nil {
			return nil, err
		}
	}
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		var it *items.Item
		cur, err := h.store.Get(ctx, key, items.ReadOptions{Consistent: true})
		switch {
		case items.ErrorCode(err) == items.ENOTFOUND:
			attrs, err := applyUpdates(nil, ups)
			if err != nil {
				return nil, err
			}
			c, err := h.store.Create(ctx, key, attrs, nil)
			if items.ErrorCode(err) == items.ECONFLICT {
				continue // created meanwhile: update that one
			}
			if err != nil {
				return nil, err
			}
			it = c.Item
		case err != nil:
			return nil, err
		default:
			attrs, err := applyUpdates(cur.Attrs, ups)
			if err != nil {
				return nil, err
			}
			it, err = h.store.Replace(ctx, key, attrs, items.Condition{IfRev: cur.Rev})
			if code := items.ErrorCode(err); code == items.EPRECONDITION || code == items.ENOTFOUND {
				continue // changed or deleted meanwhile: start over
			}
			if err != nil {
				return nil, err
			}
		}
		b := append([]byte(nil), `{"Attributes": `...)
		b = appendPyItem(b, it)
		return append(b, '}'), nil
	}
	return nil, errContention()
}

// opsDelete is DeleteItem: {"Key": {"id": ...}}; deleting an absent item
// is not an error.
func (h *Handler) opsDelete(ctx context.Context, tenant string, payload []byte) ([]byte, error) {
	m, err := members(payload, "delete", "Key")
	if err != nil {
		return nil, err
	}
	key, _, err := opsKey(m, tenant, "Key", true)
	if err != nil {
		return nil, err
	}
	if err := h.store.Delete(ctx, key, items.Condition{}); err != nil && items.ErrorCode(err) != items.ENOTFOUND {
		return nil, err
	}
	return emptyPayload, nil
}

// opsList is Scan: {"Limit": n, "ExclusiveStartKey": {"id": ...}}, both
// optional. Like a Scan, a page holds at most Limit items (at most
// MaxListLimit; none given is MaxListLimit) and stops early at 1 MB;
// LastEvaluatedKey is there when more items remain.
func (h *Handler) opsList(ctx context.Context, tenant string, payload []byte) ([]byte, error) {
	m, err := members(payload, "list", "Limit", "ExclusiveStartKey", "ConsistentRead")
	if err != nil {
		return nil, err
	}
	q := items.ListQuery{Limit: items.MaxListLimit}
	if v, ok := m["Limit"]; ok {
		if !positiveInteger(v) {
			return nil, items.Errorf(items.EINVALID, `"Limit" must be an integer of at least 1.`)
		}
		if len(v) <= 4 { // else more than MaxListLimit anyway
			n, _ := strconv.Atoi(string(v))
			q.Limit = min(n, items.MaxListLimit)
		}
	}
	start, hasStart, err := opsKey(m, tenant, "ExclusiveStartKey", false)
	if err != nil {
		return nil, err
	}
	if hasStart {
		q.After = start.ID
	}
	if _, err := consistent(m); err != nil {
		return nil, err
	}
	page, err := h.store.List(ctx, tenant, q)
	if err != nil {
		return nil, err
	}
	b := append([]byte(nil), `{"Items": [`...)
	for i, it := range page.Items {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendPyItem(b, it)
	}
	b = append(b, `], "Count": `...)
	b = strconv.AppendInt(b, int64(len(page.Items)), 10)
	b = append(b, `, "ScannedCount": `...)
	b = strconv.AppendInt(b, int64(len(page.Items)), 10)
	if page.Next != "" {
		b = append(b, `, "LastEvaluatedKey": {"id": `...)
		b = appendPyString(b, page.Next)
		b = append(b, '}')
	}
	return append(b, '}'), nil
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
