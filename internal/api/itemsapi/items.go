package itemsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
)

// Statuses of successful operations, shared by the endpoints and batch.
const (
	statusCreate = http.StatusCreated
	statusRead   = http.StatusOK
	statusWrite  = http.StatusOK
	statusDelete = http.StatusNoContent
)

// The item endpoints: each parses the request, calls the operation that
// batch shares, and writes the answer.

func (h *Handler) getItem(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	it, err := h.get(r.Context(), key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr["Cache-Control"] = h.cacheControl
	cond := rest.RequestConditions(r)
	switch cond.Evaluate(r.Method, true, it.Rev, true) {
	case rest.Failed:
		h.fail(w, r, errPrecondition())
		return
	case rest.NotModified:
		// 304 carries what a 200 would have for caches: ETag and
		// Cache-Control (RFC 9110, 15.4.5).
		hdr["Etag"] = []string{it.ETag()}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.writeItem(w, statusRead, it)
}

func (h *Handler) createItem(w http.ResponseWriter, r *http.Request) {
	idemKey, err := idempotencyKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := collectionPreconditions(r); err != nil {
		h.fail(w, r, err)
		return
	}
	buf, err := readBody(w, r, MaxItemBody, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer buf.release()
	it, err := h.create(r.Context(), items.TenantFrom(r.Context()), buf.b, "", idemKey)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A replay answers exactly as the first request was answered.
	w.Header()["Location"] = []string{"/items/" + it.ID}
	h.writeItem(w, statusCreate, it)
}

func (h *Handler) putItem(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	buf, err := readBody(w, r, MaxItemBody, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer buf.release()
	it, err := h.put(r.Context(), key, buf.b, rest.RequestConditions(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeItem(w, statusWrite, it)
}

func (h *Handler) patchItem(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	buf, err := readBody(w, r, MaxItemBody, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer buf.release()
	it, err := h.patch(r.Context(), key, buf.b, rest.RequestConditions(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeItem(w, statusWrite, it)
}

func (h *Handler) deleteItem(w http.ResponseWriter, r *http.Request) {
	key, err := pathKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.delete(r.Context(), key, rest.RequestConditions(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(statusDelete)
}

func (h *Handler) listItems(w http.ResponseWriter, r *http.Request) {
	q, err := listQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A page has no entity tag here (the gateway's Conditional gives
	// pages one, and evaluates their conditions itself).
	cond := rest.RequestConditions(r)
	switch cond.Evaluate(r.Method, true, "", false) {
	case rest.Failed:
		h.fail(w, r, errPrecondition())
		return
	case rest.NotModified:
		w.WriteHeader(http.StatusNotModified)
		return
	}
	page, err := h.store.List(r.Context(), items.TenantFrom(r.Context()), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := getOut()
	defer out.release()
	b := append(out.b, `{"items":[`...)
	for i, it := range page.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = it.AppendJSON(b)
	}
	b = append(b, ']')
	if page.Next != "" {
		b = append(b, `,"next":"`...)
		b = append(b, items.EncodeCursor(page.Next)...) // base64url: no escaping needed
		b = append(b, '"')
	}
	b = append(b, '}')
	out.b = b
	rest.WriteJSON(w, http.StatusOK, b)
}

// writeItem writes an item response with its ETag.
func (h *Handler) writeItem(w http.ResponseWriter, status int, it *items.Item) {
	out := getOut()
	defer out.release()
	out.b = it.AppendJSON(out.b)
	w.Header()["Etag"] = []string{it.ETag()}
	rest.WriteJSON(w, status, out.b)
}

// pathKey returns the key of the item the request's path names.
func pathKey(r *http.Request) (items.Key, error) {
	id := r.PathValue("id")
	if err := items.ValidateID(id); err != nil {
		return items.Key{}, err
	}
	return items.Key{Tenant: items.TenantFrom(r.Context()), ID: id}, nil
}

// listQuery parses GET /items's query: limit (1..MaxListLimit, default
// DefaultListLimit) and cursor (from a previous page's next; empty is the
// first page).
func listQuery(raw string) (items.ListQuery, error) {
	q := items.ListQuery{Limit: items.DefaultListLimit}
	if raw == "" {
		return q, nil
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, items.Errorf(items.EINVALID, "The query string is malformed.")
	}
	if vs, ok := vals["limit"]; ok {
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 1 || n > items.MaxListLimit || len(vs) > 1 {
			return q, items.Errorf(items.EINVALID, "The limit must be one integer from 1 to %d.", items.MaxListLimit)
		}
		q.Limit = n
	}
	if vs, ok := vals["cursor"]; ok {
		if len(vs) > 1 {
			return q, items.Errorf(items.EINVALID, "Only one cursor may be given.")
		}
		if vs[0] != "" {
			if q.After, err = items.DecodeCursor(vs[0]); err != nil {
				return q, err
			}
		}
	}
	return q, nil
}

// MaxIdempotencyKey is the longest Idempotency-Key.
const MaxIdempotencyKey = 255

// idempotencyKey returns the request's Idempotency-Key, "" when it has
// none; a key is 1 to 255 visible ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	vs := r.Header["Idempotency-Key"]
	if len(vs) == 0 {
		return "", nil
	}
	bad := items.Errorf(items.EINVALID, "An Idempotency-Key is one header of 1 to %d visible ASCII characters.", MaxIdempotencyKey)
	if len(vs) > 1 || len(vs[0]) == 0 || len(vs[0]) > MaxIdempotencyKey {
		return "", bad
	}
	for i := 0; i < len(vs[0]); i++ {
		if c := vs[0][i]; c < 0x21 || c > 0x7e {
			return "", bad
		}
	}
	return vs[0], nil
}

// The operations, shared by the endpoints and batch. Each returns the
// item as stored, or an error whose code decides the status.

// get reads one item.
func (h *Handler) get(ctx context.Context, key items.Key) (*items.Item, error) {
	return h.store.Get(ctx, key, items.ReadOptions{})
}

// create creates an item from a body. id, when not empty, is the id the
// request asks for apart from the body (a batch operation's "id"); a body
// "id" must then be the same. With an idempotency key, the body's hash
// (of its canonical form, so that formatting does not matter) is recorded
// with the item, and a retry gets the first answer.
func (h *Handler) create(ctx context.Context, tenant string, body []byte, id, idemKey string) (*items.Item, error) {
	b, err := items.ParseBody(body)
	if err != nil {
		return nil, err
	}
	switch {
	case id != "" && b.HasID && b.ID != id:
		return nil, items.Errorf(items.EINVALID, "The body's id %q is not the operation's id %q.", clip(b.ID), id)
	case id != "":
		b.ID, b.HasID = id, true
	}
	if b.HasID {
		if err := items.ValidateID(b.ID); err != nil {
			return nil, err
		}
	} else {
		b.ID = items.NewID()
	}
	var idem *items.Idempotency
	if idemKey != "" {
		idem = &items.Idempotency{Key: idemKey, Hash: bodyHash(b)}
	}
	c, err := h.store.Create(ctx, items.Key{Tenant: tenant, ID: b.ID}, b.Attrs, idem)
	if err != nil {
		return nil, err
	}
	return c.Item, nil
}

// bodyHash identifies a create's request: its canonical attributes and the
// id it asked for, if any.
func bodyHash(b *items.Body) string {
	d := sha256.New()
	if b.HasID {
		d.Write([]byte{1})
		d.Write([]byte(b.ID))
	}
	d.Write([]byte{0})
	d.Write(b.Attrs)
	return hex.EncodeToString(d.Sum(nil))
}

// put replaces the client attributes of an existing item.
func (h *Handler) put(ctx context.Context, key items.Key, body []byte, cond rest.Conditions) (*items.Item, error) {
	b, err := items.ParseBody(body)
	if err != nil {
		return nil, err
	}
	if b.HasID && b.ID != key.ID {
		return nil, items.Errorf(items.EINVALID, "The body's id %q is not the path's id %q.", clip(b.ID), key.ID)
	}
	if rev, ok := storeCondition(cond); ok {
		return h.store.Replace(ctx, key, b.Attrs, items.Condition{IfRev: rev})
	}
	// Any other condition is evaluated against the current item, and the
	// write made conditional on that item's Rev, so that nothing slips in
	// between; when something did, the condition is evaluated again.
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		cur, err := h.current(ctx, key, cond)
		if err != nil {
			return nil, err
		}
		it, err := h.store.Replace(ctx, key, b.Attrs, items.Condition{IfRev: cur.Rev})
		if items.ErrorCode(err) == items.EPRECONDITION {
			continue // changed since read: evaluate the conditions again
		}
		return it, err
	}
	return nil, errContention()
}

// storeCondition returns the store condition that implements a write's
// preconditions by itself, checked atomically with the write: none for no
// header or If-Match "*" (the item must exist, which the store checks
// anyway, and a write to an absent item is 404 whatever its conditions),
// the Rev for If-Match with one non-empty strong tag. Every other form
// (a list, a weak tag, the empty tag, which matches nothing, any
// If-None-Match) is evaluated against the item read.
func storeCondition(cond rest.Conditions) (string, bool) {
	if cond.IfNoneMatch.Present {
		return "", false
	}
	if !cond.IfMatch.Present || cond.IfMatch.Any {
		return "", true
	}
	if tag, ok := cond.IfMatch.SingleStrong(); ok && tag != "" {
		return tag, true
	}
	return "", false
}

// current reads the item a conditional write is about, consistently, and
// evaluates the write's conditions against it (RFC 9110, 13.2.2): an
// absent item is 404 whatever the conditions, a condition that does not
// hold is 412.
func (h *Handler) current(ctx context.Context, key items.Key, cond rest.Conditions) (*items.Item, error) {
	cur, err := h.store.Get(ctx, key, items.ReadOptions{Consistent: true})
	if err != nil {
		return nil, err
	}
	if cond.Evaluate(http.MethodPut, true, cur.Rev, true) != rest.Proceed {
		return nil, errPrecondition()
	}
	return cur, nil
}

// collectionPreconditions evaluates the conditions of a POST to a
// collection (/items, /items/_batch, /ops): the collection always exists
// and has no entity tag, so If-Match "*" holds and a listed tag does not,
// and If-None-Match "*" fails while a listed tag holds.
func collectionPreconditions(r *http.Request) error {
	cond := rest.RequestConditions(r)
	if cond.Any() && cond.Evaluate(r.Method, true, "", false) != rest.Proceed {
		return errPrecondition()
	}
	return nil
}

// patch applies a JSON Merge Patch to an existing item: read, evaluate
// the conditions, merge, and write on condition that the item is still
// the one read. When another write comes between, the conditions are
// evaluated again and the patch applied again to the new item (up to
// writeAttempts times); a request with an If-Match of the old item's tag
// then fails with 412.
func (h *Handler) patch(ctx context.Context, key items.Key, body []byte, cond rest.Conditions) (*items.Item, error) {
	p, err := items.ParseBody(body) // errors before any store call
	if err != nil {
		return nil, err
	}
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		cur, err := h.current(ctx, key, cond)
		if err != nil {
			return nil, err
		}
		attrs, err := items.MergePatch(cur.Attrs, p.Attrs)
		if err != nil {
			return nil, err
		}
		it, err := h.store.Replace(ctx, key, attrs, items.Condition{IfRev: cur.Rev})
		if items.ErrorCode(err) == items.EPRECONDITION {
			continue
		}
		return it, err
	}
	return nil, errContention()
}

// delete deletes an existing item.
func (h *Handler) delete(ctx context.Context, key items.Key, cond rest.Conditions) error {
	if rev, ok := storeCondition(cond); ok {
		return h.store.Delete(ctx, key, items.Condition{IfRev: rev})
	}
	for attempt := range h.writeAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
		cur, err := h.current(ctx, key, cond)
		if err != nil {
			return err
		}
		err = h.store.Delete(ctx, key, items.Condition{IfRev: cur.Rev})
		if items.ErrorCode(err) == items.EPRECONDITION {
			continue
		}
		return err
	}
	return errContention()
}

func errPrecondition() error {
	return items.Errorf(items.EPRECONDITION, "The item has changed (If-Match does not match).")
}

// errContention is the answer to a write that lost every attempt to
// concurrent writers: retrying later is the remedy.
func errContention() error {
	return &items.Error{Code: items.EUNAVAILABLE, Message: "The item is changing too often to be written now; retry.", RetryAfter: 1}
}

// backoff pauses before a retry of a read-modify-write that lost a race
// (attempt 0 is the first try and does not wait): a random time up to
// 1 ms, doubling with each attempt up to 64 ms ("full jitter"), so that
// writers contending for one item spread out instead of colliding again
// in lockstep. It returns ctx's error if ctx ends first.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	ceiling := time.Millisecond << min(attempt-1, 6)
	t := time.NewTimer(rand.N(ceiling))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
