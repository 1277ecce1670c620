package expr_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/items/expr"
)

// Reads: GetItem with a ProjectionExpression, Scan with a FilterExpression
// over a small catalog, and Query with a KeyConditionExpression (and a
// filter) on tables keyed by a partition and a numeric or string sort key.

// get is a GetItem of the catalog item with a projection.
func get(name, proj string, names map[string]string) dcase {
	return dcase{name: name, op: "get", item: catalog, proj: s(proj), names: names}
}

func TestDifferentialProjections(t *testing.T) {
	e := newEnv(t)
	e.run(t, projectionCases)
}

var projectionCases = []dcase{
	get("top", "title, price", nil),
	get("nested", "pictures.front, pictures.sizes[1]", nil),
	get("list-elements", "tags[5].k, tags[0], tags[6][1]", nil),
	get("list-elements-out-of-order", "tags[2], tags[0]", nil),
	get("absent", "nope, pictures.rear", nil),
	get("whole-and-absent", "title, nope", nil),
	get("past-end", "tags[99]", nil),
	get("through-scalar", "title.x, price[0]", nil),
	get("names", "#t, #p.#f", map[string]string{"#t": "title", "#p": "pictures", "#f": "front"}),
	get("name-with-dot", "#d", map[string]string{"#d": "pictures.front"}),
	get("empty-containers", "e, m", nil),
	get("id", "id", nil),
	dcase{name: "absent-item", op: "get", proj: s("title")},
	get("err-reserved", "title, name", nil),
	get("err-name-undefined", "#t", nil),
	get("err-name-unused", "title", map[string]string{"#t": "title"}),
	get("err-overlap", "pictures, pictures.front", nil),
	get("err-overlap-reverse", "pictures.front, pictures", nil),
	get("err-overlap-same", "title, title", nil),
	departs(get("err-overlap-hash-order", "a, b, a", nil), dynaliteOverlapOrder,
		outcome{Err: "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [b]"}),
	get("err-conflict", "tags[0], tags.x", nil),
	get("err-empty", "", nil),
	get("err-syntax-function", "size(title)", nil),
	get("err-syntax-value", ":v", nil),
	get("err-syntax-comma", "title,", nil),
	get("err-syntax-parens", "(title)", nil),
	get("err-syntax-dash", "dash-name", nil),
	departs(get("err-too-deep", "a"+strings.Repeat(".b", 32), nil), dynaliteNoLimits,
		outcome{Err: "Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33"}),
	get("deep-enough", "a"+strings.Repeat(".b", 31), nil),
}

// The catalog a scan reads, and the tables a query reads.
var scanItems = []string{
	`{"id":"p1","title":"Bicycle 101","price":500,"color":"red","tags":["a","b"],"dims":{"w":10,"h":5},"stock":0}`,
	`{"id":"p2","title":"Bicycle 102","price":250.5,"color":"blue","tags":["b"],"dims":{"w":20},"stock":3}`,
	`{"id":"p3","title":"Hammer","price":12,"color":"red","tags":[],"stock":100,"discontinued":true}`,
	`{"id":"p4","title":"Nails","price":0.05,"tags":["a","c","d"],"stock":100000,"note":null}`,
	`{"id":"p5","title":"bicycle 103","price":-1,"color":"Red","dims":{"w":10,"h":5},"stock":-5}`,
	`{"id":"p6","title":"Saw","price":"12","color":"green","tags":["saw",1,true],"stock":7,"discontinued":false}`,
}

var queryItems = []string{
	`{"pk":"a","sk":1,"v":"x","n":10}`,
	`{"pk":"a","sk":2,"v":"y","n":20}`,
	`{"pk":"a","sk":3.5,"v":"x"}`,
	`{"pk":"a","sk":10,"v":"z","n":5}`,
	`{"pk":"a","sk":-2,"v":"w","n":0}`,
	`{"pk":"b","sk":1,"v":"x"}`,
}

