package lincheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Workload is what the clients of a history do: each, in a loop, picks an
// item among Keys and an operation among the kinds, and sends it.
type Workload struct {
	// Bases are the services' base URLs ("http://127.0.0.1:8080"); client
	// i talks to Bases[i%len(Bases)].
	Bases []string
	// Clients is the number of concurrent clients (default 8).
	Clients int
	// Keys is the number of items (default 4).
	Keys int
	// OpsPerKey is about how many operations each item gets (default 250).
	OpsPerKey int
	// Timeout bounds each request (default 10 s); one that runs out is an
	// operation of unknown outcome.
	Timeout time.Duration
	// Prefix starts every item id, so that histories on one store do not
	// meet (default a random one).
	Prefix string
	// Seed seeds the clients' choices (default 1).
	Seed uint64
	// Header is added to every request (credentials).
	Header http.Header
}

// weights of the operations, in Kind order: reads are the most common, as
// in the seed's mixes; every write appears often enough to race.
var weights = [kindCount]int{Get: 35, Put: 15, PutIf: 15, Patch: 12, Delete: 5, DeleteIf: 5, Create: 13}

// Run runs the workload until every client has done its share, or ctx is
// done, and returns the history.
func (w Workload) Run(ctx context.Context) (*History, error) {
	if len(w.Bases) == 0 {
		return nil, fmt.Errorf("lincheck: a workload needs a base URL")
	}
	if w.Clients <= 0 {
		w.Clients = 8
	}
	if w.Keys <= 0 {
		w.Keys = 4
	}
	if w.OpsPerKey <= 0 {
		w.OpsPerKey = 250
	}
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Second
	}
	if w.Seed == 0 {
		w.Seed = 1
	}
	if w.Prefix == "" {
		w.Prefix = fmt.Sprintf("lin-%x-", rand.Uint32())
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = w.Clients
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: w.Timeout}
	h := NewHistory()
	perClient := (w.Keys*w.OpsPerKey + w.Clients - 1) / w.Clients
	var wg sync.WaitGroup
	for c := range w.Clients {
		wg.Go(func() {
			cl := &client{id: c, w: &w, hc: hc, base: strings.TrimSuffix(w.Bases[c%len(w.Bases)], "/"), h: h,
				rnd: rand.New(rand.NewPCG(w.Seed, uint64(c))), revs: map[string]string{}}
			for n := 0; n < perClient && ctx.Err() == nil; n++ {
				cl.one(ctx, n)
			}
		})
	}
	wg.Wait()
	return h, nil
}

// client is one of a workload's clients; it keeps the last tag it saw of
// each item, for its conditional writes.
type client struct {
	id   int
	w    *Workload
	hc   *http.Client
	base string
	h    *History
	rnd  *rand.Rand
	revs map[string]string
}

func (c *client) pick() Kind {
	total := 0
	for _, wt := range weights {
		total += wt
	}
	n := c.rnd.IntN(total)
	for k, wt := range weights {
		if n < wt {
			return Kind(k)
		}
		n -= wt
	}
	return Get
}

// one sends one operation and records it.
func (c *client) one(ctx context.Context, n int) {
	key := fmt.Sprintf("%s%d", c.w.Prefix, c.rnd.IntN(c.w.Keys))
	in := Input{Key: key, Kind: c.pick()}
	switch in.Kind {
	case Put, PutIf, Patch, Create:
		in.Value = fmt.Sprintf("c%d-%d", c.id, n)
	}
	if in.Kind == PutIf || in.Kind == DeleteIf {
		in.IfMatch = c.revs[key]
		if in.IfMatch == "" {
			in.IfMatch = "never-seen"
		}
	}
	req, err := c.request(ctx, in)
	if err != nil {
		return // cannot happen with the URLs built here
	}
	call := c.h.Now()
	out, refused, source := c.send(req)
	ret := c.h.Now()
	if refused {
		c.h.Drop(source)
		return
	}
	if out.Rev != "" {
		c.revs[key] = out.Rev
	}
	if !out.Unknown && (out.Status == 404 || out.Status == 204) {
		delete(c.revs, key)
	}
	c.h.Add(c.id, in, call, out, ret)
}

func (c *client) request(ctx context.Context, in Input) (*http.Request, error) {
	var method, path string
	var body []byte
	switch in.Kind {
	case Get:
		method, path = http.MethodGet, "/items/"+in.Key
	case Put, PutIf:
		method, path = http.MethodPut, "/items/"+in.Key
		body, _ = json.Marshal(map[string]string{"w": in.Value})
	case Patch:
		method, path = http.MethodPatch, "/items/"+in.Key
		body, _ = json.Marshal(map[string]string{"p": in.Value})
	case Delete, DeleteIf:
		method, path = http.MethodDelete, "/items/"+in.Key
	case Create:
		method, path = http.MethodPost, "/items"
		body, _ = json.Marshal(map[string]string{"id": in.Key, "w": in.Value})
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.w.Header {
		req.Header[k] = vs
	}
	switch {
	case in.Kind == Patch:
		req.Header.Set("Content-Type", "application/merge-patch+json")
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if in.IfMatch != "" {
		req.Header.Set("If-Match", `"`+in.IfMatch+`"`)
	}
	return req, nil
}

// send sends req and reads its answer. refused is set, with the limit's
// X-Limit-Source, for an answer that a limit gave before the operation
// ran: a 429, or a 503 naming its limit (admission, the table's
// capacity, shutdown; docs/API.md), which took no effect. Any other 5xx
// is of unknown outcome.
func (c *client) send(req *http.Request) (out Output, refused bool, source string) {
	res, err := c.hc.Do(req)
	if err != nil {
		return Output{Unknown: true}, false, ""
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	source = res.Header.Get(limitSourceHeader)
	switch {
	case err != nil:
		return Output{Unknown: true}, false, ""
	case res.StatusCode == http.StatusTooManyRequests,
		res.StatusCode == http.StatusServiceUnavailable && source != "":
		return Output{}, true, source
	case res.StatusCode >= 500:
		return Output{Unknown: true}, false, ""
	}
	out.Status = res.StatusCode
	if res.StatusCode == http.StatusOK || res.StatusCode == http.StatusCreated {
		var it struct {
			Version int64
			W, P    string
		}
		if json.Unmarshal(body, &it) == nil {
			out.Version, out.W, out.P = it.Version, it.W, it.P
		}
		out.Rev = strings.Trim(res.Header.Get("Etag"), `"`)
	}
	return out, false, ""
}

// limitSourceHeader is rest.LimitSourceHeader, spelled here so that the
// checker links nothing of the service it checks.
const limitSourceHeader = "X-Limit-Source"
