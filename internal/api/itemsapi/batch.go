package itemsapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

// batchOp is one operation of a batch request.
type batchOp struct {
	op string
	// id is the operation's "id"; hasID tells whether it had one.
	id    string
	hasID bool
	// item is the raw "item" value, nil when absent.
	item []byte
}

// batchOps are the operations a batch may hold, and the single request
// each stands for.
var batchOps = map[string]bool{"create": true, "put": true, "patch": true, "delete": true, "get": true}

// decodeBatch decodes a batch body: {"operations":[...]} with 1 to
// MaxBatchOps operations {"op":..., "id":..., "item":...}. A body of any
// other shape is an invalid (400) error for the whole request; what is
// wrong with one operation's id or item is that operation's result.
func decodeBatch(data []byte) ([]batchOp, error) {
	bad := func(format string, args ...any) error {
		return items.Errorf(items.EINVALID, format, args...)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, bad(`The body is empty; it must be {"operations":[...]}.`)
	}
	d := jsontext.NewDecoder(bytes.NewReader(data))
	if err := expectKind(d, '{', `The body must be a JSON object {"operations":[...]}.`); err != nil {
		return nil, err
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, jsonErr(err)
	}
	var ops []batchOp
	seen := false
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, jsonErr(err)
		}
		if name := tok.String(); name != "operations" {
			return nil, bad(`Unknown member %q; a batch is {"operations":[...]}.`, clip(name))
		}
		seen = true
		if err := expectKind(d, '[', `"operations" must be an array.`); err != nil {
			return nil, err
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, jsonErr(err)
		}
		for d.PeekKind() != ']' {
			if len(ops) == items.MaxBatchOps {
				return nil, bad("A batch holds at most %d operations.", items.MaxBatchOps)
			}
			op, err := decodeBatchOp(d, len(ops))
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, jsonErr(err)
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, jsonErr(err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, bad("The body must hold one JSON value.")
	}
	if !seen || len(ops) == 0 {
		return nil, bad("A batch holds 1 to %d operations.", items.MaxBatchOps)
	}
	return ops, nil
}

// decodeBatchOp decodes the operation at index i.
func decodeBatchOp(d *jsontext.Decoder, i int) (batchOp, error) {
	var op batchOp
	bad := func(format string, args ...any) error {
		return items.Errorf(items.EINVALID, "Operation %d: %s", i, fmt.Sprintf(format, args...))
	}
	if err := expectKind(d, '{', fmt.Sprintf("Operation %d: an operation must be a JSON object.", i)); err != nil {
		return op, err
	}
	if _, err := d.ReadToken(); err != nil {
		return op, jsonErr(err)
	}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return op, jsonErr(err)
		}
		switch name := tok.String(); name {
		case "op", "id":
			if err := expectKind(d, '"', fmt.Sprintf("Operation %d: %q must be a string.", i, name)); err != nil {
				return op, err
			}
			v, err := d.ReadToken()
			if err != nil {
				return op, jsonErr(err)
			}
			if name == "op" {
				op.op = v.String()
			} else {
				op.id, op.hasID = v.String(), true
			}
		case "item":
			v, err := d.ReadValue()
			if err != nil {
				return op, jsonErr(err)
			}
			op.item = bytes.Clone(v)
		default:
			return op, bad("unknown member %q.", clip(name))
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return op, jsonErr(err)
	}
	if !batchOps[op.op] {
		return op, bad(`"op" must be "create", "put", "patch", "delete" or "get", not %q.`, clip(op.op))
	}
	return op, nil
}

// batch serves POST /items/_batch: the operations run in order, each as
// its single request would, and the answer lists each one's status and
// item or error.
func (h *Handler) batch(w http.ResponseWriter, r *http.Request) {
	if err := collectionPreconditions(r); err != nil {
		h.fail(w, r, err)
		return
	}
	buf, err := readBody(w, r, MaxBatchBody, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ops, err := decodeBatch(buf.b)
	buf.release()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := getOut()
	defer out.release()
	b := append(out.b, `{"results":[`...)
	for i, op := range ops {
		if i > 0 {
			b = append(b, ',')
		}
		status, it, err := h.batchOne(r, op)
		if err != nil {
			h.report(r, fmt.Errorf("batch operation %d (%s): %w", i, op.op, err))
			var eb []byte
			eb, status = rest.AppendError(nil, err)
			b = append(b, `{"status":`...)
			b = strconv.AppendInt(b, int64(status), 10)
			b = append(b, `,"error":`...)
			b = append(b, eb...)
			b = append(b, '}')
			continue
		}
		b = append(b, `{"status":`...)
		b = strconv.AppendInt(b, int64(status), 10)
		if it != nil {
			b = append(b, `,"item":`...)
			b = it.AppendJSON(b)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	out.b = b
	rest.WriteJSON(w, http.StatusOK, b)
}

// batchOne runs one operation and returns the status its single request
// would have had.
func (h *Handler) batchOne(r *http.Request, op batchOp) (int, *items.Item, error) {
	ctx := r.Context()
	tenant := items.TenantFrom(ctx)
	needItem := func() error {
		if op.item == nil {
			return items.Errorf(items.EINVALID, "A %s operation needs an item.", op.op)
		}
		return nil
	}
	if op.op == "create" {
		if err := needItem(); err != nil {
			return 0, nil, err
		}
		if op.hasID {
			if err := items.ValidateID(op.id); err != nil {
				return 0, nil, err
			}
		}
		it, err := h.create(ctx, tenant, op.item, op.id, "")
		return statusCreate, it, err
	}
	if !op.hasID {
		return 0, nil, items.Errorf(items.EINVALID, "A %s operation needs an id.", op.op)
	}
	if err := items.ValidateID(op.id); err != nil {
		return 0, nil, err
	}
	key := items.Key{Tenant: tenant, ID: op.id}
	switch op.op {
	case "get":
		it, err := h.get(ctx, key)
		return statusRead, it, err
	case "put":
		if err := needItem(); err != nil {
			return 0, nil, err
		}
		it, err := h.put(ctx, key, op.item, rest.Conditions{})
		return statusWrite, it, err
	case "patch":
		if err := needItem(); err != nil {
			return 0, nil, err
		}
		it, err := h.patch(ctx, key, op.item, rest.Conditions{})
		return statusWrite, it, err
	default: // "delete"; decodeBatch let no other through
		return statusDelete, nil, h.delete(ctx, key, rest.Conditions{})
	}
}

// jsonErr turns a JSON syntax error into the contract's invalid error,
// without echoing the input at length.
func jsonErr(err error) error {
	if err == nil || isEOF(err) {
		return items.Errorf(items.EINVALID, "The body is not complete JSON.")
	}
	var e *items.Error
	if errors.As(err, &e) {
		return e
	}
	msg := strings.TrimPrefix(err.Error(), "jsontext: ")
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return items.Errorf(items.EINVALID, "Malformed JSON: %s.", msg)
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// expectKind checks that the next value of d is of kind k: a syntax error
// is reported as such, another kind as msg.
func expectKind(d *jsontext.Decoder, k jsontext.Kind, msg string) error {
	switch d.PeekKind() {
	case k:
		return nil
	case 0:
		return jsonErr(d.SkipValue())
	}
	return items.Errorf(items.EINVALID, "%s", msg)
}
