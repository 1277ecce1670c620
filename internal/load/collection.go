package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
)

// postmanWorkload sends a Postman collection's requests.
//
// In the closed model (runnerSource) each virtual user iterates the run's
// requests in the collection's order with its own copy of the variables,
// as Postman's runner does: the local variables are cleared at the start
// of each iteration, the others kept.
//
// In the open model (mixSource) each arrival picks a request by weight.
// The requests chain through the variables they set (their captures and
// pre-request settings: an item's id and ETag, an article's slug): a
// request that reads such a variable takes an entry from the pool of the
// request that makes it (its producer), and the entry's values are set
// before it renders. A response of a producer adds an entry holding what
// it set with the values of the entries its request used, so that what
// belongs together stays together (an item's id and its ETag; a comment's
// id and its article's slug). A request that sets again what it read
// (the new ETag of a replace) writes it back into its entry. A request
// whose producer's pool is empty, or whose entries are all busy, is
// replaced by its producer, as the CRUD mix's reads become creates. See
// entries.go for the pools and their holds.
type postmanWorkload struct {
	s         *Scenario
	errStatus int
	name      string // the collection's
	base      *postman.Scope
	reqs      []*pmReq
	setup     []*postman.Request
	names     []string
	// chained are the variables the run's requests set, by index.
	chained []string
	shared  *entryPools // nil when each sender keeps its own (ScopeVU)
	open    bool
	checks  []CheckResult   // the checks' rows, counts left zero
	caps    []CaptureResult // the captures' rows
	now     func() time.Time

	mu      sync.Mutex
	sources []*pmCounts
}

// pmReq is one request of the run, with what the open model knows of it.
type pmReq struct {
	*postman.Request
	idx    int
	name   string
	weight float64
	// actions has, per action of the request's scripts, the index of its
	// row in the checks' or captures' table.
	actions []int
	// capVar has, per action, the chained variable a capture sets, or -1.
	capVar []int
	// needs are the chained variables it reads; sets those it sets (with
	// where the value ends up); made those it sets without reading.
	needs []int
	sets  []setVar
	made  []int
	// from are the producers whose pools' entries cover needs.
	from []int
	// creator: it sets variables it does not read, so its responses add
	// entries to its pool. writer: it changes what its entries stand
	// for, so it holds them alone. writeBack: it sets variables it read.
	creator, writer, writeBack bool
	// deletes is the index in from of the pool whose entry it deletes,
	// or -1.
	deletes  int
	runnable bool
}

// setVar is a chained variable a request sets, and the scope it sets it
// in (its last setting's).
type setVar struct {
	v int
	t postman.Target
}

// newPostmanWorkload reads the scenario's collection, its variables and
// its setup, reports to notes what is not understood and how the open
// model chains the requests, and plans the run.
func newPostmanWorkload(s *Scenario, notes io.Writer) (*postmanWorkload, error) {
	p := &s.Postman
	data, err := readSource(context.Background(), p.File)
	if err != nil {
		return nil, fmt.Errorf("postman: %w", err)
	}
	run, err := postman.Parse(data, postman.Options{Folders: p.Folders})
	if err != nil {
		return nil, fmt.Errorf("postman %s: %w", p.File, err)
	}
	issues := slices.Clone(run.Issues)
	var setup []*postman.Request
	if len(p.Setup) > 0 {
		sc, err := postman.Parse(data, postman.Options{Folders: p.Setup})
		if err != nil {
			return nil, fmt.Errorf("postman %s: setup: %w", p.File, err)
		}
		setup = sc.Requests
		for _, iss := range sc.Issues {
			if !slices.Contains(issues, iss) {
				issues = append(issues, iss)
			}
		}
	}
	env, err := readVariables(p.Env)
	if err != nil {
		return nil, err
	}
	globals, err := readVariables(p.Globals)
	if err != nil {
		return nil, err
	}
	w := &postmanWorkload{s: s, errStatus: s.API.ErrorStatus, name: run.Name, setup: setup,
		open: s.Model == ModelOpen, now: time.Now}
	w.base = postman.NewScope(run, env, globals)
	for _, k := range sortedKeys(p.Vars) {
		w.base.Set(postman.Environment, k, p.Vars[k])
	}
	inSetup := map[string]bool{}
	for _, q := range setup {
		inSetup[q.Where] = true
	}
	var names []string
	var folders [][]string
	for _, q := range run.Requests {
		if inSetup[q.Where] {
			continue
		}
		w.reqs = append(w.reqs, &pmReq{Request: q, idx: len(w.reqs), deletes: -1})
		names = append(names, q.Name)
		folders = append(folders, q.Folder)
	}
	if len(w.reqs) == 0 {
		return nil, fmt.Errorf("postman %s: no requests to run (setup folders are not run again)", p.File)
	}
	if len(w.reqs) > 1<<15 {
		return nil, fmt.Errorf("postman %s: %d requests, more than %d", p.File, len(w.reqs), 1<<15)
	}
	w.names = opNamesOf(names, folders)
	for i, q := range w.reqs {
		q.name = w.names[i]
	}
	w.tables()
	fmt.Fprintf(notes, "postman: %s (v%s): %d requests to run%s\n", run.Name, run.Version, len(w.reqs), setupNote(setup))
	if len(issues) > 0 {
		fmt.Fprintf(notes, "postman: %d things the run does not understand, listed once and left out:\n", len(issues))
		for _, iss := range issues {
			fmt.Fprintf(notes, "  %s\n", iss)
		}
		if p.Strict {
			return nil, fmt.Errorf("postman %s: %d things not understood (see above), and --postman-strict is set", p.File, len(issues))
		}
	}
	if w.open {
		if err := w.plan(notes); err != nil {
			return nil, err
		}
		if p.Scope != ScopeVU {
			w.shared = newEntryPools(len(w.reqs), s.IDs.PoolSize)
		}
	}
	return w, nil
}

