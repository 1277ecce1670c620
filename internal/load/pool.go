package load

import (
	"math/rand/v2"
	"sync"
)

// pool holds the ids of items the run created, for the operations that
// need an existing item. It is bounded: past its size, a new id replaces a
// random one, so memory stays flat however long a run creates.
//
// A delete never retires an item that a request in flight is using: such
// races would show as 404s of the load tester's own making, not the
// target's. So a share of the new ids (retire: the deletes expected per
// create) goes to a queue that only deletes take from, and the ids picked
// for requests in flight are counted until they end (release); when that
// queue is empty, a delete takes a shared id that nothing is using.
type pool struct {
	mu       sync.Mutex
	ids      []string
	doomed   []string
	inflight map[string]int32
	retire   float64
	size     int
	// fixed is how many ids at the front of ids were given to the run
	// (WithIDs): items of a data set shared by several runs, which reads
	// and updates use but deletes never take.
	fixed int
}

func newPool(size int, retire float64) *pool {
	return &pool{size: size, retire: retire, ids: make([]string, 0, min(size, 1<<16)), inflight: map[string]int32{}}
}

// retireShare returns the deletes a mix sends per create (at most 1), the
// share of new ids that the pool keeps for deletes.
func retireShare(mix, opsMix map[string]float64) float64 {
	var opsTotal float64
	for _, w := range opsMix {
		opsTotal += w
	}
	share := func(name string) float64 {
		w := mix[name]
		if opsTotal > 0 {
			w += mix["ops"] * opsMix[name] / opsTotal
		}
		return w
	}
	del, create := share("delete"), share("create")
	switch {
	case del <= 0:
		return 0
	case create <= 0:
		return 0.5
	}
	return min(1, del/create)
}

func (p *pool) add(id string, r *rand.Rand) {
	p.mu.Lock()
	into := &p.ids
	if p.retire > 0 && r.Float64() < p.retire {
		into = &p.doomed
	}
	if len(*into) < p.size {
		*into = append(*into, id)
	} else {
		(*into)[r.IntN(len(*into))] = id
	}
	p.mu.Unlock()
}

// addFixed puts ids at the front of the pool, where deletes never take
// them.
func (p *pool) addFixed(ids []string) {
	p.mu.Lock()
	for _, id := range ids {
		if len(p.ids) >= p.size {
			break
		}
		p.ids = append(p.ids, id)
	}
	p.fixed = len(p.ids)
	p.mu.Unlock()
}

func (p *pool) len() int {
	p.mu.Lock()
	n := len(p.ids)
	p.mu.Unlock()
	return n
}

// pick returns an id chosen by the picker, leaving it in the pool, and
// appends it to req's held ids: it counts as in use until release.
func (p *pool) pick(k *picker, req *request) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.ids)
	if n == 0 {
		return "", false
	}
	id := p.ids[k.index(n)]
	p.inflight[id]++
	req.held = append(req.held, id)
	return id, true
}

// release ends the use of ids that pick handed out.
func (p *pool) release(ids []string) {
	if len(ids) == 0 {
		return
	}
	p.mu.Lock()
	for _, id := range ids {
		if p.inflight[id] <= 1 {
			delete(p.inflight, id)
		} else {
			p.inflight[id]--
		}
	}
	p.mu.Unlock()
}

// takeTries bounds how many shared ids a delete looks at for one that no
// request in flight is using.
const takeTries = 8

// take removes an id for a delete: the oldest kept for deletes, else a
// shared one that no request in flight is using. It fails when there is
// none (the caller then creates instead).
func (p *pool) take(r *rand.Rand) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.doomed) > 0 {
		id := p.doomed[0]
		p.doomed[0] = ""
		p.doomed = p.doomed[1:]
		return id, true
	}
	n := len(p.ids)
	if n <= p.fixed {
		return "", false
	}
	for range min(n-p.fixed, takeTries) {
		i := p.fixed + r.IntN(n-p.fixed)
		id := p.ids[i]
		if p.inflight[id] > 0 {
			continue
		}
		p.ids[i] = p.ids[n-1]
		p.ids[n-1] = ""
		p.ids = p.ids[:n-1]
		return id, true
	}
	return "", false
}

// picker chooses an index into a pool of n ids, uniformly or by zipf: with
// zipf, low indices (the oldest items, such as the preseeded ones) are hot.
// Each worker has its own.
type picker struct {
	r     *rand.Rand
	s     float64 // zipf exponent; 0 for uniform
	zipf  *rand.Zipf
	zipfN int // pool length the zipf generator was built for
}

func (k *picker) index(n int) int {
	if k.s <= 1 {
		return k.r.IntN(n)
	}
	// Rebuilding the generator costs a few math calls, so it follows the
	// pool's length only when that moved by more than a tenth.
	if k.zipf == nil || n > k.zipfN+k.zipfN/10 || n < k.zipfN-k.zipfN/10 {
		k.zipf = rand.NewZipf(k.r, k.s, 1, uint64(n-1))
		k.zipfN = n
	}
	i := int(k.zipf.Uint64())
	if i >= n {
		i %= n
	}
	return i
}
