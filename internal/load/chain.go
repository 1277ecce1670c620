package load

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
)

// plan works out how an open-model run's requests chain (see
// postmanWorkload): the variables each needs from another request's
// responses and the producers whose entries hold them, which requests
// change or delete what they use, which cannot run at all; it weighs the
// requests and tells notes.
func (w *postmanWorkload) plan(notes io.Writer) error {
	idx := map[string]int{}
	for _, q := range w.reqs {
		for _, v := range q.Sets() {
			if _, ok := idx[v]; !ok {
				idx[v] = len(w.chained)
				w.chained = append(w.chained, v)
			}
		}
	}
	for _, q := range w.reqs {
		w.analyse(q, idx)
	}
	// A request can run when each variable it needs is in the entries of
	// producers that can run; a producer needing nothing always can. Its
	// producers are chosen among those that could run before it, so that
	// a chain of replacements (next) always ends.
	for changed := true; changed; {
		changed = false
		for _, q := range w.reqs {
			if q.runnable {
				continue
			}
			if from, ok := w.cover(q); ok {
				q.from, q.runnable, changed = from, true, true
				q.deletes = w.deleted(q, idx)
			}
		}
	}
	mix := w.s.Postman.Mix
	for _, k := range sortedKeys(mix) {
		if k != "*" && !slices.Contains(w.names, k) {
			return fmt.Errorf("postman.mix: no request %q in the run (its requests: %s)", k, strings.Join(w.names, ", "))
		}
	}
	var total float64
	var left []string
	for _, q := range w.reqs {
		q.weight = mix.weight(q.name)
		if !q.runnable && q.weight > 0 {
			q.weight = 0
			var missing []string
			for _, v := range q.needs {
				missing = append(missing, "{{"+w.chained[v]+"}}")
			}
			left = append(left, fmt.Sprintf("%s: it reads %s, which no request of the run makes before reading it",
				q.name, strings.Join(missing, " ")))
		}
		total += q.weight
	}
	w.tellChains(notes)
	if len(left) > 0 {
		fmt.Fprintf(notes, "postman: %d requests are left out of the mix:\n", len(left))
		for _, l := range left {
			fmt.Fprintf(notes, "  %s\n", l)
		}
		if w.s.Postman.Strict {
			return fmt.Errorf("postman %s: %d requests cannot run in the open model (see above), and --postman-strict is set", w.s.Postman.File, len(left))
		}
	}
	if !(total > 0) {
		return errNoRequests
	}
	return nil
}

// analyse finds what q reads and sets of the chained variables, and how it
// treats its entries.
func (w *postmanWorkload) analyse(q *pmReq, idx map[string]int) {
	sets := map[int]postman.Target{}
	for _, c := range q.Pre {
		if v, ok := idx[c.Var]; ok && !c.Unset {
			sets[v] = c.Scope
		}
	}
	q.capVar = make([]int, len(q.Actions))
	for j, a := range q.Actions {
		q.capVar[j] = -1
		if c := a.Capture; c != nil && !c.Unset {
			v := idx[c.Var]
			sets[v] = c.Scope
			q.capVar[j] = v
		}
	}
	needs := map[int]bool{}
	for _, name := range q.Uses() {
		if v, ok := idx[name]; ok {
			needs[v] = true
		}
	}
	for _, name := range q.ScriptReads() {
		if v, ok := idx[name]; ok {
			if _, set := sets[v]; !set {
				needs[v] = true
			}
		}
	}
	for v := range needs {
		q.needs = append(q.needs, v)
	}
	slices.Sort(q.needs)
	for v, t := range sets {
		q.sets = append(q.sets, setVar{v: v, t: t})
		if needs[v] {
			q.writeBack = true
		} else {
			q.made = append(q.made, v)
		}
	}
	slices.SortFunc(q.sets, func(a, b setVar) int { return a.v - b.v })
	slices.Sort(q.made)
	q.creator = len(q.made) > 0
	switch q.Method {
	case "GET", "HEAD", "OPTIONS":
	default:
		q.writer = true
	}
}