var queryStringItems = []string{
	`{"pk":"a","sk":"2024-01-05","v":1}`,
	`{"pk":"a","sk":"2024-02-01","v":2}`,
	`{"pk":"a","sk":"2025-01-01","v":3}`,
	`{"pk":"a","sk":"B","v":4}`,
	`{"pk":"a","sk":"a","v":5}`,
	`{"pk":"b","sk":"2024-01-05","v":6}`,
}

// rcase is a Scan (key empty) or Query case.
type rcase struct {
	name       string
	table      string // scan, qn (numeric sort key), qs (string sort key)
	key        string // KeyConditionExpression
	filter     *string
	proj       *string
	names      map[string]string
	values     string
	departure  string
	want       *outcome
	noKeyTyped bool
}

// readEnv holds the tables reads run against, loaded with their items.
type readEnv struct {
	client *dynamodb.Client
	tables map[string]string
	items  map[string][]items.Attributes
	schema map[string]expr.KeySchema
}

func newReadEnv(t *testing.T) *readEnv {
	t.Helper()
	e := newEnv(t)
	r := &readEnv{client: e.client, tables: map[string]string{"scan": e.table}, items: map[string][]items.Attributes{}, schema: map[string]expr.KeySchema{}}
	r.tables["qn"] = createTable(t, e.client, []string{"pk", "S"}, []string{"sk", "N"})
	r.tables["qs"] = createTable(t, e.client, []string{"pk", "S"}, []string{"sk", "S"})
	r.schema["qn"] = expr.KeySchema{Partition: "pk", PartitionType: "S", Sort: "sk", SortType: "N"}
	r.schema["qs"] = expr.KeySchema{Partition: "pk", PartitionType: "S", Sort: "sk", SortType: "S"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for table, docs := range map[string][]string{"scan": scanItems, "qn": queryItems, "qs": queryStringItems} {
		for _, d := range docs {
			doc, err := items.Canonicalize([]byte(d))
			if err != nil {
				t.Fatal(err)
			}
			r.items[table] = append(r.items[table], doc)
			if _, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.tables[table]), Item: avMap(t, doc)}); err != nil {
				t.Fatalf("put: %v", err)
			}
		}
	}
	return r
}

// ours runs a read with the package: the items the key condition and the
// filter keep, projected, in the order a read returns them.
func (r *readEnv) ours(t *testing.T, c rcase) outcome {
	t.Helper()
	req := &expr.Request{FilterExpression: c.filter, ProjectionExpression: c.proj, ExpressionAttributeNames: c.names}
	op := expr.Scan
	if c.key != "" {
		op, req.KeyConditionExpression = expr.Query, s(c.key)
	}
	if c.values != "" {
		req.ExpressionAttributeValues = dcase{values: c.values}.request(t).ExpressionAttributeValues
	}
	opt := expr.Options{KeySchema: r.schema[c.table]}
	if c.table == "scan" {
		opt.Key = []string{"id"}
	} else {
		opt.Key = []string{"pk", "sk"}
	}
	ex, err := expr.Compile(op, req, opt)
	if err != nil {
		return outcome{Err: items.ErrorMessage(err)}
	}
	var docs []string
	for _, it := range r.sorted(c.table) {
		if ex.KeyCondition != nil && !ex.KeyCondition.Match(it) || !ex.Filter.Match(it) {
			continue
		}
		docs = append(docs, string(ex.Projection.Apply(it)))
	}
	return r.result(c, docs)
}

// result writes a read's items: a scan's sorted (its order is the
// engine's), a query's in the order given.
func (r *readEnv) result(c rcase, docs []string) outcome {
	if c.key == "" {
		return outcome{Attrs: sortedJSON(docs)}
	}
	return outcome{Attrs: "[" + strings.Join(docs, ",") + "]"}
}

// sorted returns a table's items in sort key order.
func (r *readEnv) sorted(table string) []items.Attributes {
	its := append([]items.Attributes(nil), r.items[table]...)
	if table == "scan" {
		return its
	}
	slices.SortFunc(its, func(a, b items.Attributes) int {
		ka, kb := sortKey(a), sortKey(b)
		if x, ok := ka.(json.Number); ok {
			ra, _ := new(big.Rat).SetString(string(x))
			rb, _ := new(big.Rat).SetString(string(kb.(json.Number)))
			return ra.Cmp(rb)
		}
		return strings.Compare(ka.(string), kb.(string))
	})
	return its
}

