package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/buger/jsonparser"
)

// Op is an operation of the workload, an index into the metrics. The
// dispatcher's operations are separate ops, so that each gets its row.
type Op uint8

// The operations. OpsCreate and the ones after it go through the /ops
// dispatcher; the others are REST calls of API.md.
const (
	OpCreate Op = iota
	OpRead
	OpUpdate
	OpPatch
	OpDelete
	OpList
	OpBatch
	OpsCreate
	OpsRead
	OpsUpdate
	OpsDelete
	OpsList
	OpsEcho
	OpsPing
	numOps
)

var opNames = [numOps]string{
	"create", "read", "update", "patch", "delete", "list", "batch",
	"ops:create", "ops:read", "ops:update", "ops:delete", "ops:list", "ops:echo", "ops:ping",
}

// String returns the operation's name as reports and thresholds spell it.
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Operations are the names a mix may weigh; "ops" goes through the
// dispatcher with the operations of API.OpsMix.
var Operations = []string{"create", "read", "update", "patch", "delete", "list", "batch", "ops"}

// DispatcherOps are the names an ops mix may weigh.
var DispatcherOps = []string{"create", "read", "update", "delete", "list", "echo", "ping"}

// opByName maps every operation name a report or threshold may use.
func opByName(name string) (Op, bool) {
	for i, n := range opNames {
		if n == name {
			return Op(i), true
		}
	}
	return 0, false
}

// chooser picks an index by weight; there are only a handful, so a linear
// scan of the cumulative weights beats anything cleverer.
type chooser struct {
	cum   []float64
	items []Op
}

func newChooser(weights map[string]float64, names []string, ops []Op) chooser {
	var c chooser
	var total float64
	for i, n := range names {
		w := weights[n]
		if w <= 0 {
			continue
		}
		total += w
		c.cum = append(c.cum, total)
		c.items = append(c.items, ops[i])
	}
	return c
}

func (c *chooser) pick(r *rand.Rand) Op {
	if len(c.items) == 1 {
		return c.items[0]
	}
	x := r.Float64() * c.cum[len(c.cum)-1]
	for i, v := range c.cum {
		if x < v {
			return c.items[i]
		}
	}
	return c.items[len(c.items)-1]
}

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
	for range min(n, takeTries) {
		i := r.IntN(n)
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

// payloads are the bodies of a size class, generated before the run so
// that the hot path only picks one.
type payloads struct {
	classes chooserN
	bodies  [][][]byte // class -> variants
	patches [][]byte
}

// chooserN picks a size class index by weight.
type chooserN struct{ cum []float64 }

func (c *chooserN) pick(r *rand.Rand) int {
	if len(c.cum) == 1 {
		return 0
	}
	x := r.Float64() * c.cum[len(c.cum)-1]
	for i, v := range c.cum {
		if x < v {
			return i
		}
	}
	return len(c.cum) - 1
}

// variantsPerClass is how many different bodies each size class has:
// enough that caches and compression see varied content.
const variantsPerClass = 8

var words = strings.Fields(`alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima
mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu lambda
dynamo gateway surge item table stream shard cache token bucket spike ramp sustain latency`)

// filler returns a JSON string literal of exactly n bytes (n >= 2) of
// random words.
func filler(r *rand.Rand, n int) []byte {
	if n < 2 {
		n = 2
	}
	b := make([]byte, 0, n)
	b = append(b, '"')
	for len(b) < n-1 {
		w := words[r.IntN(len(words))]
		if len(b)+len(w)+1 > n-1 {
			w = w[:n-1-len(b)]
		}
		b = append(b, w...)
		if len(b) < n-1 {
			b = append(b, ' ')
		}
	}
	return append(b, '"')
}

// render fills a body template's placeholders.
func render(tmpl, name string, n int, data []byte) []byte {
	r := strings.NewReplacer("{{name}}", name, "{{n}}", strconv.Itoa(n), "{{data}}", string(data))
	return []byte(r.Replace(tmpl))
}

// checkTemplate reports whether a body template has only known
// placeholders and renders to a JSON object.
func checkTemplate(tmpl string) error {
	rest := tmpl
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return errors.New("a {{ without }}")
		}
		switch p := rest[i+2 : i+j]; p {
		case "name", "n", "data":
		default:
			return fmt.Errorf("unknown placeholder {{%s}} (want {{name}}, {{n}} or {{data}})", p)
		}
		rest = rest[i+j+2:]
	}
	b := render(tmpl, "x", 1, []byte(`"y"`))
	if !json.Valid(b) || strings.TrimSpace(string(b))[0] != '{' {
		return errors.New("does not render to a JSON object")
	}
	return nil
}

