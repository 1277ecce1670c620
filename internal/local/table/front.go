package table

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Counting says where a front's charges come from.
type Counting string

// Ways of counting.
const (
	// CountEngine asks the engine for ReturnConsumedCapacity on every
	// charged request and charges what it answers, computing only where it
	// answers none: a failed conditional write (charged on the larger of
	// the existing item, read from the engine, and the new one), a
	// cancelled transaction (its estimate), an engine without the field.
	CountEngine Counting = "engine"
	// CountComputed computes every charge from the items themselves,
	// reading from the engine the items a write replaces and the item an
	// update leaves. Query and Scan are charged on the items they return,
	// which is DynamoDB's count only without a filter, a projection or
	// Select COUNT.
	CountComputed Counting = "computed"
)

// FrontConfig configures a Front.
type FrontConfig struct {
	// Engine is the URL of the DynamoDB-API engine behind the front
	// (dynalite, DynamoDB Local). Required.
	Engine string
	// Tables are the tables charged (default: on-demand tables).
	Tables *Tables
	// Counting is CountEngine (the default) or CountComputed.
	Counting Counting
	// Client calls the engine (default a client with a 30 s timeout).
	Client *http.Client
	// Log gets the front's errors (default: discarded).
	Log *slog.Logger
}

// Front is an http.Handler for the DynamoDB API that sits between any
// DynamoDB client and a DynamoDB-API engine: it reads each request's
// operation (X-Amz-Target), admits it against its table's buckets, throttles
// it with DynamoDB's ProvisionedThroughputExceededException when the table
// is over capacity, passes it on, and charges the table what the request
// consumed. Every process that reaches the engine through the front, in any
// runtime and through any SDK, is charged against the same buckets.
//
// It passes the client's signature on unchanged and rewrites the body when
// it asks for the consumed capacity, so the engine must not verify
// signatures (local engines do not); it is not a proxy to DynamoDB on AWS,
// which throttles on its own.
type Front struct {
	engine  *url.URL
	client  *http.Client
	tables  *Tables
	compute bool
	log     *slog.Logger

	mu   sync.Mutex
	keys map[string][]string // key attribute names by table
}

// Request and answer limits: DynamoDB's largest request (BatchWriteItem)
// is 16 MB; its largest answer (BatchGetItem) is 16 MB of items.
const (
	maxRequestBody = 16 << 20
	maxAnswerBody  = 32 << 20
)

// targetPrefix begins the X-Amz-Target of every DynamoDB operation.
const targetPrefix = "DynamoDB_20120810."

// The throttling answer, as DynamoDB gives it.
const (
	throttleType    = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
	throttleMessage = "The level of configured provisioned throughput for the table was exceeded. " +
		"Consider increasing your provisioning level with the UpdateTable API."
	// onDemandMessage is the answer of an on-demand table over its quota.
	onDemandMessage = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically " +
		"scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: " +
		"https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)

// NewFront returns a front for the engine cfg names.
func NewFront(cfg FrontConfig) (*Front, error) {
	u, err := url.Parse(cfg.Engine)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("table front: engine %q: want an http(s) URL", cfg.Engine)
	}
	if cfg.Tables == nil {
		cfg.Tables = NewTables(Config{})
	}
	if cfg.Client == nil {
		// Many requests at once to one engine: keep their connections.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		cfg.Client = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch cfg.Counting {
	case "", CountEngine, CountComputed:
	default:
		return nil, fmt.Errorf("table front: counting %q: want %s or %s", cfg.Counting, CountEngine, CountComputed)
	}
	return &Front{engine: u, client: cfg.Client, tables: cfg.Tables, compute: cfg.Counting == CountComputed,
		log: cfg.Log, keys: map[string][]string{}}, nil
}

// Tables returns the tables the front charges.
func (f *Front) Tables() *Tables { return f.tables }

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "com.amazon.coral.service#SerializationException", "cannot read the request")
		return
	}
	if len(body) > maxRequestBody {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	p := newPlan(op, body)
	if p != nil {
		for i, n := range p.needs {
			t := f.tables.Get(n.table)
			if res := t.Admit(n.kind, n.units); res.Throttled {
				for _, m := range p.needs[:i] {
					f.tables.Get(m.table).Settle(m.kind, m.units, 0)
				}
				f.throttle(w, t)
				return
			}
		}
		if f.compute {
			f.readBefore(r, p)
		} else {
			body, p.injected = askCapacity(body)
		}
	}
	status, hdr, answer, err := f.call(r.Context(), r, body)
	if err != nil {
		if p != nil {
			f.charge(p, nil)
		}
		f.log.Error("table front: engine call failed", "op", op, "err", err)
		writeError(w, http.StatusInternalServerError, "com.amazonaws.dynamodb.v20120810#InternalServerError", "the engine did not answer")
		return
	}
	if p != nil {
		f.charge(p, f.settle(r, p, status, answer))
		if p.injected {
			answer = dropCapacity(answer)
		}
	}
	if status == http.StatusOK {
		f.learn(op, body)
	}
	for k, vs := range hdr {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Connection", "Transfer-Encoding", "X-Amz-Crc32":
			continue
		}
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(answer)), 10))
	w.WriteHeader(status)
	w.Write(answer)
}

// charge settles each table's estimate with what the request consumed
// there.
func (f *Front) charge(p *plan, used []need) {
	for _, n := range p.needs {
		units := 0.0
		for i := range used {
			if used[i].table == n.table && used[i].kind == n.kind {
				units += used[i].units
				used[i].units = 0
			}
		}
		f.tables.Get(n.table).Settle(n.kind, n.units, units)
	}
	for _, u := range used { // a table the estimate did not name
		if u.units != 0 {
			f.tables.Get(u.table).Settle(u.kind, 0, u.units)
		}
	}
}

