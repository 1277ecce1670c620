package itemsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/observe/servertiming"
	"github.com/surgehq/surge/internal/store/readcache"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// BenchmarkAccessPatterns is the article's access-pattern finding on a
// growing table: the /ops dispatcher over real SQLite, charged by the
// table's capacity layer, served over loopback HTTP, with the table grown
// to each of SURGE_BENCH_SIZES items (default 1000,10000) of about 300
// bytes (the load's 256-byte class). At each size it times, over
// SURGE_BENCH_REPS requests (default 200; fewer for scans), and reads the
// units each response reports (Server-Timing rcu):
//
//	get              a key lookup, eventually consistent
//	consistent-read  the same, strongly consistent (twice the units)
//	query-index      the name-index by one of 100 names, Limit 10
//	scan-page        the load mix's scan: one page (up to 1 MB) with a
//	                 filter that keeps one item in a thousand
//	scan-full        every page of that scan, following LastEvaluatedKey
//	                 (what a caller after all the matching items does)
//	gets-10          10 key lookups, one request each
//	batch-10         the same 10 lookups in one POST /items/_batch
//	get-dax          key lookups of 20 hot items (the last added), each
//	                 read reps/20 times, through the read cache (DAX) in
//	                 front of the capacity layer: only its misses are
//	                 charged
//
// and prints a table of the median and 90th percentile latency, the read
// units and requests per operation. Its metrics are each operation's
// median at the largest size over the smallest (x-growth): scans grow
// with the table, key lookups and index queries stay flat. Run by
// bench/table-access.sh:
//
//	SURGE_BENCH_SIZES=1000,10000,100000 go test -run '^$' -bench AccessPatterns -benchtime 1x ./internal/api/itemsapi
func BenchmarkAccessPatterns(b *testing.B) {
	sizes := []int{1000, 10000}
	if v := os.Getenv("SURGE_BENCH_SIZES"); v != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 100 || n > 1_000_000 {
				b.Fatalf("SURGE_BENCH_SIZES: %q is not a size of 100 to 1,000,000 items", f)
			}
			sizes = append(sizes, n)
		}
		slices.Sort(sizes)
	}
	reps := 200
	if v := os.Getenv("SURGE_BENCH_REPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 100_000 {
			b.Fatalf("SURGE_BENCH_REPS: %q is not 10 to 100,000", v)
		}
		reps = n
	}
	for b.Loop() {
		runAccessPatterns(b, sizes, reps)
	}
}

// accessRow is one operation's figures at one size.
type accessRow struct {
	op              string
	size            int
	p50, p90        time.Duration
	units, requests float64
	count           int
}

