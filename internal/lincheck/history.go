package lincheck

import (
	"fmt"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// History is a record of operations made by concurrent clients, safe for
// concurrent use. Times are nanoseconds since the history began, from the
// monotonic clock.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	// refused counts, by the limit that refused them, operations that
	// took no effect (429, or 503 naming a limit) and are not in the
	// history.
	refused map[string]int
}

// NewHistory returns an empty history that begins now.
func NewHistory() *History { return &History{start: time.Now(), refused: map[string]int{}} }

// Now returns the history's clock.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Add records an operation of client, called at call and answered at ret.
func (h *History) Add(client int, in Input, call int64, out Output, ret int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// Drop counts an operation that a limit refused before it took effect,
// by the limit's X-Limit-Source ("" when the answer named none).
func (h *History) Drop(source string) {
	h.mu.Lock()
	h.refused[source]++
	h.mu.Unlock()
}

// Operations returns the history for the checker: an operation whose
// outcome is unknown returns at the end of the history, so that it may be
// placed anywhere after its call.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	var end int64
	for _, op := range h.ops {
		end = max(end, op.Return, op.Call)
	}
	ops := make([]porcupine.Operation, len(h.ops))
	for i, op := range h.ops {
		if op.Output.(Output).Unknown {
			op.Return = end + 1
		}
		ops[i] = op
	}
	return ops
}

// Stats counts a history's operations.
type Stats struct {
	// Ops counts the operations in the history; Unknown those whose
	// outcome is unknown; Dropped those refused by a limit (429, or 503
	// naming it), left out.
	Ops, Unknown, Dropped int
	// Refused counts the refused operations by X-Limit-Source ("" for a
	// 429 that named none).
	Refused map[string]int
	// Keys counts the items; ByKind the operations of each kind.
	Keys   int
	ByKind map[string]int
	// Statuses counts the answers by status (0 for unknown).
	Statuses map[int]int
}

// Stats returns the history's counts.
func (h *History) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{Ops: len(h.ops), ByKind: map[string]int{}, Statuses: map[int]int{}, Refused: map[string]int{}}
	for src, n := range h.refused {
		s.Dropped += n
		s.Refused[src] = n
	}
	keys := map[string]bool{}
	for _, op := range h.ops {
		in, out := op.Input.(Input), op.Output.(Output)
		keys[in.Key] = true
		s.ByKind[in.Kind.String()]++
		if out.Unknown {
			s.Unknown++
			s.Statuses[0]++
			continue
		}
		s.Statuses[out.Status]++
	}
	s.Keys = len(keys)
	return s
}

// Result is what the checker said of a history.
type Result struct {
	// Outcome is porcupine's: Ok, Illegal, or Unknown when the check ran
	// out of time.
	Outcome porcupine.CheckResult
	// Took is the time the check took.
	Took time.Duration
	info porcupine.LinearizationInfo
}

// Check checks the history against the model, for at most timeout (0:
// no limit).
func Check(h *History, timeout time.Duration) Result {
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(Model(), h.Operations(), timeout)
	return Result{Outcome: res, Took: time.Since(start), info: info}
}

// Visualize writes porcupine's HTML visualisation of the checked history
// to path: the longest linearizable prefix of each item's operations,
// and where it fails.
func (r Result) Visualize(path string) error {
	if err := porcupine.VisualizePath(Model(), r.info, path); err != nil {
		return fmt.Errorf("visualize the history: %w", err)
	}
	return nil
}
