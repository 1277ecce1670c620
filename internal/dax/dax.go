// Package dax is the local stand-in for a DAX cluster: one read cache that
// every function instance reads and writes through, over the network, as
// Lambda functions share a DAX cluster in front of DynamoDB.
//
// `surge serve --functions` with the read cache on serves its store (the
// backend wrapped by internal/itemcache) with a Server on a loopback
// listener, and each function instance opens a Client to it
// (SURGE_STORE=dax://HOST:PORT) instead of the backend. Writes through any
// instance then update the one item cache, as writes through DAX do, and a
// read by one instance is a hit for the next.
//
// The protocol is surge's own: POST /v1/{op} with a JSON body, answered
// with JSON; a store error travels as its code and message and comes out
// of the Client as the same *items.Error.
package dax

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/items"
)

// Limits of a message: a request carries at most one item's attributes, a
// response at most a page (1 MB of items, and one more).
const (
	maxRequestBytes  = 2 * items.MaxItemSize
	maxResponseBytes = 2*items.MaxPageBytes + 2*items.MaxItemSize
)

// request is the body of every operation; each reads its own fields.
type request struct {
	Tenant     string          `json:"tenant,omitempty"`
	ID         string          `json:"id,omitempty"`
	Attrs      json.RawMessage `json:"attrs,omitempty"`
	IdemKey    string          `json:"idemKey,omitempty"`
	IdemHash   string          `json:"idemHash,omitempty"`
	IfRev      string          `json:"ifRev,omitempty"`
	Consistent bool            `json:"consistent,omitempty"`
	After      string          `json:"after,omitempty"`
	Limit      int             `json:"limit,omitempty"`
}

// response is the answer to every operation.
type response struct {
	Item     *wireItem   `json:"item,omitempty"`
	Replayed bool        `json:"replayed,omitempty"`
	Items    []*wireItem `json:"items,omitempty"`
	Next     string      `json:"next,omitempty"`
	Error    *wireError  `json:"error,omitempty"`
}

type wireItem struct {
	Tenant    string          `json:"tenant"`
	ID        string          `json:"id"`
	Version   int64           `json:"version"`
	CreatedAt time.Time       `json:"createdAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	Rev       string          `json:"rev"`
	Attrs     json.RawMessage `json:"attrs"`
}

type wireError struct {
	Code       string `json:"code,omitempty"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retryAfter,omitempty"`
}

func toWire(it *items.Item) *wireItem {
	if it == nil {
		return nil
	}
	return &wireItem{Tenant: it.Tenant, ID: it.ID, Version: it.Version, CreatedAt: it.CreatedAt,
		UpdatedAt: it.UpdatedAt, Rev: it.Rev, Attrs: json.RawMessage(it.Attrs)}
}

func fromWire(w *wireItem) (*items.Item, error) {
	if w == nil {
		return nil, errors.New("dax: an answer lacks its item")
	}
	if len(w.Attrs) == 0 || string(w.Attrs) == "null" {
		w.Attrs = json.RawMessage("{}") // an item without attributes
	}
	attrs, err := items.Canonicalize(w.Attrs)
	if err != nil {
		// Not the store's error to pass on: the answer itself is bad.
		return nil, fmt.Errorf("dax: an item's attributes: %v", err)
	}
	return &items.Item{Key: items.Key{Tenant: w.Tenant, ID: w.ID}, Version: w.Version,
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(), Rev: w.Rev, Attrs: attrs}, nil
}

