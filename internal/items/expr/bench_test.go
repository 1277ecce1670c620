package expr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
)

// Benchmarks of parsing, binding and evaluating typical expressions on an
// item of about 1 KB: go test -bench . -benchmem ./internal/items/expr

// benchItem is a whole item as the dispatcher sees it, about 1 KB.
var benchItem = func() items.Attributes {
	var b strings.Builder
	b.WriteString(`{"id":"0190f7a2-7c3e-7b1a-9f00-3c1d2e4f5a6b","version":7,"createdAt":"2026-11-01T10:00:00.000Z","updatedAt":"2026-11-02T10:00:00.000Z",`)
	b.WriteString(`"name":"Bicycle 101","price":500,"stock":12,"status":"active","seller":{"name":"Ann","email":"ann@example.com","tier":"gold"},`)
	b.WriteString(`"tags":["red","road","carbon","sale"],"dims":{"w":10,"h":5,"d":120},"history":[`)
	for i := range 12 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"at":"2026-10-%02dT00:00:00.000Z","by":"user-%d","change":"price"}`, i+1, i)
	}
	b.WriteString(`],"views":1234,"description":"A light bicycle with a carbon frame, for road and town."}`)
	a, err := items.Canonicalize([]byte(b.String()))
	if err != nil {
		panic(err)
	}
	return a
}()

var (
	benchCond = &Request{
		ConditionExpression:       ptr("attribute_exists(id) AND #s = :active AND price BETWEEN :lo AND :hi AND contains(tags, :tag) AND size(history) > :n"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string][]byte{":active": []byte(`"active"`), ":lo": []byte("100"), ":hi": []byte("1000"), ":tag": []byte(`"sale"`), ":n": []byte("3")},
	}
	benchUpdate = &Request{
		UpdateExpression:          ptr("SET #v = #v + :one, price = :p, tags = list_append(if_not_exists(tags, :empty), :t), seller.tier = :tier REMOVE description"),
		ConditionExpression:       ptr("#v = :expected"),
		ExpressionAttributeNames:  map[string]string{"#v": "views"},
		ExpressionAttributeValues: map[string][]byte{":one": []byte("1"), ":p": []byte("450.50"), ":empty": []byte("[]"), ":t": []byte(`["new"]`), ":tier": []byte(`"platinum"`), ":expected": []byte("1234")},
	}
	benchProj = &Request{ProjectionExpression: ptr("id, #n, price, seller.email, history[0].change, dims")}
)

func ptr(s string) *string { return &s }

// cpu starts measuring a benchmark's CPU time; the returned function
// reports it per operation (cpu-ns/op).
func cpu(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func BenchmarkParseConditionUncached(b *testing.B) {
	defer cpu(b)()
	for b.Loop() {
		if p := parseUncached(gCondition, *benchCond.ConditionExpression); p.err != nil {
			b.Fatal(p.err)
		}
	}
}

func BenchmarkCompileCondition(b *testing.B) {
	defer cpu(b)()
	for b.Loop() {
		if _, err := Compile(PutItem, benchCond, Options{Key: []string{"id"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// uncached runs a benchmark with the parse cache off.
func uncached(b *testing.B) func() {
	saved := cache
	cache = newParseCache(0)
	return func() { cache = saved }
}

func BenchmarkCompileConditionUncached(b *testing.B) {
	defer uncached(b)()
	defer cpu(b)()
	for b.Loop() {
		if _, err := Compile(PutItem, benchCond, Options{Key: []string{"id"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	ex, err := Compile(PutItem, benchCond, Options{Key: []string{"id"}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchItem)))
	defer cpu(b)()
	for b.Loop() {
		if !ex.Condition.Match(benchItem) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkCompileUpdate(b *testing.B) {
	defer cpu(b)()
	for b.Loop() {
		if _, err := Compile(UpdateItem, benchUpdate, Options{Key: []string{"id"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileUpdateUncached(b *testing.B) {
	defer uncached(b)()
	defer cpu(b)()
	for b.Loop() {
		if _, err := Compile(UpdateItem, benchUpdate, Options{Key: []string{"id"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyUpdate(b *testing.B) {
	ex, err := Compile(UpdateItem, benchUpdate, Options{Key: []string{"id"}})
	if err != nil {
		b.Fatal(err)
	}
	key := items.Attributes(`{"id":"0190f7a2-7c3e-7b1a-9f00-3c1d2e4f5a6b"}`)
	b.SetBytes(int64(len(benchItem)))
	defer cpu(b)()
	for b.Loop() {
		if err := ex.Condition.Check(benchItem); err != nil {
			b.Fatal(err)
		}
		if _, err := ex.Update.Apply(benchItem, key, ReturnUpdatedNew); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProjection(b *testing.B) {
	r := *benchProj
	r.ExpressionAttributeNames = map[string]string{"#n": "name"}
	ex, err := Compile(GetItem, &r, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchItem)))
	defer cpu(b)()
	for b.Loop() {
		ex.Projection.Apply(benchItem)
	}
}

// BenchmarkFilterScan is a scan's filter over a page of 100 items.
func BenchmarkFilterScan(b *testing.B) {
	ex, err := Compile(Scan, &Request{FilterExpression: ptr("price < :p AND begins_with(#n, :b)"), ExpressionAttributeNames: map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string][]byte{":p": []byte("600"), ":b": []byte(`"Bic"`)}}, Options{Key: []string{"id"}})
	if err != nil {
		b.Fatal(err)
	}
	page := make([]items.Attributes, 100)
	for i := range page {
		page[i] = benchItem
	}
	b.SetBytes(int64(100 * len(benchItem)))
	defer cpu(b)()
	for b.Loop() {
		n := 0
		for _, it := range page {
			if ex.Filter.Match(it) {
				n++
			}
		}
		if n != 100 {
			b.Fatalf("%d matched", n)
		}
	}
}

func BenchmarkKeyConditionMatch(b *testing.B) {
	ex, err := Compile(Query, &Request{KeyConditionExpression: ptr("#s = :s AND price BETWEEN :lo AND :hi"), ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string][]byte{":s": []byte(`"active"`), ":lo": []byte("1"), ":hi": []byte("999")}},
		Options{KeySchema: KeySchema{Partition: "status", Sort: "price"}})
	if err != nil {
		b.Fatal(err)
	}
	defer cpu(b)()
	for b.Loop() {
		if !ex.KeyCondition.Match(benchItem) {
			b.Fatal("no match")
		}
	}
}