// sortKey returns an item's sort key: a json.Number or a string.
func sortKey(a items.Attributes) any {
	m, _ := a.Map()
	return m["sk"]
}

// theirs runs a read against the engine.
func (r *readEnv) theirs(t *testing.T, c rcase) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vals := avValues(t, c.values)
	var docs []string
	var start map[string]types.AttributeValue
	for page := 0; page < 100; page++ {
		var got []map[string]types.AttributeValue
		var err error
		if c.key == "" {
			var out *dynamodb.ScanOutput
			out, err = r.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(r.tables[c.table]), FilterExpression: c.filter,
				ProjectionExpression: c.proj, ExpressionAttributeNames: c.names, ExpressionAttributeValues: vals, ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
			if err == nil {
				got, start = out.Items, out.LastEvaluatedKey
			}
		} else {
			var out *dynamodb.QueryOutput
			out, err = r.client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(r.tables[c.table]), KeyConditionExpression: s(c.key), FilterExpression: c.filter,
				ProjectionExpression: c.proj, ExpressionAttributeNames: c.names, ExpressionAttributeValues: vals, ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
			if err == nil {
				got, start = out.Items, out.LastEvaluatedKey
			}
		}
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" {
				return outcome{Err: ae.ErrorMessage()}
			}
			t.Fatalf("read: %v", err)
		}
		for _, it := range got {
			docs = append(docs, string(jsonOf(t, it)))
		}
		if len(start) == 0 {
			break
		}
	}
	return r.result(c, docs)
}

func (r *readEnv) run(t *testing.T, cases []rcase) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			got := r.ours(t, c)
			if wantErr := strings.HasPrefix(c.name, "err-"); wantErr != (got.Err != "") {
				t.Fatalf("the case's name says error %v, the package says %s", wantErr, got)
			}
			them := r.theirs(t, c)
			if c.departure == "" {
				if g, w := got.comparable(), them.comparable(); g != w {
					t.Errorf("\npackage: %s\ndynalite: %s", g, w)
				}
				return
			}
			if !c.want.matches(t, got) {
				t.Errorf("package: %s\nwant (DynamoDB): %s", got, c.want)
			}
			if c.want.matches(t, them) {
				t.Errorf("dynalite now does what DynamoDB does (%s): the departure %q is gone", them, c.departure)
			}
		})
	}
}

func scan(name, filter, values string) rcase {
	return rcase{name: name, table: "scan", filter: s(filter), values: values}
}

func TestDifferentialScans(t *testing.T) {
	r := newReadEnv(t)
	r.run(t, scanCases)
}

