package itemsapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/api/rest"
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

// opsNames are the operations the original knew, and query, a Query of
// the table or its secondary index.
var opsNames = map[string]bool{"create": true, "read": true, "update": true, "delete": true, "list": true, "echo": true, "ping": true,
	"query": true}

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
	if err := collectionPreconditions(r); err != nil {
		h.fail(w, r, err)
		return
	}
	buf, err := readAnyBody(w, r, MaxItemBody)
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
	// application/json; rest.WriteJSON sets the same.
	rest.WriteJSON(w, res.Status, res.Body)
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
	body, status := rest.AppendError(nil, err)
	res := OpsResult{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		res.Header.Set("Retry-After", strconv.Itoa(rest.RetryAfter(err)))
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
	var r *opsRequest
	// The capacity the operation consumes, for ReturnConsumedCapacity.
	ctx, usage := items.NewUsageContext(ctx)
	switch ev.operation {
	case "ping":
		body = []byte(`"pong"`)
	case "echo":
		body, err = appendPy(nil, payload)
		if err != nil {
			err = jsonErr(err)
		}
	case "create":
		body, r, err = h.opsCreate(ctx, tenant, payload)
	case "read":
		body, r, err = h.opsRead(ctx, tenant, payload)
	case "update":
		body, r, err = h.opsUpdate(ctx, tenant, payload)
	case "delete":
		body, r, err = h.opsDelete(ctx, tenant, payload)
	case "list":
		body, r, err = h.opsList(ctx, tenant, payload)
	case "query":
		body, r, err = h.opsQuery(ctx, tenant, payload)
	}
	if err != nil {
		return opsError(err)
	}
	if r != nil && r.capacity != "NONE" {
		body = h.appendConsumed(body, r.capacity, usage.Capacity(), ev.operation == "query")
	}
	return opsOK(body)
}

// appendConsumed adds ConsumedCapacity to an answer, an object, as
// DynamoDB gives it for ReturnConsumedCapacity TOTAL, or INDEXES (the
// table's part, and the secondary index's when a query read it), its
// numbers as Python floats.
func (h *Handler) appendConsumed(body []byte, mode string, c items.Capacity, query bool) []byte {
	body = body[:len(body)-1]
	if len(body) > 1 {
		body = append(body, ", "...)
	}
	body = append(body, `"ConsumedCapacity": {"TableName": `...)
	body = appendPyString(body, h.table)
	body = append(body, `, "CapacityUnits": `...)
	body = appendPyFloat(body, c.Read+c.Write)
	if mode == "INDEXES" {
		body = append(body, `, "Table": {"CapacityUnits": `...)
		body = appendPyFloat(body, c.Read+c.Write-c.IndexRead)
		body = append(body, '}')
		if query && c.IndexRead > 0 {
			body = append(body, `, "GlobalSecondaryIndexes": {`...)
			body = appendPyString(body, items.IndexName)
			body = append(body, `: {"CapacityUnits": `...)
			body = appendPyFloat(body, c.IndexRead)
			body = append(body, "}}"...)
		}
	}
	return append(body, "}}"...)
}

// appendPyFloat appends v as Python's repr of a float: 1.0, 0.5.
func appendPyFloat(dst []byte, v float64) []byte {
	n := len(dst)
	dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
	if !bytes.ContainsRune(dst[n:], '.') {
		dst = append(dst, ".0"...)
	}
	return dst
}