// throttle answers as DynamoDB does a request over its table's capacity.
func (f *Front) throttle(w http.ResponseWriter, t *Table) {
	msg := throttleMessage
	if t.Mode() == OnDemand {
		msg = onDemandMessage
	}
	writeError(w, http.StatusBadRequest, throttleType, msg)
}

// writeError writes an error answer of the awsJson1_0 protocol.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{typ, msg})
	var id [26]byte
	rand.Read(id[:])
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", strings.ToUpper(hex.EncodeToString(id[:])))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// call sends body to the engine with r's headers (its signature and
// target) and returns the engine's answer.
func (f *Front) call(ctx context.Context, r *http.Request, body []byte) (int, http.Header, []byte, error) {
	u := *f.engine
	u.Path = r.URL.Path
	u.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if r.Method != "" {
		req.Method = r.Method
	}
	for k, vs := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Connection", "Accept-Encoding", "Transfer-Encoding", "Host":
			continue
		}
		req.Header[k] = vs
	}
	// A plain answer, which the front reads and may rewrite.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody+1))
	if err != nil {
		return 0, nil, nil, err
	}
	if len(answer) > maxAnswerBody {
		return 0, nil, nil, errors.New("answer over 32 MB")
	}
	return resp.StatusCode, resp.Header, answer, nil
}

// callOp makes an operation of the front's own on the engine, with r's
// credentials (engines such as DynamoDB Local keep a database per access
// key), uncharged.
func (f *Front) callOp(r *http.Request, op string, payload any) (int, []byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, nil, err
	}
	req := r.Clone(r.Context())
	req.Header = r.Header.Clone()
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Method = http.MethodPost
	status, _, answer, err := f.call(r.Context(), req, body)
	return status, answer, err
}

// readItem reads an item's size from the engine with a consistent read
// (0 when there is none, or it cannot be read).
func (f *Front) readItem(r *http.Request, table string, key item) int {
	if key == nil {
		return 0
	}
	raw, err := encodeItem(key)
	if err != nil {
		return 0
	}
	status, answer, err := f.callOp(r, "GetItem", map[string]any{"TableName": table, "Key": raw, "ConsistentRead": true})
	if err != nil || status != http.StatusOK {
		f.log.Warn("table front: cannot read an item for its size", "table", table, "status", status, "err", err)
		return 0
	}
	var ans struct{ Item item }
	if json.Unmarshal(answer, &ans) != nil {
		return 0
	}
	return ans.Item.size()
}

// keyOf returns the key of an item of table: its attributes named by the
// table's key schema, which the front asks the engine for once.
func (f *Front) keyOf(r *http.Request, table string, it item) item {
	f.mu.Lock()
	names, ok := f.keys[table]
	f.mu.Unlock()
	if !ok {
		status, answer, err := f.callOp(r, "DescribeTable", map[string]string{"TableName": table})
		if err != nil || status != http.StatusOK {
			return nil
		}
		var d struct {
			Table struct {
				KeySchema []struct{ AttributeName string }
			}
		}
		if json.Unmarshal(answer, &d) != nil {
			return nil
		}
		for _, k := range d.Table.KeySchema {
			names = append(names, k.AttributeName)
		}
		f.mu.Lock()
		f.keys[table] = names
		f.mu.Unlock()
	}
	key := item{}
	for _, n := range names {
		v, ok := it[n]
		if !ok {
			return nil
		}
		key[n] = v
	}
	return key
}

// learn follows the tables' capacity from the table operations the engine
// carried out: CreateTable and UpdateTable set a table's mode and
// provisioned capacity, DeleteTable forgets it.
func (f *Front) learn(op string, body []byte) {
	switch op {
	case "CreateTable", "UpdateTable", "DeleteTable":
	default:
		return
	}
	var req tableRequest
	if json.Unmarshal(body, &req) != nil || req.TableName == "" {
		return
	}
	f.mu.Lock()
	delete(f.keys, req.TableName)
	f.mu.Unlock()
	if op == "DeleteTable" {
		f.tables.remove(req.TableName)
		return
	}
	t := f.tables.Get(req.TableName)
	switch {
	case req.BillingMode == "PAY_PER_REQUEST":
		t.SetCapacity(OnDemand, 0, 0)
	case req.ProvisionedThroughput != nil:
		t.SetCapacity(Provisioned, req.ProvisionedThroughput.ReadCapacityUnits, req.ProvisionedThroughput.WriteCapacityUnits)
	case op == "CreateTable" && req.BillingMode == "":
		// CreateTable's default mode is provisioned, with its throughput
		// required; without one the engine refused it.
	}
}

// askCapacity adds "ReturnConsumedCapacity": "TOTAL" to a request that
// does not ask for it; added reports whether it did.
func askCapacity(body []byte) (out []byte, added bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body, false
	}
	if v, ok := m["ReturnConsumedCapacity"]; ok && string(v) != `"NONE"` {
		return body, false
	}
	m["ReturnConsumedCapacity"] = json.RawMessage(`"TOTAL"`)
	out, err := marshal(m)
	if err != nil {
		return body, false
	}
	return out, true
}

// marshal encodes m without escaping HTML, so that the values keep their
// bytes.
func marshal(m map[string]json.RawMessage) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// dropCapacity removes ConsumedCapacity from an answer.
func dropCapacity(answer []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(answer, &m) != nil {
		return answer
	}
	if _, ok := m["ConsumedCapacity"]; !ok {
		return answer
	}
	delete(m, "ConsumedCapacity")
	out, err := marshal(m)
	if err != nil {
		return answer
	}
	return out
}