func setupNote(setup []*postman.Request) string {
	if len(setup) == 0 {
		return ""
	}
	return fmt.Sprintf(", after %d setup requests", len(setup))
}

func readVariables(path string) (*postman.VariableFile, error) {
	if path == "" {
		return nil, nil
	}
	data, err := readSource(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("postman: %w", err)
	}
	f, err := postman.ParseVariables(data)
	if err != nil {
		return nil, fmt.Errorf("postman %s: %w", path, err)
	}
	return f, nil
}

// tables lists the run's checks and captures, each once, and maps each
// request's actions to their rows.
func (w *postmanWorkload) tables() {
	for _, q := range w.reqs {
		q.actions = make([]int, len(q.Actions))
		for j, a := range q.Actions {
			if c := a.Check; c != nil {
				q.actions[j] = len(w.checks)
				w.checks = append(w.checks, CheckResult{Request: q.name, Test: c.Test, Check: c.String()})
				continue
			}
			q.actions[j] = len(w.caps)
			c := a.Capture
			w.caps = append(w.caps, CaptureResult{Request: q.name, Variable: c.Var, Capture: c.String()})
		}
	}
}

func (w *postmanWorkload) ops() []string { return w.names }

func (w *postmanWorkload) newSource(_ int, rnd *rand.Rand) source {
	c := &pmCounts{checks: make([]int64, 2*len(w.checks)), caps: make([]int64, 2*len(w.caps))}
	w.mu.Lock()
	w.sources = append(w.sources, c)
	w.mu.Unlock()
	sc := w.base.Clone()
	rd := postman.NewRenderer(sc, rnd, w.now)
	if !w.open {
		return &runnerSource{w: w, c: c, sc: sc, rd: rd, iterations: w.s.iterations()}
	}
	m := &mixSource{w: w, c: c, sc: sc, rd: rd, rnd: rnd, pk: picker{r: rnd}, pools: w.shared,
		made: make([]bool, len(w.chained))}
	if w.s.IDs.Distribution == DistZipf {
		m.pk.s = w.s.IDs.ZipfS
	}
	if m.pools == nil {
		m.pools = newEntryPools(len(w.reqs), w.s.IDs.PoolSize)
	}
	weights := map[string]float64{}
	ops := make([]Op, len(w.reqs))
	for i, q := range w.reqs {
		weights[q.name] = q.weight
		ops[i] = Op(i)
	}
	m.mix = newChooser(weights, w.names, ops)
	return m
}

// pmCounts are one sender's counts of checks (passed, failed) and captures
// (made, missed), by row; the run's are their sums.
type pmCounts struct {
	checks []int64
	caps   []int64
}

// judge runs a request's captures and checks on a response in script
// order, counting each, and marks in made the chained variables its
// captures set. It reports how many checks applied and how many failed.
func (c *pmCounts) judge(q *pmReq, res *postman.Response, sc *postman.Scope, made []bool) (checked, failed int) {
	for j, a := range q.Actions {
		row := q.actions[j]
		if cp := a.Capture; cp != nil {
			if !cp.Applies(res, sc) {
				continue
			}
			if cp.Apply(res, sc) {
				c.caps[2*row]++
				if made != nil && q.capVar != nil && q.capVar[j] >= 0 && !cp.Unset {
					made[q.capVar[j]] = true
				}
			} else {
				c.caps[2*row+1]++
			}
			continue
		}
		ck := a.Check
		if !ck.Applies(res, sc) {
			continue
		}
		checked++
		if ck.Pass(res, sc) {
			c.checks[2*row]++
		} else {
			c.checks[2*row+1]++
			failed++
		}
	}
	return checked, failed
}

// isErr tells whether a response is an error: when a check failed, or,
// when none applied, at the error status.
func (w *postmanWorkload) isErr(status, checked, failed int) bool {
	if checked > 0 {
		return failed > 0
	}
	return status >= w.errStatus
}

