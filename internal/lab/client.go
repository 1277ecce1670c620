package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// client makes the lab's own requests to a stack: creating the data set
// and timing full scans and key lookups. The load itself is the load
// tester's.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute}
	return &client{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// maxAttempts bounds the attempts of one seeding request that a limit
// refused (429, 503): the lab waits for the limit's Retry-After, as a
// well-behaved client does, a bounded number of times.
const maxAttempts = 20

// do sends a request and returns the response's status and body; a 429 or
// 503 is retried after its Retry-After (at most 2 s), at most maxAttempts
// times.
func (c *client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	for attempt := 1; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return 0, nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := c.hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		res.Body.Close()
		if err != nil {
			return 0, nil, err
		}
		if (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable) && attempt < maxAttempts {
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			d := min(time.Duration(max(wait, 0))*time.Second, 2*time.Second)
			if d == 0 {
				d = 50 * time.Millisecond
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, nil, ctx.Err()
			case <-t.C:
			}
			continue
		}
		return res.StatusCode, b, nil
	}
}

// maxThrottledAttempts bounds how many times a batch's throttled items
// are sent: a provisioned table's auto scaling takes a few of its periods
// to catch up with a seed, and the waits are at most a second.
const maxThrottledAttempts = 120

// batchSize is DynamoDB's BatchWriteItem limit, and the contract's.
const batchSize = 25