var scanCases = []rcase{
	scan("eq", "color = :c", `{":c":"red"}`),
	scan("case-sensitive", "color = :c", `{":c":"Red"}`),
	scan("number-range", "price BETWEEN :lo AND :hi", `{":lo":1,":hi":300}`),
	scan("number-compare-decimal", "price < :p", `{":p":0.1}`),
	scan("negative", "stock < :z", `{":z":0}`),
	scan("string-vs-number", "price = :p", `{":p":12}`),
	scan("string-number-text", "price = :p", `{":p":"12"}`),
	scan("in", "title IN (:a, :b)", `{":a":"Hammer",":b":"Saw"}`),
	scan("begins-with", "begins_with(title, :b)", `{":b":"Bicycle"}`),
	scan("contains-string", "contains(title, :x)", `{":x":"cycle"}`),
	scan("contains-list", "contains(tags, :x)", `{":x":"a"}`),
	scan("contains-list-number", "contains(tags, :x)", `{":x":1}`),
	scan("exists", "attribute_exists(discontinued)", ""),
	scan("not-exists-nested", "attribute_not_exists(dims.h)", ""),
	scan("exists-null", "attribute_exists(note)", ""),
	departs2(scan("type-bool", "attribute_type(discontinued, :t)", `{":t":"BOOL"}`),
		"dynalite's attribute_type is false for an attribute whose value is false",
		outcome{Attrs: `[{"color":"green","discontinued":false,"id":"p6","price":"12","stock":7,"tags":["saw",1,true],"title":"Saw"},` +
			`{"color":"red","discontinued":true,"id":"p3","price":12,"stock":100,"tags":[],"title":"Hammer"}]`}),
	scan("type-s", "attribute_type(price, :t)", `{":t":"S"}`),
	scan("size-list", "size(tags) >= :n", `{":n":2}`),
	scan("size-string", "size(title) BETWEEN :a AND :b", `{":a":4,":b":6}`),
	scan("size-map", "size(dims) = :n", `{":n":2}`),
	scan("nested-compare", "dims.w = :w", `{":w":10}`),
	scan("list-index", "tags[0] = :a", `{":a":"a"}`),
	scan("and-or-not", "NOT color = :r AND (stock > :z OR attribute_exists(note))", `{":r":"red",":z":0}`),
	scan("or-chain", "color = :r OR color = :b OR price = :p", `{":r":"red",":b":"blue",":p":0.05}`),
	scan("ne", "color <> :r", `{":r":"red"}`),
	scan("compare-attributes", "stock > price", ""),
	scan("bool-eq", "discontinued = :f", `{":f":false}`),
	scan("projection", "stock >= :z", `{":z":0}`),
	{name: "projection-with-filter", table: "scan", filter: s("color = :r"), proj: s("title, dims.w, tags[1]"), values: `{":r":"red"}`},
	{name: "projection-only", table: "scan", proj: s("id, price")},
	{name: "names", table: "scan", filter: s("#c = :c"), proj: s("#t"), names: map[string]string{"#c": "color", "#t": "title"}, values: `{":c":"blue"}`},
	{name: "err-name-unused-across", table: "scan", filter: s("#c = :c"), proj: s("title"), names: map[string]string{"#c": "color", "#t": "title"}, values: `{":c":"blue"}`},
	{name: "err-values-projection-only", table: "scan", proj: s("title"), values: `{":c":"blue"}`},
	{name: "err-names-no-expression", table: "scan", names: map[string]string{"#c": "color"}},
	scan("err-reserved", "year = :y", `{":y":1}`),
	scan("err-syntax", "color == :c", `{":c":"red"}`),
	scan("err-value-undefined", "color = :x", `{":c":"red"}`),
	scan("err-empty", "", ""),
	departs2(scan("err-lt-null", "price < :n", `{":n":null}`), dynaliteNoOperandTypes,
		outcome{Err: "Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: <, operand type: NULL"}),
	scan("err-redundant", "(color = :c) AND ((price > :p))", `{":c":"red",":p":1}`),
	departs2(scan("err-too-many-in", "color IN ("+strings.Repeat(":c, ", 100)+":c)", `{":c":"red"}`), dynaliteNoLimits,
		outcome{Err: "Invalid FilterExpression: The IN operator is provided with too many operands; number of operands: 101"}),
	scan("in-hundred", "color IN ("+strings.Repeat(":c, ", 99)+":c)", `{":c":"red"}`),
}

// departs2 is departs for a read case.
func departs2(c rcase, why string, want outcome) rcase {
	c.departure, c.want = why, &want
	return c
}

func query(name, table, key, values string) rcase {
	return rcase{name: name, table: table, key: key, values: values}
}

func TestDifferentialQueries(t *testing.T) {
	r := newReadEnv(t)
	r.run(t, queryCases)
}

