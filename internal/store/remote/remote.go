// Package remote serves an items.Store to other processes over HTTP, and is
// the client that opens it there. surge uses it as its local stand-in for a
// DAX cluster: one read cache that every function instance reads and
// writes through, over the network, as Lambda functions share a DAX
// cluster in front of DynamoDB.
//
// The composition root (package server), with functions and the read cache
// on, serves its store (the read cache of package readcache in front of the
// backend) with a Server on a loopback listener, and each function
// instance opens a Client to it instead of the backend: its SURGE_STORE is
// dax://HOST:PORT (store.SchemeDAX), which store.Open opens through
// Backend. Writes through any instance then update the one item cache, as
// writes through DAX do, and a read by one instance is a hit for the next.
//
// The protocol is surge's own: POST /v1/{op} with a JSON body, answered
// with JSON; a store error travels as its code and message (and the limit
// that refused it) and comes out of the Client as the same *items.Error.
// Scans and index queries (items.Querier) travel too. Each answer carries
// the capacity units the operation consumed, as the serving process
// counted them (the table's capacity layer there charges every function
// instance's operations to the one table), which the Client adds to the
// items.Usage of its context as its own count; and, when the Usage asks,
// the item a write replaced.
//
// A Server with a token (WithToken) accepts only requests that carry it,
// as "Authorization: Bearer TOKEN", compared in constant time: surge makes
// a new token for each run and gives it to the function instances in
// their environment (SURGE_STORE_TOKEN), so that no other process of the
// machine reads or writes the store through the cache.
package remote

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
)

// Limits of a message: a request carries at most one item's attributes, a
// response at most a page (1 MB of items, and one more).
const (
	maxRequestBytes  = 2 * items.MaxItemSize
	maxResponseBytes = 2*items.MaxPageBytes + 2*items.MaxItemSize
)

// request is the body of every operation; each reads its own fields.
type request struct {
	Tenant     string         `json:"tenant,omitzero"`
	ID         string         `json:"id,omitzero"`
	Attrs      jsontext.Value `json:"attrs,omitzero"`
	IdemKey    string         `json:"idemKey,omitzero"`
	IdemHash   string         `json:"idemHash,omitzero"`
	IfRev      string         `json:"ifRev,omitzero"`
	Consistent bool           `json:"consistent,omitzero"`
	After      string         `json:"after,omitzero"`
	Limit      int            `json:"limit,omitzero"`
	// Value, From and To are an index query's (items.IndexQuery).
	Value string `json:"value,omitzero"`
	From  string `json:"from,omitzero"`
	To    string `json:"to,omitzero"`
	// WantOld asks for the item a write replaced or deleted (or that made
	// a create fail), for the caller's items.Usage.
	WantOld bool `json:"wantOld,omitzero"`
}

// response is the answer to every operation.
type response struct {
	Item     *wireItem   `json:"item,omitzero"`
	Replayed bool        `json:"replayed,omitzero"`
	Items    []*wireItem `json:"items,omitzero"`
	Next     string      `json:"next,omitzero"`
	Error    *wireError  `json:"error,omitzero"`
	// Old is the item a write replaced or deleted, when asked for.
	Old *wireItem `json:"old,omitzero"`
	// Consumed are the capacity units the operation consumed, as the
	// serving process counted them (its table's capacity layer, or
	// DynamoDB), with errors too.
	Consumed *wireCapacity `json:"consumed,omitzero"`
}

// wireCapacity is an items.Capacity.
type wireCapacity struct {
	Read      float64 `json:"read,omitzero"`
	Write     float64 `json:"write,omitzero"`
	IndexRead float64 `json:"indexRead,omitzero"`
}

type wireItem struct {
	Tenant    string         `json:"tenant"`
	ID        string         `json:"id"`
	Version   int64          `json:"version"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
	Rev       string         `json:"rev"`
	Attrs     jsontext.Value `json:"attrs"`
}

type wireError struct {
	Code       string `json:"code,omitzero"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retryAfter,omitzero"`
	Limit      string `json:"limit,omitzero"`
}