// seed creates n items with bodies of the payload classes, 25 in a batch
// (POST /items/_batch) on conc connections, and returns their ids. Where
// the target has no batch endpoint (404, 405), it creates them one by one.
func (c *client) seed(ctx context.Context, n int, classes load.Payloads, prefix string, seed uint64) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	const conc = 8
	var (
		mu       sync.Mutex
		ids      = make([]string, 0, n)
		next     atomic.Int64
		single   atomic.Bool
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				start := int(next.Add(batchSize)) - batchSize
				if start >= n {
					return
				}
				k := min(batchSize, n-start)
				bodies := make([][]byte, k)
				for i := range k {
					bodies[i] = itemBody(rnd, prefix, start+i, classes)
				}
				got, err := c.createAll(ctx, bodies, &single)
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				ids = append(ids, got...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return ids, firstErr
}

// createAll creates the items of bodies, in one batch unless the target
// has none, and returns their ids.
func (c *client) createAll(ctx context.Context, bodies [][]byte, single *atomic.Bool) ([]string, error) {
	var ids []string
	// A batch's items the table throttled (a provisioned table over its
	// capacity, after the SDK's retries) are sent again, as a client
	// retries a BatchWriteItem's UnprocessedItems, with a growing wait.
	for attempt := 1; len(bodies) > 0; attempt++ {
		got, throttled, err := c.createBatch(ctx, bodies, single)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
		if len(throttled) > 0 && attempt >= maxThrottledAttempts {
			return nil, fmt.Errorf("seed: %d items of a batch still throttled after %d attempts", len(throttled), attempt)
		}
		if len(throttled) > 0 {
			t := time.NewTimer(min(time.Duration(attempt)*100*time.Millisecond, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		bodies = throttled
	}
	return ids, nil
}

// createBatch creates bodies in one batch (or one by one where the target
// has no batch endpoint), and returns the ids created and the bodies the
// batch answered 429 or 503 for.
func (c *client) createBatch(ctx context.Context, bodies [][]byte, single *atomic.Bool) ([]string, [][]byte, error) {
	if !single.Load() {
		var b bytes.Buffer
		b.WriteString(`{"operations":[`)
		for i, body := range bodies {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"op":"create","item":`)
			b.Write(body)
			b.WriteByte('}')
		}
		b.WriteString("]}")
		status, resp, err := c.do(ctx, http.MethodPost, "/items/_batch", b.Bytes())
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("seed: %w", err)
		case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
			single.Store(true)
		case status != http.StatusOK:
			return nil, nil, fmt.Errorf("seed: POST /items/_batch: status %d: %s", status, clip(resp))
		default:
			var out struct {
				Results []struct {
					Status int `json:"status"`
					Item   struct {
						ID string `json:"id"`
					} `json:"item"`
				} `json:"results"`
			}
			if err := json.Unmarshal(resp, &out); err != nil {
				return nil, nil, fmt.Errorf("seed: POST /items/_batch: %w", err)
			}
			if len(out.Results) != len(bodies) {
				return nil, nil, fmt.Errorf("seed: a batch of %d answered %d results", len(bodies), len(out.Results))
			}
			ids := make([]string, 0, len(out.Results))
			var throttled [][]byte
			for i, r := range out.Results {
				switch {
				case r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable:
					throttled = append(throttled, bodies[i])
				case r.Status != http.StatusCreated || r.Item.ID == "":
					return nil, nil, fmt.Errorf("seed: a batch create answered %d", r.Status)
				default:
					ids = append(ids, r.Item.ID)
				}
			}
			return ids, throttled, nil
		}
	}
	ids := make([]string, 0, len(bodies))
	for _, body := range bodies {
		status, resp, err := c.do(ctx, http.MethodPost, "/items", body)
		if err != nil {
			return nil, nil, fmt.Errorf("seed: %w", err)
		}
		if status != http.StatusCreated {
			return nil, nil, fmt.Errorf("seed: POST /items: status %d: %s", status, clip(resp))
		}
		var it struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(resp, &it); err != nil || it.ID == "" {
			return nil, nil, fmt.Errorf("seed: POST /items: no id in %s", clip(resp))
		}
		ids = append(ids, it.ID)
	}
	return ids, nil, nil
}

// itemBody is an item of a size class drawn from classes, padded with
// words to the class's size.
func itemBody(rnd *rand.Rand, prefix string, i int, classes load.Payloads) []byte {
	size := 256
	if len(classes) > 0 {
		var total float64
		for _, c := range classes {
			total += c.Weight
		}
		x := rnd.Float64() * total
		for _, c := range classes {
			if x < c.Weight {
				size = int(c.Size)
				break
			}
			x -= c.Weight
		}
	}
	head := fmt.Sprintf(`{"name":"%s-%d","n":%d,"data":"`, prefix, i, rnd.IntN(1_000_000))
	pad := max(0, size-len(head)-2)
	b := make([]byte, 0, len(head)+pad+2)
	b = append(b, head...)
	for len(b) < len(head)+pad {
		b = append(b, "lab item data "[:min(14, len(head)+pad-len(b))]...)
	}
	return append(b, `"}`...)
}

// scan reads every item of the table through the list endpoint, a page of
// 1,000 at a time (the contract's most), and returns how many it read and
// how long the whole scan took.
func (c *client) scan(ctx context.Context) (int, time.Duration, error) {
	start := time.Now()
	n, cursor := 0, ""
	for pages := 0; pages < 1_000_000; pages++ {
		path := "/items?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body, err := c.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return n, 0, fmt.Errorf("scan: %w", err)
		}
		if status != http.StatusOK {
			return n, 0, fmt.Errorf("scan: GET %s: status %d: %s", path, status, clip(body))
		}
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return n, 0, fmt.Errorf("scan: %w", err)
		}
		n += len(page.Items)
		if page.Next == "" {
			return n, time.Since(start), nil
		}
		cursor = page.Next
	}
	return n, 0, errors.New("scan: more than a million pages")
}

// lookup reads one item by its key and returns how long it took.
func (c *client) lookup(ctx context.Context, id string) (time.Duration, error) {
	start := time.Now()
	status, body, err := c.do(ctx, http.MethodGet, "/items/"+url.PathEscape(id), nil)
	if err != nil {
		return 0, fmt.Errorf("lookup: %w", err)
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("lookup %s: status %d: %s", id, status, clip(body))
	}
	return time.Since(start), nil
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