var queryCases = []rcase{
	query("partition", "qn", "pk = :a", `{":a":"a"}`),
	query("partition-reversed", "qn", ":a = pk", `{":a":"a"}`),
	query("partition-none", "qn", "pk = :a", `{":a":"zz"}`),
	query("sort-eq", "qn", "pk = :a AND sk = :s", `{":a":"a",":s":2}`),
	query("sort-eq-normalized", "qn", "pk = :a AND sk = :s", `{":a":"a",":s":3.50}`),
	query("sort-lt", "qn", "pk = :a AND sk < :s", `{":a":"a",":s":3.5}`),
	query("sort-le", "qn", "pk = :a AND sk <= :s", `{":a":"a",":s":3.5}`),
	query("sort-gt", "qn", "pk = :a AND sk > :s", `{":a":"a",":s":1}`),
	query("sort-ge-reversed", "qn", "pk = :a AND :s <= sk", `{":a":"a",":s":2}`),
	query("sort-between", "qn", "pk = :a AND sk BETWEEN :x AND :y", `{":a":"a",":x":-2,":y":3.5}`),
	query("sort-first", "qn", "sk > :s AND pk = :a", `{":a":"a",":s":0}`),
	query("sort-string-begins", "qs", "pk = :a AND begins_with(sk, :p)", `{":a":"a",":p":"2024"}`),
	query("sort-string-order", "qs", "pk = :a AND sk > :p", `{":a":"a",":p":"2024-12"}`),
	query("sort-string-case", "qs", "pk = :a AND sk >= :p", `{":a":"a",":p":"B"}`),
	{name: "filter", table: "qn", key: "pk = :a", filter: s("v = :x"), values: `{":a":"a",":x":"x"}`},
	{name: "filter-missing-attribute", table: "qn", key: "pk = :a", filter: s("n > :z"), values: `{":a":"a",":z":1}`},
	{name: "projection", table: "qn", key: "pk = :a AND sk > :s", proj: s("v"), values: `{":a":"a",":s":1}`},
	{name: "names", table: "qn", key: "#p = :a AND #s < :s", names: map[string]string{"#p": "pk", "#s": "sk"}, values: `{":a":"a",":s":5}`},
	query("err-sort-only", "qn", "sk = :s", `{":s":1}`),
	query("err-partition-lt", "qn", "pk < :a", `{":a":"a"}`),
	query("err-partition-type", "qn", "pk = :a", `{":a":1}`),
	query("err-sort-type", "qn", "pk = :a AND sk = :s", `{":a":"a",":s":"1"}`),
	query("err-or", "qn", "pk = :a OR sk = :s", `{":a":"a",":s":1}`),
	query("err-not", "qn", "NOT pk = :a", `{":a":"a"}`),
	query("err-ne", "qn", "pk <> :a", `{":a":"a"}`),
	query("err-in", "qn", "pk IN (:a)", `{":a":"a"}`),
	query("err-exists", "qn", "attribute_exists(pk)", ""),
	query("err-contains", "qs", "pk = :a AND contains(sk, :p)", `{":a":"a",":p":"x"}`),
	query("err-begins-with-value-first", "qs", "pk = :a AND begins_with(:p, sk)", `{":a":"a",":p":"x"}`),
	query("err-between-value-first", "qn", "pk = :a AND :x BETWEEN sk AND :y", `{":a":"a",":x":1,":y":2}`),
	query("err-size", "qn", "pk = :a AND size(sk) = :s", `{":a":"a",":s":1}`),
	query("err-two-names", "qn", "pk = sk", ""),
	query("err-no-name", "qn", "pk = :a AND :a = :a", `{":a":"a"}`),
	query("err-nested", "qn", "pk = :a AND sk.x = :s", `{":a":"a",":s":1}`),
	query("err-twice", "qn", "pk = :a AND pk = :a", `{":a":"a"}`),
	query("err-extra-attribute", "qn", "pk = :a AND v = :x", `{":a":"a",":x":"x"}`),
	query("err-three", "qn", "pk = :a AND sk > :s AND v = :x", `{":a":"a",":s":1,":x":"x"}`),
	query("err-begins-with-number", "qn", "pk = :a AND begins_with(sk, :s)", `{":a":"a",":s":"1"}`),
	{name: "err-filter-on-key", table: "qn", key: "pk = :a", filter: s("sk > :s"), values: `{":a":"a",":s":1}`},
	{name: "err-value-unused", table: "qn", key: "pk = :a", values: `{":a":"a",":b":"b"}`},
}