// provides returns the chained variables p's entries hold: what it reads
// and what it sets.
func provides(p *pmReq) []int {
	out := slices.Clone(p.needs)
	for _, s := range p.sets {
		if !slices.Contains(out, s.v) {
			out = append(out, s.v)
		}
	}
	return out
}

// cover chooses the runnable producers whose entries hold the variables q
// needs: the one that holds most of those still missing, the smallest on
// a tie, then the first; it fails when some variable is in no runnable
// producer's entries.
func (w *postmanWorkload) cover(q *pmReq) ([]int, bool) {
	left := slices.Clone(q.needs)
	var from []int
	for len(left) > 0 {
		var best *pmReq
		var bestHas, bestSize int
		for _, p := range w.reqs {
			if p == q || !p.creator || !p.runnable {
				continue
			}
			pv := provides(p)
			has := 0
			for _, v := range left {
				if slices.Contains(pv, v) {
					has++
				}
			}
			if has > bestHas || has == bestHas && has > 0 && len(pv) < bestSize {
				best, bestHas, bestSize = p, has, len(pv)
			}
		}
		if best == nil {
			return nil, false
		}
		from = append(from, best.idx)
		pv := provides(best)
		left = slices.DeleteFunc(left, func(v int) bool { return slices.Contains(pv, v) })
	}
	return from, true
}

// deleted returns the index in q.from of the producer whose thing q
// deletes, or -1: a DELETE whose URL's path ends with a variable that the
// producer makes (DELETE {{baseUrl}}/items/{{id}} deletes what
// POST {{baseUrl}}/items made; DELETE .../{{slug}}/favorite does not).
func (w *postmanWorkload) deleted(q *pmReq, idx map[string]int) int {
	if q.Method != "DELETE" {
		return -1
	}
	path := q.URL()
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimSuffix(path, "/")
	last := path[strings.LastIndexByte(path, '/')+1:]
	name, ok := strings.CutPrefix(last, "{{")
	if name, ok = strings.CutSuffix(name, "}}"); !ok {
		return -1
	}
	v, ok := idx[name]
	if !ok {
		return -1
	}
	for j, p := range q.from {
		if slices.Contains(w.reqs[p].made, v) {
			return j
		}
	}
	return -1
}

// tellChains writes how the requests chain, a line per producer.
func (w *postmanWorkload) tellChains(notes io.Writer) {
	users := map[int][]string{}
	for _, q := range w.reqs {
		for j, p := range q.from {
			use := q.name
			switch {
			case j == q.deletes:
				use += " (deletes)"
			case q.writer:
				use += " (writes)"
			}
			users[p] = append(users[p], use)
		}
	}
	if len(users) == 0 {
		return
	}
	fmt.Fprintf(notes, "postman: open model: requests take what they read from the responses that made it (scope %s):\n", orShared(w.s.Postman.Scope))
	for _, p := range w.reqs {
		if len(users[p.idx]) == 0 {
			continue
		}
		var made []string
		for _, v := range p.made {
			made = append(made, "{{"+w.chained[v]+"}}")
		}
		fmt.Fprintf(notes, "  %s makes %s, for %s\n", p.name, strings.Join(made, " "), strings.Join(users[p.idx], ", "))
	}
}

func orShared(scope string) string {
	if scope == "" {
		return ScopeShared
	}
	return scope
}

// mixSource is an open-model sender of a collection's requests: each
// arrival picks a request by weight, takes the entries it needs (or sends
// their producer instead), and sets their values before rendering.
type mixSource struct {
	w     *postmanWorkload
	c     *pmCounts
	sc    *postman.Scope
	rd    *postman.Renderer
	rnd   *rand.Rand
	pk    picker
	mix   chooser
	pools *entryPools
	// The request in flight: which, the entries it holds and how, the
	// values they had, and the chained variables its response set.
	cur  *pmReq
	used []*entry
	mode []holdMode
	vals []entryVal
	made []bool
	// missing is the producer whose pool had no free entry for take.
	missing int
}

func (m *mixSource) next(req *request) bool {
	q := m.w.reqs[m.mix.pick(m.rnd)]
	// Each replacement is a producer that runnability was built up from,
	// so the chain ends, at the latest at a request that needs nothing.
	for !m.take(q) {
		q = m.w.reqs[m.missing]
	}
	m.cur = q
	m.setVars()
	fill(req, q, m.rd.Render(q.Request))
	return true
}