func toWire(it *items.Item) *wireItem {
	if it == nil {
		return nil
	}
	return &wireItem{Tenant: it.Tenant, ID: it.ID, Version: it.Version, CreatedAt: it.CreatedAt,
		UpdatedAt: it.UpdatedAt, Rev: it.Rev, Attrs: jsontext.Value(it.Attrs)}
}

func fromWire(w *wireItem) (*items.Item, error) {
	if w == nil {
		return nil, errors.New("dax: an answer lacks its item")
	}
	if len(w.Attrs) == 0 || string(w.Attrs) == "null" {
		w.Attrs = jsontext.Value("{}") // an item without attributes
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
	return json.MarshalWrite(w, v)
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
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("not the expected JSON object: %w", err)
	}
	return nil
}

// Server serves a Store to Clients. It never closes the store.
type Server struct {
	store items.Store
	token []byte
}

// Option configures a Server or a Client.
type Option func(*options)

type options struct{ token string }

// WithToken makes a Server require the token, and a Client send it.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

func apply(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// NewServer returns a Server of st.
func NewServer(st items.Store, opts ...Option) *Server {
	o := apply(opts)
	s := &Server{store: st}
	if o.token != "" {
		s.token = []byte("Bearer " + o.token)
	}
	return s
}

// authorized reports whether r carries the Server's token, if it has one.
func (s *Server) authorized(r *http.Request) bool {
	if s.token == nil {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), s.token) == 1
}

const pathPrefix = "/v1/"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		http.Error(w, "this read cache serves surge's own function instances only: want Authorization: Bearer <the run's token>", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, pathPrefix) {
		http.Error(w, "want POST /v1/{get,create,replace,delete,list,scan,query,ping}", http.StatusNotFound)
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
	// What the operation consumes, and the old item when asked for, go
	// back with its answer.
	ctx, usage := items.NewUsageContext(r.Context())
	var old *wireItem
	if req.WantOld {
		usage.OnOld = func(it *items.Item) { old = toWire(cloneItem(it)) }
	}
	resp, err := s.do(ctx, strings.TrimPrefix(r.URL.Path, pathPrefix), req)
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
			we = &wireError{Code: ie.Code, Message: ie.Message, RetryAfter: ie.RetryAfter, Limit: ie.Limit}
		}
		resp = &response{Error: we}
	}
	resp.Old = old
	if c := usage.Capacity(); c != (items.Capacity{}) {
		resp.Consumed = &wireCapacity{Read: c.Read, Write: c.Write, IndexRead: c.IndexRead}
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
		req.Attrs = jsontext.Value(attrs)
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
		return pageResponse(p), nil
	case "scan":
		p, err := items.Scan(ctx, s.store, req.Tenant, items.ScanQuery{After: req.After, Limit: req.Limit, Consistent: req.Consistent})
		if err != nil {
			return nil, err
		}
		return pageResponse(p), nil
	case "query":
		p, err := items.QueryIndex(ctx, s.store, req.Tenant, items.IndexQuery{Value: req.Value, From: req.From, To: req.To,
			After: req.After, Limit: req.Limit})
		if err != nil {
			return nil, err
		}
		return pageResponse(p), nil
	case "ping":
		return &response{}, s.store.Ping(ctx)
	}
	return nil, fmt.Errorf("%w: %q", errUnknownOp, op)
}

func pageResponse(p *items.Page) *response {
	resp := &response{Items: make([]*wireItem, len(p.Items)), Next: p.Next}
	for i, it := range p.Items {
		resp.Items[i] = toWire(it)
	}
	return resp
}

// cloneItem copies an item whose attributes may be borrowed.
func cloneItem(it *items.Item) *items.Item {
	c := *it
	c.Attrs = append(items.Attributes(nil), it.Attrs...)
	return &c
}

