package shard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/shard"
)

// target is a small items API on loopback that counts its requests.
func target(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"it`+time.Now().Format("150405.000000000")+`"}`)
			return
		}
		io.WriteString(w, `{"items":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// event returns the event of shard k of a 2-shard split of 100/s for a
// second, starting shortly.
func event(t *testing.T, url string, k int) shard.Event {
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration, s.IDs.Preseed, s.Grace = url, 100, time.Second, 0, 30*time.Second
	s.Headers = load.Headers{"x-api-key": "k1"}
	sp := load.Split{Shards: 2, StartAt: time.Now().Add(100 * time.Millisecond), Seed: 11}
	parts, err := sp.Parts(&s)
	if err != nil {
		t.Fatal(err)
	}
	return shard.Event{Scenario: s, Part: parts[k], SentAt: time.Now()}
}

// roundTrip sends ev as a coordinator would (JSON), and reads the answer
// back from JSON.
func roundTrip(t *testing.T, ctx context.Context, h *shard.Handler, ev shard.Event) (*shard.Response, *load.Result) {
	t.Helper()
	b, _ := json.Marshal(ev)
	var got shard.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	resp, err := h.Handle(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(resp)
	parsed, res, err := shard.ParseResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	return parsed, res
}

func TestHandleAnswersWithTheResult(t *testing.T) {
	srv, n := target(t)
	ev := event(t, srv.URL, 1)
	resp, res := roundTrip(t, context.Background(), &shard.Handler{}, ev)
	if res == nil || resp.Stored != nil {
		t.Fatalf("no result in the answer: %+v", resp)
	}
	if res.Part.Shard != 1 || res.Part.PlanID != ev.Part.PlanID || res.Sent != 50 || n.Load() != 50 {
		t.Errorf("part %+v sent %d, target saw %d; want shard 1 of the plan, 50 each", res.Part, res.Sent, n.Load())
	}
	if res.Scenario.Headers["x-api-key"] != "(redacted)" {
		t.Errorf("the result keeps the header's value: %v", res.Scenario.Headers)
	}
	if resp.Received.IsZero() || resp.Replied.Before(resp.Received.Add(time.Second)) {
		t.Errorf("received %s, replied %s: want the part's second between them", resp.Received, resp.Replied)
	}
}

// memBucket is a results bucket in memory, served over loopback: what
// Put stores, its URL reads.
type memBucket struct {
	srv  *httptest.Server
	mu   sync.Mutex
	objs map[string][]byte
}

func newMemBucket(t *testing.T) *memBucket {
	b := &memBucket{objs: map[string][]byte{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		body, ok := b.objs[strings.TrimPrefix(r.URL.Path, "/")]
		b.mu.Unlock()
		if !ok {
			http.Error(w, "NoSuchKey", http.StatusNotFound)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *memBucket) Put(_ context.Context, key string, body []byte) (*shard.Stored, error) {
	b.mu.Lock()
	b.objs[key] = body
	b.mu.Unlock()
	return &shard.Stored{Bucket: "mem", Key: key, Size: int64(len(body)), URL: b.srv.URL + "/" + key}, nil
}

// TestHandleStoresLargeResults sends a result over the inline limit to the
// results bucket; the coordinator's side fetches it back by its URL.
// (cmd/loadgen's tests do the same on an S3-API server.)
func TestHandleStoresLargeResults(t *testing.T) {
	srv, _ := target(t)
	ev := event(t, srv.URL, 0)
	b := newMemBucket(t)
	resp, res := roundTrip(t, context.Background(), &shard.Handler{Store: b, InlineMax: 1000}, ev)
	if res != nil || resp.Stored == nil || resp.Stored.Key != shard.Key(ev.Part) || resp.Stored.Size == 0 {
		t.Fatalf("got %+v, want the result stored under %s", resp, shard.Key(ev.Part))
	}
	got, err := shard.Fetch(context.Background(), http.DefaultClient, resp.Stored)
	if err != nil {
		t.Fatal(err)
	}
	if got.Part.Shard != 0 || got.Sent != 50 || got.Total.Count != 50 {
		t.Errorf("stored result: part %+v sent %d done %d", got.Part, got.Sent, got.Total.Count)
	}
	gone := *resp.Stored
	gone.URL = b.srv.URL + "/surge-load/none.json.gz"
	if _, err := shard.Fetch(context.Background(), http.DefaultClient, &gone); err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Errorf("a missing object: got %v", err)
	}

	t.Run("NoBucket", func(t *testing.T) {
		_, err := (&shard.Handler{InlineMax: 1000}).Handle(context.Background(), event(t, srv.URL, 1))
		if err == nil || !strings.Contains(err.Error(), "no results bucket is configured") {
			t.Errorf("got %v", err)
		}
	})
}

func TestHandleRefusesAPartLongerThanTheFunction(t *testing.T) {
	srv, n := target(t)
	ev := event(t, srv.URL, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := (&shard.Handler{}).Handle(ctx, ev)
	if err == nil || !strings.Contains(err.Error(), "the function has") || n.Load() != 0 {
		t.Errorf("got %v and %d requests sent", err, n.Load())
	}
}

// TestEventKeepsTheScenario: what the coordinator sends is what the
// generator runs, field for field.
func TestEventKeepsTheScenario(t *testing.T) {
	s := load.DefaultScenario()
	s.Headers = load.Headers{"x-api-key": "secret", "X-Tenant": "t1"}
	s.Stages = load.Stages{{Duration: time.Second, Target: 10}, {Duration: 2500 * time.Millisecond, Target: 3}}
	s.Thresholds = load.Thresholds{}
	for _, th := range []string{"read.p99<50ms", "errors<1%"} {
		if err := s.Thresholds.Set(th); err != nil {
			t.Fatal(err)
		}
	}
	s.Mix = load.Mix{"read": 3, "ops": 1}
	s.API.OpsMix = load.Mix{"echo": 1}
	b, _ := json.Marshal(shard.Event{Scenario: s})
	var got shard.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Scenario, s) {
		t.Errorf("got %+v\nwant %+v", got.Scenario, s)
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"stored":{"bucket":"b","key":"k","size":1,"url":"https://b.s3.amazonaws.com/k?X-Amz-Signature=1"},"received":"2026-12-01T10:00:00Z","replied":"2026-12-01T10:00:01Z"}`))
	f.Add([]byte(`{"result":{"schema":"surge.load.result/v1"}}`))
	f.Add([]byte(`{"result":{},"stored":{}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, res, err := shard.ParseResponse(b)
		if err != nil {
			return
		}
		if res == nil && (resp.Stored == nil || resp.Stored.URL == "") {
			t.Fatalf("accepted %q with neither a result nor where it is", b)
		}
		if res != nil && res.Part == nil {
			t.Fatalf("accepted a result that is not a part's: %q", b)
		}
	})
}