// fill makes req of a rendered request.
func fill(req *request, q *pmReq, rd *postman.Rendered) {
	*req = request{op: Op(q.idx), method: rd.Method, url: rd.URL, body: rd.Body, header: rd.Header,
		judge: true, held: req.held[:0]}
	if len(req.body) == 0 {
		req.body = nil
	}
}

// response is what a collection's checks read of a response.
func judged(res *response, elapsed time.Duration) postman.Response {
	return postman.Response{Status: res.status, Header: res.header, Body: res.body, Elapsed: elapsed}
}

// runnerSource is a closed-model user: it iterates the run's requests in
// order, as Postman's runner does.
type runnerSource struct {
	w          *postmanWorkload
	c          *pmCounts
	sc         *postman.Scope
	rd         *postman.Renderer
	pos, iter  int
	iterations int
	cur        *pmReq
}

func (u *runnerSource) next(req *request) bool {
	if u.pos == 0 {
		if u.iterations > 0 && u.iter >= u.iterations {
			return false
		}
		u.sc.Clear(postman.Local) // a new iteration
	}
	u.cur = u.w.reqs[u.pos]
	if u.pos++; u.pos == len(u.w.reqs) {
		u.pos, u.iter = 0, u.iter+1
	}
	fill(req, u.cur, u.rd.Render(u.cur.Request))
	return true
}

func (u *runnerSource) done(_ *request, res *response, err error, elapsed time.Duration) bool {
	if err != nil {
		return true
	}
	r := judged(res, elapsed)
	checked, failed := u.c.judge(u.cur, &r, u.sc, nil)
	return u.w.isErr(res.status, checked, failed)
}

// runSetup sends the setup requests once, in order, on c: what they
// capture goes into the variables every user starts with. Any failure
// (no response, a failed check or capture, an error status when no check
// applies) stops the run.
func (w *postmanWorkload) runSetup(ctx context.Context, c client, notes io.Writer) error {
	if len(w.setup) == 0 {
		return nil
	}
	rd := postman.NewRenderer(w.base, nil, w.now)
	var req request
	var res response
	for _, q := range w.setup {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("postman setup: %w", err)
		}
		fill(&req, &pmReq{Request: q}, rd.Render(q))
		start := time.Now()
		if err := c.do(&req, &res); err != nil {
			return fmt.Errorf("postman setup: %s: %s %s: %w", q.Where, req.method, req.url, err)
		}
		r := judged(&res, time.Since(start))
		o := q.Judge(&r, w.base)
		var why []string
		for _, f := range o.Failures {
			why = append(why, "check failed: "+f.String())
		}
		if o.Missed > 0 {
			why = append(why, fmt.Sprintf("%d of %d captures found no value", o.Missed, o.Captures))
		}
		if o.Checks == 0 && res.status >= w.errStatus {
			why = append(why, "an error status")
		}
		if len(why) > 0 {
			return fmt.Errorf("postman setup: %s: status %d: %s", q.Where, res.status, strings.Join(why, "; "))
		}
	}
	fmt.Fprintf(notes, "postman: setup: %d requests passed\n", len(w.setup))
	return nil
}

// report puts the senders' counts of checks and captures into the result:
// the tables, and the sums per operation and in all.
func (w *postmanWorkload) report(res *Result) {
	checks := make([]int64, 2*len(w.checks))
	caps := make([]int64, 2*len(w.caps))
	w.mu.Lock()
	for _, c := range w.sources {
		for i, n := range c.checks {
			checks[i] += n
		}
		for i, n := range c.caps {
			caps[i] += n
		}
	}
	w.mu.Unlock()
	byOp := map[string]*OpResult{}
	for i := range res.Ops {
		byOp[res.Ops[i].Name] = &res.Ops[i]
	}
	res.Checks, res.Captures = []CheckResult{}, []CaptureResult{}
	for i, row := range w.checks {
		row.Passed, row.Failed = checks[2*i], checks[2*i+1]
		if row.Passed+row.Failed == 0 {
			continue
		}
		res.Checks = append(res.Checks, row)
		for _, o := range []*OpResult{byOp[row.Request], &res.Total} {
			if o != nil {
				o.Checks += row.Passed + row.Failed
				o.ChecksFailed += row.Failed
			}
		}
	}
	for i, row := range w.caps {
		row.Made, row.Missed = caps[2*i], caps[2*i+1]
		if row.Made+row.Missed == 0 {
			continue
		}
		res.Captures = append(res.Captures, row)
		for _, o := range []*OpResult{byOp[row.Request], &res.Total} {
			if o != nil {
				o.Captures += row.Made + row.Missed
				o.CapturesMissed += row.Missed
			}
		}
	}
}

// errNoRequests is returned when a run has nothing it can send.
var errNoRequests = errors.New("postman: no request of the mix can run (see above)")