// take holds the entries q needs, one from each of its producers' pools;
// when one has none free, it holds nothing and sets m.missing to that
// producer.
func (m *mixSource) take(q *pmReq) bool {
	m.used, m.mode, m.vals = m.used[:0], m.mode[:0], m.vals[:0]
	for j, p := range q.from {
		mode := holdRead
		switch {
		case j == q.deletes:
			mode = holdDelete
		case q.writer:
			mode = holdWrite
		}
		e, vals, ok := m.pools.pick(p, mode, &m.pk, m.vals)
		if !ok {
			m.pools.release(m.used, m.mode)
			m.used, m.mode, m.vals = m.used[:0], m.mode[:0], m.vals[:0]
			m.missing = p
			return false
		}
		m.used, m.mode, m.vals = append(m.used, e), append(m.mode, mode), vals
	}
	return true
}

// setVars sets the chained variables as the held entries have them, and
// the others as every sender started with them, so that nothing of an
// earlier request's entries is read.
func (m *mixSource) setVars() {
	base := m.w.base
	for _, name := range m.w.chained {
		for t := postman.Local; t <= postman.Global; t++ {
			if v, ok := base.GetIn(t, name); ok {
				m.sc.Set(t, name, v)
			} else {
				m.sc.Unset(t, name)
			}
		}
	}
	for _, ev := range m.vals {
		m.sc.Set(ev.t, m.w.chained[ev.v], ev.val)
	}
}

func (m *mixSource) done(_ *request, res *response, err error, elapsed time.Duration) bool {
	q := m.cur
	defer func() {
		m.pools.release(m.used, m.mode)
		m.used, m.mode = m.used[:0], m.mode[:0]
	}()
	if err != nil {
		return true
	}
	clear(m.made)
	for _, c := range q.Pre {
		if !c.Unset {
			m.markSet(q, c.Var)
		}
	}
	r := judged(res, elapsed)
	checked, failed := m.c.judge(q, &r, m.sc, m.made)
	if res.status >= m.w.errStatus {
		return m.w.isErr(res.status, checked, failed)
	}
	if q.writeBack && len(m.used) > 0 {
		m.pools.writeBack(m.used, m.setValues(q, false))
	}
	if q.creator {
		whole := true
		for _, v := range q.made {
			whole = whole && m.made[v]
		}
		if whole {
			m.pools.add(q.idx, m.newEntry(q), m.rnd)
		}
	}
	return m.w.isErr(res.status, checked, failed)
}

// markSet marks a chained variable as set by the request's pre-request
// script.
func (m *mixSource) markSet(q *pmReq, name string) {
	for _, s := range q.sets {
		if m.w.chained[s.v] == name {
			m.made[s.v] = true
		}
	}
}

// setValues returns the values of the chained variables q set, as its
// scope has them: those it made too when all is set.
func (m *mixSource) setValues(q *pmReq, all bool) []entryVal {
	var out []entryVal
	for _, s := range q.sets {
		if !m.made[s.v] || !all && slices.Contains(q.made, s.v) {
			continue
		}
		if v, ok := m.sc.GetIn(s.t, m.w.chained[s.v]); ok {
			out = append(out, entryVal{v: s.v, t: s.t, val: v})
		}
	}
	return out
}

// newEntry is what a producer's response made: the values of the entries
// it used, with what it set over them.
func (m *mixSource) newEntry(q *pmReq) *entry {
	e := &entry{parents: slices.Clone(m.used)}
	set := m.setValues(q, true)
	for _, ev := range m.vals {
		if !slices.ContainsFunc(set, func(s entryVal) bool { return s.v == ev.v }) &&
			!slices.ContainsFunc(e.vals, func(s entryVal) bool { return s.v == ev.v }) {
			e.vals = append(e.vals, ev)
		}
	}
	e.vals = append(e.vals, set...)
	slices.SortFunc(e.vals, func(a, b entryVal) int { return a.v - b.v })
	return e
}
