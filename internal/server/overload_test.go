package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/admission"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/server"
)

// gateStore holds every Create until its gate opens: a store that has
// fallen behind, so that requests pile up in front of it.
type gateStore struct {
	items.Store
	gate chan struct{}
}

func (g *gateStore) wrap(st items.Store) items.Store { g.Store = st; return g }

func (g *gateStore) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	<-g.gate
	return g.Store.Create(ctx, key, attrs, idem)
}

// waitAdmission waits until cond holds for the server's admission
// control (10 s at most), polling its state.
func waitAdmission(t *testing.T, c *admission.Controller, what string, cond func(admission.Stats) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(c.Stats()); {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: admission stats %+v", what, c.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// Past its bounds the service sheds (503, Retry-After, X-Limit-Source:
// admission, the contract's body) instead of queueing; every request it
// admitted succeeds and is stored; liveness still answers; and once the
// store catches up the next request is served at once.
func TestAdmissionShedsAndRecovers(t *testing.T) {
	const slots, queue, extra = 3, 2, 7
	g := &gateStore{gate: make(chan struct{})}
	p := start(t, func(c *server.Config) {
		c.WrapStore = g.wrap
		c.Admission = server.AdmissionConfig{Enabled: true, MinInFlight: slots, MaxInFlight: slots, MaxQueue: queue, QueueTimeout: time.Hour}
	})
	ac := p.s.Admission()
	if ac == nil {
		t.Fatal("admission control is off")
	}
	type answer struct {
		id   string
		code int
	}
	answers := make(chan answer, slots+queue)
	var wg sync.WaitGroup
	send := func(from, n int) {
		for i := from; i < from+n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("admitted-%d", i)
				code, _, _, err := tryDo("POST", p.base+"/items", map[string]any{"id": id})
				if err != nil {
					code = -1
				}
				answers <- answer{id, code}
			}()
		}
	}
	send(0, slots)
	waitAdmission(t, ac, "the slots busy", func(s admission.Stats) bool { return s.InFlight == slots })
	send(slots, queue)
	waitAdmission(t, ac, "the queue full", func(s admission.Stats) bool { return s.Queued == queue })

	for i := range extra {
		code, h, body := do(t, "POST", p.base+"/items", map[string]any{"id": fmt.Sprintf("shed-%d", i)})
		if code != 503 || h.Get("Retry-After") != "1" || rest.LimitSource(h) != rest.LimitAdmission ||
			string(body) != `{"code":"unavailable","message":"The service is overloaded; retry shortly."}` {
			t.Errorf("past the bounds: got %d %v %s", code, h, body)
		}
	}
	if code, _, _ := do(t, "GET", p.base+"/healthz", nil); code != 200 {
		t.Errorf("liveness under overload: got %d, want 200", code)
	}
	_, _, metrics := do(t, "GET", p.admin+"/metrics", nil)
	for _, want := range []string{
		fmt.Sprintf(`surge_admission_shed_total{reason="queue_full"} %d`, extra),
		fmt.Sprintf("surge_admission_in_flight %d", slots),
		fmt.Sprintf("surge_admission_queued %d", queue),
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	close(g.gate) // the store catches up
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.code != 201 {
			t.Errorf("admitted create %s: got %d, want 201", a.id, a.code)
			continue
		}
		if code, _, body := do(t, "GET", p.base+"/items/"+a.id, nil); code != 200 {
			t.Errorf("admitted item %s: got %d %s", a.id, code, body)
		}
	}
	for i := range extra {
		if code, _, _ := do(t, "GET", p.base+"/items/"+fmt.Sprintf("shed-%d", i), nil); code != 404 {
			t.Errorf("shed create %d: got %d, want 404 (a shed request does nothing)", i, code)
		}
	}
	// Recovery: nothing is left queued behind the spike.
	if code, h, body := do(t, "POST", p.base+"/items", map[string]any{"id": "after"}); code != 201 || rest.LimitSource(h) != "" {
		t.Errorf("after the spike: got %d %v %s", code, h, body)
	}
	if s := ac.Stats(); s.Shed != extra || s.InFlight != 0 || s.Queued != 0 {
		t.Errorf("got admission stats %+v", s)
	}
}

// At a normal load, within the default bounds, nothing is shed.
func TestAdmissionDefaultsShedNothingAtNormalLoad(t *testing.T) {
	p := start(t, nil)
	ac := p.s.Admission()
	d := server.DefaultConfig().Admission
	if ac == nil || ac.Config().MinInFlight != d.MinInFlight || ac.Config().MaxInFlight != d.MaxInFlight ||
		ac.Config().Target != d.Target || ac.Config().MaxQueue != d.MaxQueue || ac.Config().QueueTimeout != d.QueueTimeout {
		t.Fatalf("admission control: got %+v, want the defaults %+v", ac, d)
	}
	const writers, each = 32, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				code, _, _, err := tryDo("POST", p.base+"/items", map[string]any{"id": fmt.Sprintf("n-%d-%d", w, i)})
				if err != nil {
					code = -1
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[201] != writers*each || ac.Stats().Shed != 0 {
		t.Errorf("got statuses %v, %d shed; want %d × 201", codes, ac.Stats().Shed, writers*each)
	}
	var page struct{ Items []json.RawMessage }
	_, _, body := do(t, "GET", p.base+"/items?limit=1000", nil)
	if err := json.Unmarshal(body, &page); err != nil || len(page.Items) != writers*each {
		t.Errorf("listed %d items, want %d (%v)", len(page.Items), writers*each, err)
	}
}

// With functions on, the pool's concurrency is the admission control.
func TestAdmissionIsOffWithFunctions(t *testing.T) {
	p := start(t, func(c *server.Config) {
		c.Functions.Enabled, c.Functions.Command, c.Functions.Limits = true, "sleep 60", "off"
	})
	if p.s.Admission() != nil {
		t.Error("admission control in front of the function pool")
	}
}