// newPayloads generates the bodies of every size class: a template filled
// up to the class's size with random words, so sizes are exact whenever
// the template is smaller than the class.
func newPayloads(s *Scenario, r *rand.Rand) *payloads {
	p := &payloads{}
	var total float64
	for _, c := range s.Payloads {
		total += c.Weight
		p.classes.cum = append(p.classes.cum, total)
		var vs [][]byte
		for v := range variantsPerClass {
			name := "surge-" + c.Size.String() + "-" + strconv.Itoa(v)
			n := r.IntN(1_000_000)
			overhead := len(render(s.API.Body, name, n, []byte(`""`)))
			vs = append(vs, render(s.API.Body, name, n, filler(r, int(c.Size)-overhead+2)))
		}
		p.bodies = append(p.bodies, vs)
	}
	for i := range 16 {
		p.patches = append(p.patches, render(s.API.Patch, "patch-"+strconv.Itoa(i), r.IntN(1_000_000), filler(r, 24)))
	}
	return p
}

func (p *payloads) body(r *rand.Rand) []byte {
	vs := p.bodies[p.classes.pick(r)]
	return vs[r.IntN(len(vs))]
}

func (p *payloads) patch(r *rand.Rand) []byte { return p.patches[r.IntN(len(p.patches))] }

// request is one HTTP request of the workload, built in a worker's
// buffers; its slices are valid until the worker builds the next one.
type request struct {
	op     Op
	method string
	url    []byte
	body   []byte
	ctype  string
	// wantID asks for the new item's id from the response (a create).
	wantID bool
	// newID is the id the request creates, when the client chose it.
	newID string
	// held are the pool ids the request uses, released when it ends.
	held []string
}

// response is what the engine needs of a response; its slices are valid
// until the client's next request.
type response struct {
	status       int
	body         []byte
	location     []byte
	coldStart    bool
	serverTiming []byte
}

// shape is the compiled API shape: URL prefixes and the id path.
type shape struct {
	items     string // absolute URL of the collection
	itemSlash string // items + "/"
	list      string // absolute list URL with its query
	batch     string
	ops       string
	idPath    []string
	idFromLoc bool
	table     string
	patchType string
	batchSize int
	errStatus int
}

