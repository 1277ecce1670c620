package itemsapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/table"
)

// page is a list or query answer.
type page struct {
	Items            []map[string]any
	Count            int
	ScannedCount     int
	LastEvaluatedKey map[string]string
	ConsumedCapacity *struct {
		TableName              string
		CapacityUnits          float64
		Table                  *struct{ CapacityUnits float64 }
		GlobalSecondaryIndexes map[string]struct{ CapacityUnits float64 }
	}
}

func (r *resp) page(t *testing.T) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	return p
}

func ids(p page) string {
	var out []string
	for _, it := range p.Items {
		out = append(out, fmt.Sprint(it["id"]))
	}
	return strings.Join(out, ",")
}

func TestOpsExpressions(t *testing.T) {
	e := newEnv(t)
	t.Run("ConditionalCreate", func(t *testing.T) {
		create := `{"operation":"create","payload":{"Item":{"id":"c1","n":1},"ConditionExpression":"attribute_not_exists(id)"}}`
		e.ops(t, create).wantBody(t, 200, `{}`)
		e.ops(t, create).wantError(t, 412, "precondition_failed")
		if msg := e.ops(t, create).message(t); msg != "The conditional request failed" {
			t.Errorf("got message %q", msg)
		}
		// ReturnValues ALL_OLD: the item replaced.
		r := e.ops(t, `{"operation":"create","payload":{"Item":{"id":"c1","n":2},"ConditionExpression":"n = :one",
			"ExpressionAttributeValues":{":one":1},"ReturnValues":"ALL_OLD"}}`).want(t, 200)
		var got struct{ Attributes map[string]any }
		json.Unmarshal(r.body, &got)
		if got.Attributes["n"] != 1.0 || got.Attributes["version"] != 1.0 {
			t.Errorf("ALL_OLD: got %s", r.body)
		}
	})
	t.Run("Update", func(t *testing.T) {
		e.ops(t, `{"operation":"create","payload":{"Item":{"id":"u1","price":12.5,"tags":["a"],"draft":true}}}`).want(t, 200)
		r := e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u1"},
			"UpdateExpression":"SET price = price - :off, tags = list_append(tags, :t), #c = if_not_exists(#c, :zero) + :one REMOVE draft ADD hits :one",
			"ConditionExpression":"attribute_exists(id) AND price >= :off",
			"ExpressionAttributeNames":{"#c":"count"},
			"ExpressionAttributeValues":{":off":2.5,":t":["b"],":zero":0,":one":1},
			"ReturnValues":"UPDATED_NEW"}}`)
		r.wantBody(t, 200, `{"Attributes": {"count": 1, "hits": 1, "price": 10, "tags": ["a", "b"]}}`)
		it := e.do("GET", "/items/u1", "").want(t, 200).obj(t)
		if _, ok := it["draft"]; ok || it["version"] != json.Number("2") {
			t.Errorf("after the update: %v", it)
		}
		// The condition fails: nothing is written.
		e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u1"},"UpdateExpression":"SET price = :p",
			"ConditionExpression":"price > :p","ExpressionAttributeValues":{":p":100}}}`).wantError(t, 412, "precondition_failed")
		// An update without ReturnValues answers {}, as DynamoDB.
		e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u1"},"UpdateExpression":"SET note = :n",
			"ExpressionAttributeValues":{":n":"x"}}}`).wantBody(t, 200, `{}`)
		// ALL_OLD of an absent item: nothing; the item is made.
		e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u2"},"UpdateExpression":"SET n = :n",
			"ExpressionAttributeValues":{":n":5},"ReturnValues":"ALL_OLD"}}`).wantBody(t, 200, `{}`)
		// DynamoDB's messages.
		for expr, want := range map[string]string{
			`SET a = = b`:                  `Invalid UpdateExpression: Syntax error; token: "=", near: "= = b"`,
			`SET id = :v`:                  "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key",
			`SET price = price + :missing`: "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :missing",
		} {
			values := `,"ExpressionAttributeValues":{":v":1}`
			if !strings.Contains(expr, ":v") {
				values = ""
			}
			msg := e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u1"},"UpdateExpression":`+quote(expr)+values+`}}`).
				wantError(t, 400, "invalid").message(t)
			if msg != want {
				t.Errorf("%s: got %q, want %q", expr, msg, want)
			}
		}
	})
	t.Run("ConditionalDelete", func(t *testing.T) {
		e.ops(t, `{"operation":"create","payload":{"Item":{"id":"d1","state":"open"}}}`).want(t, 200)
		e.ops(t, `{"operation":"delete","payload":{"Key":{"id":"d1"},"ConditionExpression":"#s = :closed",
			"ExpressionAttributeNames":{"#s":"state"},"ExpressionAttributeValues":{":closed":"closed"}}}`).wantError(t, 412, "precondition_failed")
		r := e.ops(t, `{"operation":"delete","payload":{"Key":{"id":"d1"},"ConditionExpression":"#s = :open",
			"ExpressionAttributeNames":{"#s":"state"},"ExpressionAttributeValues":{":open":"open"},"ReturnValues":"ALL_OLD"}}`).want(t, 200)
		if !strings.Contains(string(r.body), `"state": "open"`) {
			t.Errorf("ALL_OLD: got %s", r.body)
		}
		e.do("GET", "/items/d1", "").wantError(t, 404, "not_found")
	})
	t.Run("Projection", func(t *testing.T) {
		e.ops(t, `{"operation":"create","payload":{"Item":{"id":"p1","a":{"b":[1,2,3],"c":"x"},"d":4}}}`).want(t, 200)
		e.ops(t, `{"operation":"read","payload":{"Key":{"id":"p1"},"ProjectionExpression":"id, a.b[1], #d","ExpressionAttributeNames":{"#d":"d"}}}`).
			wantBody(t, 200, `{"Item": {"a": {"b": [2]}, "d": 4, "id": "p1"}}`)
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestOpsScanAndQuery checks the dispatcher's Scan (list) and Query on a
// tenant of its own: filters, projections, pages by items read, and the
// secondary index.
func TestOpsScanAndQuery(t *testing.T) {
	e := newEnv(t)
	tenant := []string{tenantHeader, "scanner"}
	for i := range 10 {
		name := []string{"lamp", "desk", "chair"}[i%3]
		e.ops(t, fmt.Sprintf(`{"operation":"create","payload":{"Item":{"id":"i%d","name":%q,"price":%d}}}`, i, name, i*10), tenant...).want(t, 200)
	}
	e.ops(t, `{"operation":"create","payload":{"Item":{"id":"i99","price":5}}}`, tenant...).want(t, 200)
	// A filter keeps some of the items read; every one was read.
	p := e.ops(t, `{"operation":"list","payload":{"FilterExpression":"price >= :p","ExpressionAttributeValues":{":p":50}}}`, tenant...).want(t, 200).page(t)
	if ids(p) != "i5,i6,i7,i8,i9" || p.Count != 5 || p.ScannedCount != 11 || p.LastEvaluatedKey != nil {
		t.Errorf("filtered scan: got %s, Count %d, ScannedCount %d, LastEvaluatedKey %v", ids(p), p.Count, p.ScannedCount, p.LastEvaluatedKey)
	}
	// Limit counts the items read, not those kept.
	p = e.ops(t, `{"operation":"list","payload":{"Limit":4,"FilterExpression":"price >= :p","ExpressionAttributeValues":{":p":20}}}`, tenant...).want(t, 200).page(t)
	if ids(p) != "i2,i3" || p.ScannedCount != 4 || p.LastEvaluatedKey["id"] != "i3" {
		t.Errorf("a limited filtered scan: got %s, ScannedCount %d, LastEvaluatedKey %v", ids(p), p.ScannedCount, p.LastEvaluatedKey)
	}
	e.ops(t, `{"operation":"list","payload":{"Select":"COUNT","FilterExpression":"attribute_not_exists(#n)","ExpressionAttributeNames":{"#n":"name"}}}`, tenant...).
		wantBody(t, 200, `{"Count": 1, "ScannedCount": 11}`)
	e.ops(t, `{"operation":"list","payload":{"Limit":1,"ProjectionExpression":"price"}}`, tenant...).
		wantBody(t, 200, `{"Items": [{"price": 0}], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": {"id": "i0"}}`)
	// The index.
	q := func(extra string) page {
		t.Helper()
		return e.ops(t, `{"operation":"query","payload":{"IndexName":"name-index","KeyConditionExpression":"#n = :v`+extra, tenant...).want(t, 200).page(t)
	}
	if p := q(`","ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{":v":"lamp"}}}`); ids(p) != "i0,i3,i6,i9" || p.ScannedCount != 4 {
		t.Errorf("query of lamp: got %s (%d read)", ids(p), p.ScannedCount)
	}
	p = q(`","ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{":v":"lamp"},"Limit":2}}`)
	if ids(p) != "i0,i3" || p.LastEvaluatedKey["id"] != "i3" || p.LastEvaluatedKey["name"] != "lamp" {
		t.Errorf("a page of lamp: got %s, LastEvaluatedKey %v", ids(p), p.LastEvaluatedKey)
	}
	p = q(`","ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{":v":"lamp"},"ExclusiveStartKey":{"id":"i3","name":"lamp"}}}`)
	if ids(p) != "i6,i9" {
		t.Errorf("the next page of lamp: got %s", ids(p))
	}
	for cond, want := range map[string]string{
		` AND id > :a`:              "i6,i9",
		` AND id BETWEEN :a AND :b`: "i3,i6",
		` AND begins_with(id, :p)`:  "i9",
		` AND id <= :a`:             "i0,i3",
		` AND id = :b`:              "i6",
	} {
		values := `":v":"lamp"`
		for _, v := range []string{`":a":"i3"`, `":b":"i6"`, `":p":"i9"`} {
			if strings.Contains(cond, v[1:3]) {
				values += "," + v
			}
		}
		p := q(cond + `","ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{` + values + `}}}`)
		if ids(p) != want {
			t.Errorf("lamp%s: got %s, want %s", cond, ids(p), want)
		}
	}
	// A query of the table by its key.
	e.ops(t, `{"operation":"query","payload":{"KeyConditionExpression":"id = :id","ExpressionAttributeValues":{":id":"i99"},"ProjectionExpression":"price"}}`, tenant...).
		wantBody(t, 200, `{"Items": [{"price": 5}], "Count": 1, "ScannedCount": 1}`)
}

// TestOpsConsumedCapacity checks ReturnConsumedCapacity over a store
// charged by the table's capacity layer: DynamoDB's answer shape, and the
// units of each operation.
func TestOpsConsumedCapacity(t *testing.T) {
	tb, err := table.New(table.Config{Name: "items"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, table.NewStore(newStore(t), tb, table.StoreConfig{}))
	e.ops(t, `{"operation":"create","payload":{"Item":{"id":"a","name":"lamp"},"ReturnConsumedCapacity":"TOTAL"}}`).
		wantBody(t, 200, `{"ConsumedCapacity": {"TableName": "items", "CapacityUnits": 1.0}}`)
	// An eventually consistent read is half a unit; over DynamoDB the
	// tests' store reads strongly consistent (newStore), a whole one.
	units := "0.5"
	if os.Getenv("SURGE_TEST_STORE") == "dynamodb" {
		units = "1.0"
	}
	r := e.ops(t, `{"operation":"read","payload":{"Key":{"id":"a"},"ReturnConsumedCapacity":"INDEXES"}}`).want(t, 200)
	if !strings.HasSuffix(string(r.body), `, "ConsumedCapacity": {"TableName": "items", "CapacityUnits": `+units+`, "Table": {"CapacityUnits": `+units+`}}}`) {
		t.Errorf("read: got %s", r.body)
	}
	if st := r.header.Get("Server-Timing"); !strings.Contains(st, "rcu;desc="+strings.TrimSuffix(units, ".0")) {
		t.Errorf("read: Server-Timing %q", st)
	}
	// An update reads the item (strongly consistent) and writes it.
	r = e.ops(t, `{"operation":"update","payload":{"Key":{"id":"a"},"UpdateExpression":"SET n = :n","ExpressionAttributeValues":{":n":1},
		"ReturnConsumedCapacity":"TOTAL"}}`).want(t, 200)
	if string(r.body) != `{"ConsumedCapacity": {"TableName": "items", "CapacityUnits": 2.0}}` {
		t.Errorf("update: got %s", r.body)
	}
	p := e.ops(t, `{"operation":"query","payload":{"IndexName":"name-index","KeyConditionExpression":"#n = :v","ExpressionAttributeNames":{"#n":"name"},
		"ExpressionAttributeValues":{":v":"lamp"},"ReturnConsumedCapacity":"INDEXES"}}`).want(t, 200).page(t)
	if c := p.ConsumedCapacity; c == nil || c.CapacityUnits != 0.5 || c.Table.CapacityUnits != 0 || c.GlobalSecondaryIndexes["name-index"].CapacityUnits != 0.5 {
		t.Errorf("query: got %+v", c)
	}
	e.ops(t, `{"operation":"ping","payload":{"ReturnConsumedCapacity":"TOTAL"}}`).wantBody(t, 200, `"pong"`)
	e.ops(t, `{"operation":"delete","payload":{"Key":{"id":"a"},"ReturnConsumedCapacity":"NONE"}}`).wantBody(t, 200, `{}`)
}

// TestOpsUpdateIsAtomic runs concurrent increments: each is a read, an
// evaluation and a write conditional on the item's revision, started over
// when another write came between, so that none is lost.
func TestOpsUpdateIsAtomic(t *testing.T) {
	e := newEnv(t)
	e.ops(t, `{"operation":"create","payload":{"Item":{"id":"counter","n":0}}}`).want(t, 200)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				r := e.do("POST", "/ops", `{"operation":"update","payload":{"Key":{"id":"counter"},"UpdateExpression":"SET n = n + :one",
					"ExpressionAttributeValues":{":one":1}}}`)
				if r.status != 200 {
					t.Errorf("increment: got %d %s", r.status, r.body)
				}
			}
		})
	}
	wg.Wait()
	if n := e.do("GET", "/items/counter", "").want(t, 200).obj(t)["n"]; n != json.Number(fmt.Sprint(writers*each)) {
		t.Errorf("after %d increments: n = %v", writers*each, n)
	}
}