func runAccessPatterns(b *testing.B, sizes []int, reps int) {
	sq, err := sqlite.Open(filepath.Join(b.TempDir(), "items.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer sq.Close()
	tb, err := table.New(table.Config{Name: "items"})
	if err != nil {
		b.Fatal(err)
	}
	charged := table.NewStore(sq, tb, table.StoreConfig{})
	srv := httptest.NewServer(servertiming.Middleware(itemsapi.New(charged)))
	defer srv.Close()
	dax := httptest.NewServer(servertiming.Middleware(itemsapi.New(readcache.New(charged))))
	defer dax.Close()
	a := &accessClient{b: b, c: srv.Client()}

	var rows []accessRow
	have := 0
	for _, size := range sizes {
		growTable(b, sq, have, size)
		have = size
		ids := func(i int) string { return accessID((i * 7919) % size) }
		lookup := func(consistent bool) func(i int) (float64, int) {
			return func(i int) (float64, int) {
				body := `{"operation":"read","payload":{"Key":{"id":"` + ids(i) + `"}` + map[bool]string{true: `,"ConsistentRead":true`}[consistent] + `}}`
				return a.post(srv.URL+"/ops", body, nil), 1
			}
		}
		scanBody := func(start string) string {
			s := `{"operation":"list","payload":{"FilterExpression":"#n < :n","ExpressionAttributeNames":{"#n":"n"},"ExpressionAttributeValues":{":n":1000}`
			if start != "" {
				s += `,"ExclusiveStartKey":{"id":"` + start + `"}`
			}
			return s + `}}`
		}
		scanReps := max(5, min(reps, 20_000_000/(size*100)))
		fullReps := max(3, min(reps, 2_000_000/(size*10)))
		for _, m := range []struct {
			op   string
			reps int
			do   func(i int) (float64, int)
		}{
			{"get", reps, lookup(false)},
			{"consistent-read", reps, lookup(true)},
			{"query-index", reps, func(i int) (float64, int) {
				return a.post(srv.URL+"/ops", fmt.Sprintf(`{"operation":"query","payload":{"IndexName":"name-index","KeyConditionExpression":"#n = :v",`+
					`"ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{":v":"name-%03d"},"Limit":10}}`, i%100), nil), 1
			}},
			{"scan-page", scanReps, func(int) (float64, int) { return a.post(srv.URL+"/ops", scanBody(""), nil), 1 }},
			{"scan-full", fullReps, func(int) (float64, int) {
				units, n, start := 0.0, 0, ""
				for {
					var page struct {
						LastEvaluatedKey *struct {
							ID string `json:"id"`
						}
					}
					units += a.post(srv.URL+"/ops", scanBody(start), &page)
					n++
					if page.LastEvaluatedKey == nil {
						return units, n
					}
					start = page.LastEvaluatedKey.ID
				}
			}},
			{"gets-10", reps / 5, func(i int) (float64, int) {
				units := 0.0
				for j := range 10 {
					units += a.get(srv.URL + "/items/" + ids(i*10+j))
				}
				return units, 10
			}},
			{"batch-10", reps / 5, func(i int) (float64, int) {
				var ops []string
				for j := range 10 {
					ops = append(ops, `{"op":"get","id":"`+ids(i*10+j)+`"}`)
				}
				return a.post(srv.URL+"/items/_batch", `{"operations":[`+strings.Join(ops, ",")+`]}`, nil), 1
			}},
			{"get-dax", reps, func(i int) (float64, int) {
				// The 20 items last added: each read reps/20 times, the
				// first of them a miss that reads the table.
				return a.post(dax.URL+"/ops", `{"operation":"read","payload":{"Key":{"id":"`+accessID(size-1-i%20)+`"}}}`, nil), 1
			}},
		} {
			rows = append(rows, measure(m.op, size, m.reps, m.do))
		}
	}
	printAccess(rows, sizes)
	at := func(op string, size int) accessRow {
		for _, r := range rows {
			if r.op == op && r.size == size {
				return r
			}
		}
		return accessRow{}
	}
	lo, hi := sizes[0], sizes[len(sizes)-1]
	for _, op := range []string{"get", "consistent-read", "query-index", "scan-page", "scan-full"} {
		b.ReportMetric(float64(at(op, hi).p50)/float64(at(op, lo).p50), op+"-x")
	}
	b.ReportMetric(at("scan-full", hi).units/at("scan-full", lo).units, "scan-full-units-x")
	b.ReportMetric(at("get-dax", hi).units/at("get", hi).units, "dax-units-ratio")
}

// accessID is the id of the i-th item of the table.
func accessID(i int) string { return fmt.Sprintf("item-%07d", i) }

// growTable adds items from to to (exclusive), straight into SQLite,
// from a few goroutines so that the store's group commit takes them in
// batches: about 300 bytes each, 100 names, n spread over 0..999,999.
func growTable(b *testing.B, s items.Store, from, to int) {
	b.Helper()
	const workers = 8
	pad := strings.Repeat("x", 200)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := from + w; i < to; i += workers {
				a, err := items.Canonicalize([]byte(fmt.Sprintf(`{"name":"name-%03d","n":%d,"data":"%s"}`, i%100, (i*104729)%1_000_000, pad)))
				if err == nil {
					_, err = s.Create(context.Background(), items.Key{Tenant: items.DefaultTenant, ID: accessID(i)}, a, nil)
				}
				if err != nil {
					errs <- fmt.Errorf("item %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// measure runs do reps times, and returns its latencies' median and 90th
// percentile and the mean units and requests of one.
func measure(op string, size, reps int, do func(i int) (float64, int)) accessRow {
	lat := make([]time.Duration, reps)
	row := accessRow{op: op, size: size, count: reps}
	for i := range reps {
		start := time.Now()
		u, n := do(i)
		lat[i] = time.Since(start)
		row.units += u
		row.requests += float64(n)
	}
	slices.Sort(lat)
	row.p50, row.p90 = lat[reps/2], lat[reps*9/10]
	row.units /= float64(reps)
	row.requests /= float64(reps)
	return row
}

func printAccess(rows []accessRow, sizes []int) {
	fmt.Printf("access patterns over SQLite through the /ops dispatcher (loopback HTTP), items of about 300 bytes\n")
	fmt.Printf("%-16s %8s %10s %10s %10s %9s %6s\n", "op", "items", "p50 ms", "p90 ms", "RCU/op", "requests", "runs")
	for _, r := range rows {
		fmt.Printf("%-16s %8d %10.3f %10.3f %10.2f %9.1f %6d\n", r.op, r.size,
			float64(r.p50.Microseconds())/1000, float64(r.p90.Microseconds())/1000, r.units, r.requests, r.count)
	}
	fmt.Printf("end of access patterns (%d sizes)\n", len(sizes))
}

// accessClient sends the benchmark's requests and reads the read units
// each response reports in Server-Timing.
type accessClient struct {
	b *testing.B
	c *http.Client
}

func (a *accessClient) get(url string) float64 {
	resp, err := a.c.Get(url)
	return a.read(resp, err, nil)
}

func (a *accessClient) post(url, body string, into any) float64 {
	resp, err := a.c.Post(url, "application/json", strings.NewReader(body))
	return a.read(resp, err, into)
}

func (a *accessClient) read(resp *http.Response, err error, into any) float64 {
	if err != nil {
		a.b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		a.b.Fatalf("%s: %d %s %v", resp.Request.URL, resp.StatusCode, bytes.TrimSpace(body), err)
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			a.b.Fatalf("%s: %v", resp.Request.URL, err)
		}
	}
	return serverTimingUnits(resp.Header.Get("Server-Timing"), "rcu")
}

// serverTimingUnits reads a metric's desc from a Server-Timing header,
// such as rcu;desc=0.5; absent, 0.
func serverTimingUnits(h, name string) float64 {
	for _, m := range strings.Split(h, ",") {
		m = strings.TrimSpace(m)
		if rest, ok := strings.CutPrefix(m, name+";desc="); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err == nil {
				return v
			}
		}
	}
	return 0
}
