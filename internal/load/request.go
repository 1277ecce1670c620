package load

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"

	"github.com/buger/jsonparser"
	"github.com/surgehq/surge/internal/load/postman"
)

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
	// class is the payload size class of the body, plus one; 0 when the
	// body is of no class (reads, deletes, patches, batches).
	class int
	// header are the request's own headers (a collection's), sent over
	// the run's; a request with them is built afresh for each send.
	header []postman.Header
	// judge asks for the response's headers and its decoded body, which
	// a collection's checks and captures read.
	judge bool
}

// response is what the engine needs of a response; its slices are valid
// until the client's next request.
type response struct {
	status       int
	body         []byte
	location     []byte
	coldStart    bool
	serverTiming []byte
	// cache is the response cache's outcome (X-Cache), and limitSource
	// the limit that refused a 429 or 503 (X-Limit-Source), if named.
	cache       cacheResult
	limitSource []byte
	// header and a decoded body are there when the request asked to
	// judge them.
	header postman.HeaderPeeker
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
	// consistent asks the dispatcher's reads for strong consistency.
	consistent bool
}

func newShape(s *Scenario) (*shape, error) {
	u, err := url.Parse(s.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	base := u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/") + strings.TrimSuffix(s.API.BasePath, "/")
	sh := &shape{
		items:      base + s.API.Items,
		itemSlash:  base + strings.TrimSuffix(s.API.Items, "/") + "/",
		list:       base + s.API.Items,
		batch:      base + s.API.Batch,
		ops:        base + s.API.Ops,
		idFromLoc:  s.API.IDFrom == IDFromLocation,
		table:      s.API.OpsTable,
		patchType:  s.API.PatchType,
		batchSize:  s.API.BatchSize,
		errStatus:  s.API.ErrorStatus,
		consistent: s.API.OpsConsistentRead,
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
	b.mix = newChooser(s.Mix, Operations, []Op{OpCreate, OpRead, OpUpdate, OpPatch, OpDelete, OpList, OpBatch, opsMarker,
		OpScan, OpQueryIndex, OpConsistentRead})
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
			req.method, req.ctype = "PUT", "application/json"
			req.body, req.class = b.pl.updateClass(b.r)
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
	req.body, req.class = b.pl.bodyClass(b.r)
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
	switch op {
	case OpScan, OpQueryIndex, OpConsistentRead:
		b.access(op, req)
		return
	}
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
		body, class := b.pl.bodyClass(b.r)
		req.class = class
		if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
			d = append(d, ',')
		}
		d = append(d, body[1:]...)
		d = append(d, '}')
	case OpsRead, OpsDelete:
		d = append(d, `,"payload":{"Key":{"id":`...)
		d = appendJSONString(d, id)
		d = append(d, '}')
		if op == OpsRead && b.sh.consistent {
			d = append(d, `,"ConsistentRead":true`...)
		}
		d = append(d, '}')
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

// access builds a request of the table's access patterns, through the
// dispatcher: a scan whose filter keeps about one item in a thousand (n
// is random up to 1,000,000 in the default body), a query of the
// secondary index by one of the run's names (Limit 10), or a strongly
// consistent read by key. Each asks for its consumed capacity.
func (b *builder) access(op Op, req *request) {
	d := append(b.body[:0], `{"operation":`...)
	switch op {
	case OpScan:
		d = append(d, `"list"`...)
		d = b.table(d)
		d = append(d, `,"payload":{"FilterExpression":"#n < :n","ExpressionAttributeNames":{"#n":"n"},`+
			`"ExpressionAttributeValues":{":n":1000},"ReturnConsumedCapacity":"TOTAL"}}`...)
	case OpQueryIndex:
		d = append(d, `"query"`...)
		d = b.table(d)
		d = append(d, `,"payload":{"IndexName":"name-index","KeyConditionExpression":"#n = :v","ExpressionAttributeNames":{"#n":"name"},`+
			`"ExpressionAttributeValues":{":v":`...)
		d = appendJSONString(d, b.pl.name(b.r))
		d = append(d, `},"Limit":10,"ReturnConsumedCapacity":"TOTAL"}}`...)
	case OpConsistentRead:
		id, ok := b.pool.pick(&b.pk, req)
		if !ok {
			b.create(req)
			return
		}
		d = append(d, `"read"`...)
		d = b.table(d)
		d = append(d, `,"payload":{"Key":{"id":`...)
		d = appendJSONString(d, id)
		d = append(d, `},"ConsistentRead":true,"ReturnConsumedCapacity":"TOTAL"}}`...)
	}
	b.body = d
	req.op = op
	req.method, req.url, req.body, req.ctype = "POST", append(b.url[:0], b.sh.ops...), d, "application/json"
}

// table appends the dispatcher's tableName member, when the scenario
// names one.
func (b *builder) table(d []byte) []byte {
	if b.sh.table != "" {
		d = append(d, `,"tableName":`...)
		d = appendJSONString(d, b.sh.table)
	}
	return d
}