// TestOpsTutorialEvents sends the AWS tutorial's sample events (testdata/
// tutorial, from "Tutorial: Using Lambda with API Gateway") as its curl
// commands send them, with curl -d's Content-Type,
// application/x-www-form-urlencoded: every one works unchanged.
func TestOpsTutorialEvents(t *testing.T) {
	e := newEnv(t)
	send := func(name string) *resp {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", "tutorial", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return e.do("POST", "/DynamoDBManager", string(body), "Content-Type", "application/x-www-form-urlencoded")
	}
	names, _ := filepath.Glob(filepath.Join("testdata", "tutorial", "*.json"))
	sort.Strings(names)
	if len(names) != 7 {
		t.Fatalf("want the tutorial's 7 events, got %v", names)
	}
	send("create").wantBody(t, 200, `{}`)
	r := send("read").want(t, 200)
	if !strings.Contains(string(r.body), `"id": "1234ABCD"`) || !strings.Contains(string(r.body), `"number": 5`) {
		t.Errorf("read: got %s", r.body)
	}
	send("update").wantBody(t, 200, `{}`)
	if n := e.do("GET", "/items/1234ABCD", "").want(t, 200).obj(t)["number"]; n != json.Number("10") {
		t.Errorf("after the update: number %v, want 10", n)
	}
	if p := send("list").want(t, 200).page(t); p.Count != 1 {
		t.Errorf("list: got %+v", p)
	}
	send("echo").wantBody(t, 200, `{"somekey1": "somevalue1", "somekey2": "somevalue2"}`)
	send("ping").wantBody(t, 200, `"pong"`)
	send("delete").wantBody(t, 200, `{}`)
	e.do("GET", "/items/1234ABCD", "").wantError(t, http.StatusNotFound, items.ENOTFOUND)
}
