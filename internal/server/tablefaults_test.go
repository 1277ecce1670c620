package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/server"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

// A provisioned table over its capacity, alone and with the store
// failing beside it (--fault): concurrent writers get a contract answer
// for every request (201; 503 unavailable with Retry-After and
// X-Limit-Source table.write for what the table refused; 500 for what
// the store failed), every acknowledged create is read back, nothing of a
// refused or failed one is written, and writes succeed again by
// themselves once the table's capacity has refilled. The table's time is
// the injected clock, which does not move while the writers write: its
// bucket holds what it held at start, and no more is admitted.
func TestTableThrottlingGivesCleanErrorsAndNoPartialWrite(t *testing.T) {
	for _, tc := range []struct{ name, fault string }{
		{"Throttled", ""},
		{"ThrottledAndFailing", "store:error=0.5,ops=create,duration=1m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := manualclock.New(time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC))
			p := start(t, func(c *server.Config) {
				c.Now, c.Fault.Spec = clock.Now, tc.fault
				c.Capacity.Billing = "provisioned"
				c.Capacity.RCU, c.Capacity.WCU = 1000, 20
				c.Capacity.Retries = 1
			})
			const writers, each = 8, 10
			var mu sync.Mutex
			outcome := map[string]int{}
			statuses := map[int]int{}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						id := fmt.Sprintf("w%d-%d", w, i)
						code, h, body, err := tryDo("POST", p.base+"/items", map[string]any{"id": id, "v": id})
						if err != nil {
							t.Errorf("POST %s: %v", id, err)
							continue
						}
						switch {
						case code == 201:
						case code == 503 && rest.LimitSource(h) == "table.write" && h.Get("Retry-After") != "" &&
							strings.Contains(string(body), `"code":"unavailable"`):
						case code == 500 && tc.fault != "" && string(body) == internalBody && rest.LimitSource(h) == "":
						default:
							t.Errorf("POST %s: got %d %v %s, want 201, 503 table.write or a clean 500", id, code, h, body)
						}
						mu.Lock()
						outcome[id] = code
						statuses[code]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			t.Logf("statuses %v", statuses)
			if statuses[201] == 0 || statuses[503] == 0 || (tc.fault != "" && statuses[500] == 0) {
				t.Fatalf("statuses %v: the test needs creates, refusals and (with the fault) failures", statuses)
			}
			// A new table's bucket holds a second of its capacity; a failed
			// create is charged nothing.
			if statuses[201] != 20 {
				t.Errorf("%d creates acknowledged on a table of 20 write units whose clock did not move, want 20", statuses[201])
			}
			for id, code := range outcome {
				v, s := item(t, p.base, id)
				if code == 201 && (v != 1 || s != id) {
					t.Errorf("acknowledged create %s: read version %d v=%q", id, v, s)
				}
				if code != 201 && v != 0 {
					t.Errorf("create %s answered %d is written (version %d)", id, code, v)
				}
			}
			// The fault is over and the table has refilled: writes succeed
			// again by themselves, without a restart or a change of capacity.
			clock.Advance(time.Minute)
			if code, h, body := do(t, "POST", p.base+"/items", map[string]any{"id": "after", "v": "after"}); code != 201 {
				t.Errorf("POST once the capacity refilled: got %d %v %s", code, h, body)
			}
		})
	}
}