// Client is an items.Store served by a Server at a base URL.
type Client struct {
	base   string
	auth   string
	hc     *http.Client
	closed atomic.Bool
}

// NewClient returns a Client of the Server at base ("http://127.0.0.1:PORT").
func NewClient(base string, opts ...Option) *Client {
	o := apply(opts)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	c := &Client{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Transport: tr}}
	if o.token != "" {
		c.auth = "Bearer " + o.token
	}
	return c
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
	if c.auth != "" {
		hr.Header.Set("Authorization", c.auth)
	}
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
	if res.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("dax: %s: %s: the read cache refused this client's token", op, res.Status)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("dax: %s: %s: %s", op, res.Status, bytes.TrimSpace(body))
	}
	resp, err := decodeResponse(body)
	if err != nil {
		return nil, fmt.Errorf("dax: %s: %w", op, err)
	}
	// The serving process counted what the operation consumed: its count
	// is this store's own.
	if c := resp.Consumed; c != nil {
		items.AddCountedUsage(ctx, items.Capacity{Read: c.Read, Write: c.Write, IndexRead: c.IndexRead})
	}
	if resp.Old != nil {
		if old, err := fromWire(resp.Old); err == nil {
			items.ReportOld(ctx, old)
		}
	}
	if e := resp.Error; e != nil {
		if e.Code == "" {
			return nil, fmt.Errorf("dax: %s: %s", op, e.Message)
		}
		return nil, &items.Error{Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter, Limit: e.Limit}
	}
	return resp, nil
}

// wantOld reports whether the Usage of ctx asks for old items.
func wantOld(ctx context.Context) bool {
	return items.UsageFrom(ctx).WantsOld()
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
	req := &request{Tenant: key.Tenant, ID: key.ID, Attrs: jsontext.Value(attrs), WantOld: wantOld(ctx)}
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
	resp, err := c.call(ctx, "replace", &request{Tenant: key.Tenant, ID: key.ID, Attrs: jsontext.Value(attrs), IfRev: cond.IfRev,
		WantOld: wantOld(ctx)})
	if err != nil {
		return nil, err
	}
	return fromWire(resp.Item)
}

// Delete implements items.Store.
func (c *Client) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	_, err := c.call(ctx, "delete", &request{Tenant: key.Tenant, ID: key.ID, IfRev: cond.IfRev, WantOld: wantOld(ctx)})
	return err
}

// List implements items.Store.
func (c *Client) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	resp, err := c.call(ctx, "list", &request{Tenant: tenant, After: q.After, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	return pageFrom(resp)
}

var _ items.Querier = (*Client)(nil)

// Scan implements items.Querier.
func (c *Client) Scan(ctx context.Context, tenant string, q items.ScanQuery) (*items.Page, error) {
	resp, err := c.call(ctx, "scan", &request{Tenant: tenant, After: q.After, Limit: q.Limit, Consistent: q.Consistent})
	if err != nil {
		return nil, err
	}
	return pageFrom(resp)
}

// Query implements items.Querier.
func (c *Client) Query(ctx context.Context, tenant string, q items.IndexQuery) (*items.Page, error) {
	resp, err := c.call(ctx, "query", &request{Tenant: tenant, Value: q.Value, From: q.From, To: q.To, After: q.After, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	return pageFrom(resp)
}

func pageFrom(resp *response) (*items.Page, error) {
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

// Backend is the store.Backend of the shared read cache's clients
// (dax://HOST:PORT), served by a Server on a loopback port; the options
// (the run's token) apply to every Client it opens.
func Backend(opts ...Option) store.Backend {
	return store.Backend{Scheme: store.SchemeDAX, Form: "dax://HOST:PORT",
		Open: func(_ context.Context, u *store.URL) (items.Store, error) {
			return NewClient("http://"+u.Addr, opts...), nil
		}}
}

// MaxRequestBytes is the largest request body a Server reads.
const MaxRequestBytes = maxRequestBytes
