package load

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// A workload makes a run's requests and judges their responses: the CRUD
// mix of the scenario (crudWorkload), or the requests of a Postman
// collection (postmanWorkload). The engine only paces, sends and records.
type workload interface {
	// ops names the workload's operations; an Op indexes it, and the
	// metrics have a row per name.
	ops() []string
	// newSource returns worker i's source of requests, with rnd its
	// random source. A worker's source is used by that worker alone.
	newSource(i int, rnd *rand.Rand) source
}

// A source is one worker's stream of requests. A worker has one request
// in flight at a time: next fills it, done ends it.
type source interface {
	// next fills req with the next request to send. It returns false
	// when the worker has no more to send: a closed-model user that ran
	// its iterations.
	next(req *request) bool
	// done ends the request: res is its response, or err why it got none;
	// elapsed is how long it took from its send. It reports whether the
	// request counts as an error.
	done(req *request, res *response, err error, elapsed time.Duration) bool
}

// crudWorkload is the scenario's mix of CRUD operations on the API's
// shape, with ids chained through the run's pool.
type crudWorkload struct{ r *runner }

func (c *crudWorkload) ops() []string { return opNames[:] }

func (c *crudWorkload) newSource(i int, rnd *rand.Rand) source {
	r := c.r
	return &crudSource{r: r, iterations: r.s.iterations(),
		b: newBuilder(&r.s, r.sh, r.pl, r.pool, rnd, r.prefix+strconv.Itoa(i)+"-")}
}

// crudSource builds a worker's requests of the mix; in the closed model an
// iteration is one request.
type crudSource struct {
	r          *runner
	b          *builder
	iterations int // 0: no bound
	n          int
}

func (c *crudSource) next(req *request) bool {
	if c.iterations > 0 && c.n >= c.iterations {
		return false
	}
	c.n++
	c.b.next(req)
	return true
}

// done releases the ids the request held and, when it succeeded, keeps
// the id it created.
func (c *crudSource) done(req *request, res *response, err error, _ time.Duration) bool {
	r := c.r
	r.pool.release(req.held)
	if err != nil {
		return true
	}
	if res.status >= r.sh.errStatus {
		return true
	}
	if req.wantID {
		if id, ok := r.sh.extractID(res); ok {
			r.pool.add(id, c.b.r)
		}
	} else if req.newID != "" {
		r.pool.add(req.newID, c.b.r)
	}
	return false
}

// iterations is the closed model's bound on each user's iterations, 0
// when none (the open model has none).
func (s *Scenario) iterations() int {
	if s.Model != ModelClosed {
		return 0
	}
	return s.Iterations
}