// encode writes v as JSON without HTML escaping, so that attributes travel
// byte for byte.
func encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// decodeRequest reads one operation's request, refusing anything but one
// JSON object of known fields. The store checks the values.
func decodeRequest(body []byte) (*request, error) {
	var req request
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

// decodeResponse reads an answer.
func decodeResponse(body []byte) (*response, error) {
	var resp response
	if err := decodeStrict(body, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not the expected JSON object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

// Server serves a Store to Clients. It never closes the store.
type Server struct {
	store items.Store
}

// NewServer returns a Server of st.
func NewServer(st items.Store) *Server { return &Server{store: st} }

const pathPrefix = "/v1/"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, pathPrefix) {
		http.Error(w, "want POST /v1/{get,create,replace,delete,list,ping}", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, "request body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	req, err := decodeRequest(body)
	if err != nil {
		http.Error(w, "request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := s.do(r.Context(), strings.TrimPrefix(r.URL.Path, pathPrefix), req)
	if errors.Is(err, errUnknownOp) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		// A store error keeps its code; any other error travels without
		// one, and stays an internal error at the Client, whose text a
		// client of the API never sees.
		we := &wireError{Message: err.Error()}
		var ie *items.Error
		if errors.As(err, &ie) {
			we = &wireError{Code: ie.Code, Message: ie.Message, RetryAfter: ie.RetryAfter}
		}
		resp = &response{Error: we}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = encode(w, resp)
}

var errUnknownOp = errors.New("no such operation")

func (s *Server) do(ctx context.Context, op string, req *request) (*response, error) {
	key := items.Key{Tenant: req.Tenant, ID: req.ID}
	if req.Attrs != nil && (op == "create" || op == "replace") {
		// What reaches the store is canonical, whatever a Client sent.
		attrs, err := items.Canonicalize(req.Attrs)
		if err != nil {
			return nil, err
		}
		req.Attrs = json.RawMessage(attrs)
	}
	switch op {
	case "get":
		it, err := s.store.Get(ctx, key, items.ReadOptions{Consistent: req.Consistent})
		if err != nil {
			return nil, err
		}
		return &response{Item: toWire(it)}, nil
	case "create":
		var idem *items.Idempotency
		if req.IdemKey != "" {
			idem = &items.Idempotency{Key: req.IdemKey, Hash: req.IdemHash}
		}
		c, err := s.store.Create(ctx, key, items.Attributes(req.Attrs), idem)
		if err != nil {
			return nil, err
		}
		return &response{Item: toWire(c.Item), Replayed: c.Replayed}, nil
	case "replace":
		it, err := s.store.Replace(ctx, key, items.Attributes(req.Attrs), items.Condition{IfRev: req.IfRev})
		if err != nil {
			return nil, err
		}
		return &response{Item: toWire(it)}, nil
	case "delete":
		return &response{}, s.store.Delete(ctx, key, items.Condition{IfRev: req.IfRev})
	case "list":
		p, err := s.store.List(ctx, req.Tenant, items.ListQuery{After: req.After, Limit: req.Limit})
		if err != nil {
			return nil, err
		}
		resp := &response{Items: make([]*wireItem, len(p.Items)), Next: p.Next}
		for i, it := range p.Items {
			resp.Items[i] = toWire(it)
		}
		return resp, nil
	case "ping":
		return &response{}, s.store.Ping(ctx)
	}
	return nil, fmt.Errorf("%w: %q", errUnknownOp, op)
}

// Client is an items.Store served by a Server at a base URL.
type Client struct {
	base   string
	hc     *http.Client
	closed atomic.Bool
}

// NewClient returns a Client of the Server at base ("http://127.0.0.1:PORT").
func NewClient(base string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &Client{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Transport: tr}}
}

// call sends one operation and returns its answer, or the store error it
// carries.
func (c *Client) call(ctx context.Context, op string, req *request) (*response, error) {
	if c.closed.Load() {
		return nil, items.Errorf(items.EUNAVAILABLE, "The store is closed.")
	}
	var buf bytes.Buffer
	if err := encode(&buf, req); err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+pathPrefix+op, &buf)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	res, err := c.hc.Do(hr)
	if err != nil {
		return nil, items.Errorf(items.EUNAVAILABLE, "The read cache does not answer.")
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return nil, items.Errorf(items.EUNAVAILABLE, "The read cache's answer was cut off.")
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("dax: %s: an answer over %d bytes", op, maxResponseBytes)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("dax: %s: %s: %s", op, res.Status, bytes.TrimSpace(body))
	}
	resp, err := decodeResponse(body)
	if err != nil {
		return nil, fmt.Errorf("dax: %s: %w", op, err)
	}
	if e := resp.Error; e != nil {
		if e.Code == "" {
			return nil, fmt.Errorf("dax: %s: %s", op, e.Message)
		}
		return nil, &items.Error{Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}
	}
	return resp, nil
}

// Get implements items.Store.
func (c *Client) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	resp, err := c.call(ctx, "get", &request{Tenant: key.Tenant, ID: key.ID, Consistent: opt.Consistent})
	if err != nil {
		return nil, err
	}
	return fromWire(resp.Item)
}

// Create implements items.Store.
func (c *Client) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	req := &request{Tenant: key.Tenant, ID: key.ID, Attrs: json.RawMessage(attrs)}
	if idem != nil {
		req.IdemKey, req.IdemHash = idem.Key, idem.Hash
	}
	resp, err := c.call(ctx, "create", req)
	if err != nil {
		return nil, err
	}
	it, err := fromWire(resp.Item)
	if err != nil {
		return nil, err
	}
	return &items.Created{Item: it, Replayed: resp.Replayed}, nil
}

// Replace implements items.Store.
func (c *Client) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	resp, err := c.call(ctx, "replace", &request{Tenant: key.Tenant, ID: key.ID, Attrs: json.RawMessage(attrs), IfRev: cond.IfRev})
	if err != nil {
		return nil, err
	}
	return fromWire(resp.Item)
}

// Delete implements items.Store.
func (c *Client) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	_, err := c.call(ctx, "delete", &request{Tenant: key.Tenant, ID: key.ID, IfRev: cond.IfRev})
	return err
}

// List implements items.Store.
func (c *Client) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	resp, err := c.call(ctx, "list", &request{Tenant: tenant, After: q.After, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	p := &items.Page{Items: make([]*items.Item, 0, len(resp.Items)), Next: resp.Next}
	for _, w := range resp.Items {
		it, err := fromWire(w)
		if err != nil {
			return nil, err
		}
		p.Items = append(p.Items, it)
	}
	return p, nil
}

// Ping implements items.Store.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.call(ctx, "ping", &request{})
	return err
}

// Close implements items.Store: later calls answer EUNAVAILABLE, and the
// Client's idle connections are dropped; the store behind the Server stays
// open.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.hc.CloseIdleConnections()
	return nil
}
