package load

import (
	"math/rand/v2"
	"sync"

	"github.com/surgehq/surge/internal/load/postman"
)

// entry is what one response of a collection's producer made, for the
// requests that read it: the values of the variables it set, with those
// of the entries its request used (its parents), so that the id and the
// ETag of one item, or a comment's id and its article's slug, are used
// together.
//
// Its holds keep the load tester from making errors of its own: a
// request that only reads (GET) shares an entry with other readers; one
// that changes what the entry stands for (a PUT with If-Match, a POST on
// it) holds it alone, so that it never races another change of it nor a
// read whose If-None-Match it would make stale; a delete also waits until
// no request holds an entry made from this one, and the entries made from
// a deleted one are dropped.
type entry struct {
	vals    []entryVal // by variable
	parents []*entry
	// Under the pools' lock:
	readers int32
	writer  bool
	below   int32 // holds on entries made from this one
	dead    bool  // deleted
}

// entryVal is one chained variable's value, and the scope it is set in.
type entryVal struct {
	v   int
	t   postman.Target
	val string
}

// holdMode is how a request holds an entry.
type holdMode uint8

const (
	holdRead   holdMode = iota // shared with other readers
	holdWrite                  // alone
	holdDelete                 // alone, with nothing made from it in use; taken out of its pool
)

// entryPools are the producers' pools of entries, bounded: past its size a
// new entry replaces a random one, so that memory stays flat however long
// the run. One lock guards them all: a pick is a few operations.
type entryPools struct {
	mu    sync.Mutex
	pools [][]*entry // by producer
	size  int
}

func newEntryPools(producers, size int) *entryPools {
	return &entryPools{pools: make([][]*entry, producers), size: max(1, size)}
}

// pickTries bounds how many entries a pick looks at for a free one.
const pickTries = 8

// pick holds an entry of producer p's pool in mode, chosen by k, and
// appends its values to vals. It fails when the pool is empty or the
// entries it looked at were busy.
func (ps *entryPools) pick(p int, mode holdMode, k *picker, vals []entryVal) (*entry, []entryVal, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for range pickTries {
		es := ps.pools[p]
		if len(es) == 0 {
			break
		}
		i := k.index(len(es))
		e := es[i]
		if e.stale() {
			e.dead = true
			ps.remove(p, i)
			continue
		}
		if !e.free(mode) {
			continue
		}
		e.hold(mode, 1)
		if mode == holdDelete {
			e.dead = true
			ps.remove(p, i)
		}
		return e, append(vals, e.vals...), true
	}
	return nil, vals, false
}

func (ps *entryPools) remove(p, i int) {
	es := ps.pools[p]
	es[i] = es[len(es)-1]
	es[len(es)-1] = nil
	ps.pools[p] = es[:len(es)-1]
}

// release ends the holds of a request on its entries.
func (ps *entryPools) release(es []*entry, modes []holdMode) {
	if len(es) == 0 {
		return
	}
	ps.mu.Lock()
	for i, e := range es {
		e.hold(modes[i], -1)
	}
	ps.mu.Unlock()
}

// add puts a new entry in producer p's pool.
func (ps *entryPools) add(p int, e *entry, r *rand.Rand) {
	ps.mu.Lock()
	if es := ps.pools[p]; len(es) < ps.size {
		ps.pools[p] = append(es, e)
	} else {
		es[r.IntN(len(es))] = e
	}
	ps.mu.Unlock()
}

// writeBack sets, in the entries that hold them, the new values of
// variables a request set again (an item's new ETag).
func (ps *entryPools) writeBack(es []*entry, vals []entryVal) {
	ps.mu.Lock()
	for _, nv := range vals {
		for _, e := range es {
			for i := range e.vals {
				if e.vals[i].v == nv.v {
					e.vals[i].val = nv.val
				}
			}
		}
	}
	ps.mu.Unlock()
}

// free reports whether e may be held in mode.
func (e *entry) free(mode holdMode) bool {
	switch mode {
	case holdRead:
		return !e.writer
	case holdWrite:
		return !e.writer && e.readers == 0
	}
	return !e.writer && e.readers == 0 && e.below == 0
}

// hold takes (n = 1) or gives back (n = -1) a hold of e in mode, and the
// holds below it of the entries it was made from.
func (e *entry) hold(mode holdMode, n int32) {
	if mode == holdRead {
		e.readers += n
	} else {
		e.writer = n > 0
	}
	for _, p := range e.parents {
		p.holdBelow(n)
	}
}

func (e *entry) holdBelow(n int32) {
	e.below += n
	for _, p := range e.parents {
		p.holdBelow(n)
	}
}

// stale reports whether an entry e was made from is deleted.
func (e *entry) stale() bool {
	for _, p := range e.parents {
		if p.dead || p.stale() {
			return true
		}
	}
	return false
}