func newShape(s *Scenario) (*shape, error) {
	u, err := url.Parse(s.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	base := u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/") + strings.TrimSuffix(s.API.BasePath, "/")
	sh := &shape{
		items:     base + s.API.Items,
		itemSlash: base + strings.TrimSuffix(s.API.Items, "/") + "/",
		list:      base + s.API.Items,
		batch:     base + s.API.Batch,
		ops:       base + s.API.Ops,
		idFromLoc: s.API.IDFrom == IDFromLocation,
		table:     s.API.OpsTable,
		patchType: s.API.PatchType,
		batchSize: s.API.BatchSize,
		errStatus: s.API.ErrorStatus,
	}
	if s.API.ListQuery != "" {
		sh.list += "?" + s.API.ListQuery
	}
	if s.API.IDPath != "" {
		sh.idPath = strings.Split(s.API.IDPath, ".")
	}
	return sh, nil
}

// extractID returns the new item's id from a create response.
func (sh *shape) extractID(res *response) (string, bool) {
	if sh.idFromLoc {
		loc := string(res.location)
		if i := strings.IndexAny(loc, "?#"); i >= 0 {
			loc = loc[:i]
		}
		loc = strings.TrimSuffix(loc, "/")
		seg := loc[strings.LastIndexByte(loc, '/')+1:]
		id, err := url.PathUnescape(seg)
		return id, err == nil && id != ""
	}
	v, typ, _, err := jsonparser.Get(res.body, sh.idPath...)
	if err != nil {
		return "", false
	}
	switch typ {
	case jsonparser.String:
		id, err := jsonparser.ParseString(v)
		return id, err == nil && id != ""
	case jsonparser.Number:
		return string(v), true
	}
	return "", false
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendPathSegment appends an id to a URL, escaped as one path segment.
func appendPathSegment(b []byte, id string) []byte {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
	}
	return b
}

// opsMarker stands in a mix for "ops": the dispatcher, whose operation is
// then picked from the ops mix.
const opsMarker = numOps

// builder builds a worker's requests: it picks the operation, the id and
// the body, into buffers it reuses, so the hot path allocates nothing but
// the ids it must remember.
type builder struct {
	sh     *shape
	mix    chooser
	opsMix chooser
	pl     *payloads
	pool   *pool
	pk     picker
	r      *rand.Rand
	url    []byte
	body   []byte
	// prefix and seq make the ids the client chooses (dispatcher creates).
	prefix string
	seq    uint64
}

func newBuilder(s *Scenario, sh *shape, pl *payloads, pl2 *pool, r *rand.Rand, prefix string) *builder {
	b := &builder{sh: sh, pl: pl, pool: pl2, r: r, prefix: prefix,
		url: make([]byte, 0, 256), body: make([]byte, 0, 1024)}
	b.mix = newChooser(s.Mix, Operations, []Op{OpCreate, OpRead, OpUpdate, OpPatch, OpDelete, OpList, OpBatch, opsMarker})
	b.opsMix = newChooser(s.API.OpsMix, DispatcherOps, []Op{OpsCreate, OpsRead, OpsUpdate, OpsDelete, OpsList, OpsEcho, OpsPing})
	b.pk = picker{r: r}
	if s.IDs.Distribution == DistZipf {
		b.pk.s = s.IDs.ZipfS
	}
	return b
}

// next fills req with the next request of the mix.
func (b *builder) next(req *request) {
	op := b.mix.pick(b.r)
	if op == opsMarker {
		op = b.opsMix.pick(b.r)
	}
	b.build(op, req)
}

// build fills req with a request of operation op. An operation on an
// existing item when the pool is empty becomes a create, which fills it.
func (b *builder) build(op Op, req *request) {
	*req = request{op: op, held: req.held[:0]}
	sh := b.sh
	switch op {
	case OpCreate:
		b.create(req)
	case OpRead, OpUpdate, OpPatch:
		id, ok := b.pool.pick(&b.pk, req)
		if !ok {
			b.create(req)
			return
		}
		b.url = appendPathSegment(append(b.url[:0], sh.itemSlash...), id)
		req.url = b.url
		switch op {
		case OpRead:
			req.method = "GET"
		case OpUpdate:
			req.method, req.body, req.ctype = "PUT", b.pl.body(b.r), "application/json"
		case OpPatch:
			req.method, req.body, req.ctype = "PATCH", b.pl.patch(b.r), sh.patchType
		}
	case OpDelete:
		id, ok := b.pool.take(b.r)
		if !ok {
			b.create(req)
			return
		}
		b.url = appendPathSegment(append(b.url[:0], sh.itemSlash...), id)
		req.method, req.url = "DELETE", b.url
	case OpList:
		req.method, req.url = "GET", append(b.url[:0], sh.list...)
	case OpBatch:
		b.batch(req)
	default:
		b.dispatch(op, req)
	}
}

func (b *builder) create(req *request) {
	req.op = OpCreate
	req.method = "POST"
	req.url = append(b.url[:0], b.sh.items...)
	req.body = b.pl.body(b.r)
	req.ctype = "application/json"
	req.wantID = true
}

func (b *builder) batch(req *request) {
	d := append(b.body[:0], `{"operations":[`...)
	for i := range b.sh.batchSize {
		if i > 0 {
			d = append(d, ',')
		}
		if id, ok := b.pool.pick(&b.pk, req); ok {
			d = append(d, `{"op":"get","id":`...)
			d = appendJSONString(d, id)
		} else {
			d = append(d, `{"op":"create","item":`...)
			d = append(d, b.pl.patch(b.r)...)
		}
		d = append(d, '}')
	}
	d = append(d, "]}"...)
	b.body = d
	req.method, req.url, req.body, req.ctype = "POST", append(b.url[:0], b.sh.batch...), d, "application/json"
}

func (b *builder) dispatch(op Op, req *request) {
	var id string
	switch op {
	case OpsRead, OpsUpdate:
		var ok bool
		if id, ok = b.pool.pick(&b.pk, req); !ok {
			op = OpsCreate
		}
	case OpsDelete:
		var ok bool
		if id, ok = b.pool.take(b.r); !ok {
			op = OpsCreate
		}
	}
	req.op = op
	d := append(b.body[:0], `{"operation":"`...)
	d = append(d, opNames[op][len("ops:"):]...)
	d = append(d, '"')
	if b.sh.table != "" {
		d = append(d, `,"tableName":`...)
		d = appendJSONString(d, b.sh.table)
	}
	switch op {
	case OpsCreate:
		b.seq++
		req.newID = b.prefix + strconv.FormatUint(b.seq, 10)
		d = append(d, `,"payload":{"Item":{"id":`...)
		d = appendJSONString(d, req.newID)
		// The payload is a JSON object: splice its members after the id.
		body := b.pl.body(b.r)
		if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
			d = append(d, ',')
		}
		d = append(d, body[1:]...)
		d = append(d, '}')
	case OpsRead, OpsDelete:
		d = append(d, `,"payload":{"Key":{"id":`...)
		d = appendJSONString(d, id)
		d = append(d, "}}"...)
	case OpsUpdate:
		d = append(d, `,"payload":{"Key":{"id":`...)
		d = appendJSONString(d, id)
		d = append(d, `},"AttributeUpdates":{"n":{"Value":`...)
		d = strconv.AppendInt(d, int64(b.r.IntN(1_000_000)), 10)
		d = append(d, `,"Action":"PUT"}}}`...)
	case OpsList:
		d = append(d, `,"payload":{"Limit":25}`...)
	case OpsEcho:
		d = append(d, `,"payload":`...)
		d = append(d, b.pl.patch(b.r)...)
	}
	d = append(d, '}')
	b.body = d
	req.method, req.url, req.body, req.ctype = "POST", append(b.url[:0], b.sh.ops...), d, "application/json"
}
