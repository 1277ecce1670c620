package dynamo_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/store/storetest"
)

// One dynalite serves every test of the package; each test makes its own
// table, so they may run in parallel.
func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }

// TestConformance runs the store conformance suite. Its subtests work in
// tenants of their own, so they share one table.
func TestConformance(t *testing.T) {
	client := dynalitetest.NewClient(dynalitetest.Start(t))
	table := dynalitetest.NewTable(t, client)
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		s := dynamo.New(client, table, dynamo.WithClock(now))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceConsistentDefault runs the suite once more with strongly
// consistent reads as the store's default.
func TestConformanceConsistentDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite already ran once")
	}
	client := dynalitetest.NewClient(dynalitetest.Start(t))
	table := dynalitetest.NewTable(t, client)
	storetest.Run(t, func(t *testing.T, now items.Clock) items.Store {
		s := dynamo.New(client, table, dynamo.WithClock(now), dynamo.WithConsistentReads(true))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

var ctx = context.Background()

func mustCreate(t *testing.T, s items.Store, key items.Key, js string) *items.Item {
	t.Helper()
	a, err := items.Canonicalize([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(ctx, key, a, nil)
	if err != nil {
		t.Fatalf("create %v: %v", key, err)
	}
	return c.Item
}

func rawItem(t *testing.T, s *dynamo.Store, tenant, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.Client().GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table()),
		Key:            map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: tenant}, "id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("raw get: %v", err)
	}
	return out.Item
}

// TestLayout checks the stored form that the package documents: native
// DynamoDB types under attrs, server attributes at the top.
func TestLayout(t *testing.T) {
	t.Parallel()
	s := dynalitetest.NewStore(t)
	it := mustCreate(t, s, items.Key{Tenant: "t1", ID: "a"}, `{"s":"x","n":1.50,"b":true,"z":null,"l":[1,"two"],"m":{"k":-2e-3}}`)
	av := rawItem(t, s, "t1", "a")
	if v, ok := av["version"].(*types.AttributeValueMemberN); !ok || v.Value != "1" {
		t.Errorf("version: got %#v, want N 1", av["version"])
	}
	if v, ok := av["rev"].(*types.AttributeValueMemberS); !ok || v.Value != it.Rev {
		t.Errorf("rev: got %#v, want S %s", av["rev"], it.Rev)
	}
	if v, ok := av["createdAt"].(*types.AttributeValueMemberN); !ok || v.Value != "1" && v.Value == "" {
		t.Errorf("createdAt: got %#v, want N", av["createdAt"])
	}
	m, ok := av["attrs"].(*types.AttributeValueMemberM)
	if !ok {
		t.Fatalf("attrs: got %#v, want M", av["attrs"])
	}
	if n, ok := m.Value["n"].(*types.AttributeValueMemberN); !ok || n.Value != "1.5" {
		t.Errorf("attrs.n: got %#v, want N 1.5", m.Value["n"])
	}
	if _, ok := m.Value["b"].(*types.AttributeValueMemberBOOL); !ok {
		t.Errorf("attrs.b: got %#v, want BOOL", m.Value["b"])
	}
	if _, ok := m.Value["z"].(*types.AttributeValueMemberNULL); !ok {
		t.Errorf("attrs.z: got %#v, want NULL", m.Value["z"])
	}
	if l, ok := m.Value["l"].(*types.AttributeValueMemberL); !ok || len(l.Value) != 2 {
		t.Errorf("attrs.l: got %#v, want L of 2", m.Value["l"])
	}
	inner, ok := m.Value["m"].(*types.AttributeValueMemberM)
	if !ok {
		t.Fatalf("attrs.m: got %#v, want M", m.Value["m"])
	}
	if n, ok := inner.Value["k"].(*types.AttributeValueMemberN); !ok || n.Value != "-0.002" {
		t.Errorf("attrs.m.k: got %#v, want N -0.002", inner.Value["k"])
	}
	got, err := s.Get(ctx, it.Key, items.ReadOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":true,"l":[1,"two"],"m":{"k":-0.002},"n":1.5,"s":"x","z":null}`; string(got.Attrs) != want {
		t.Errorf("get: got %s, want %s", got.Attrs, want)
	}
}

// TestIdempotencyRecordLayout checks that a record sits under the reserved
// prefix, is never listed, and carries a TTL in seconds.
func TestIdempotencyRecordLayout(t *testing.T) {
	t.Parallel()
	s := dynalitetest.NewStore(t)
	key := items.Key{Tenant: "t1", ID: "a"}
	if _, err := s.Create(ctx, key, items.Attributes(`{"x":1}`), &items.Idempotency{Key: "k-1", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	rec := rawItem(t, s, "t1", "#idem#k:k-1")
	if rec == nil {
		t.Fatal("no idempotency record under #idem#k:k-1")
	}
	for _, name := range []string{"hash", "exp", "ttl", "itemId", "rev", "createdAt", "attrs"} {
		if rec[name] == nil {
			t.Errorf("record has no %s", name)
		}
	}
	p, err := s.List(ctx, "t1", items.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].ID != "a" || p.Next != "" {
		t.Fatalf("list: got %d items (next %q), want only a", len(p.Items), p.Next)
	}
	// A long key is hashed into the sort key.
	long := strings.Repeat("k", 300)
	if _, err := s.Create(ctx, items.Key{Tenant: "t1", ID: "b"}, nil, &items.Idempotency{Key: long, Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(ctx, items.Key{Tenant: "t1", ID: "b2"}, nil, &items.Idempotency{Key: long, Hash: "h"})
	if err != nil || !c.Replayed || c.Item.ID != "b" {
		t.Fatalf("replay of a long key: got %+v, %v; want a replay of b", c, err)
	}
}

// TestIdempotencyNearLimit creates, with an Idempotency-Key, an item whose
// record would be over DynamoDB's limit uncompressed, and replays it.
func TestIdempotencyNearLimit(t *testing.T) {
	t.Parallel()
	s := dynalitetest.NewStore(t)
	key := items.Key{Tenant: "t1", ID: "big"}
	probe := items.Item{Key: key, Version: 1, Attrs: items.Attributes(`{"pad":""}`)}
	pad := strings.Repeat("ab", (items.MaxItemSize-probe.Size()-40)/2)
	a := items.Attributes(`{"pad":"` + pad + `"}`)
	idem := &items.Idempotency{Key: strings.Repeat("i", 200), Hash: strings.Repeat("h", 64)}
	c, err := s.Create(ctx, key, a, idem)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	rec := rawItem(t, s, "t1", "#idem#k:"+idem.Key)
	if rec["attrsz"] == nil || rec["attrs"] != nil {
		t.Fatalf("record: want compressed attributes (attrsz) only")
	}
	r, err := s.Create(ctx, key, a, idem)
	if err != nil || !r.Replayed {
		t.Fatalf("replay: got %+v, %v", r, err)
	}
	if r.Item.Rev != c.Item.Rev || string(r.Item.Attrs) != string(a) {
		t.Fatalf("replay: got rev %s and %d bytes of attributes, want %s and %d", r.Item.Rev, len(r.Item.Attrs), c.Item.Rev, len(a))
	}
}

// TestReplaceVersionDigits: an item whose encoding is at the limit with a
// one-digit version cannot be replaced once the version needs two digits.
func TestReplaceVersionDigits(t *testing.T) {
	t.Parallel()
	s := dynalitetest.NewStore(t)
	key := items.Key{Tenant: "t1", ID: "v"}
	mustCreate(t, s, key, `{}`)
	for range 7 { // to version 8
		if _, err := s.Replace(ctx, key, items.Attributes(`{}`), items.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	probe := items.Item{Key: key, Version: 9, Attrs: items.Attributes(`{"pad":""}`)}
	at := items.Attributes(`{"pad":"` + strings.Repeat("p", items.MaxItemSize-probe.Size()) + `"}`)
	it, err := s.Replace(ctx, key, at, items.Condition{})
	if err != nil {
		t.Fatalf("replace to version 9 at the limit: %v", err)
	}
	if it.Version != 9 || it.Size() != items.MaxItemSize {
		t.Fatalf("got version %d and %d bytes, want 9 and %d", it.Version, it.Size(), items.MaxItemSize)
	}
	_, err = s.Replace(ctx, key, at, items.Condition{IfRev: it.Rev})
	if code := items.ErrorCode(err); code != items.ETOOLARGE {
		t.Fatalf("replace to version 10: got %v, want %s", err, items.ETOOLARGE)
	}
	_, err = s.Replace(ctx, key, at, items.Condition{IfRev: "other"})
	if code := items.ErrorCode(err); code != items.EPRECONDITION {
		t.Fatalf("replace with a stale rev: got %v, want %s", err, items.EPRECONDITION)
	}
}

// TestListSkipsRecordsByKey: with many idempotency records and few items,
// a page is still one query (the records are outside the key range).
func TestListSkipsRecordsByKey(t *testing.T) {
	t.Parallel()
	obs := &countingObserver{}
	s := dynalitetest.NewStore(t, dynamo.WithObserver(obs))
	for i := range 20 {
		id := string(rune('a' + i))
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: id}, nil, &items.Idempotency{Key: "key-" + id, Hash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	obs.reset()
	p, err := s.List(ctx, "t", items.ListQuery{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 5 || p.Items[0].ID != "a" || p.Next != "e" {
		t.Fatalf("got %d items from %q, next %q; want a..e, next e", len(p.Items), p.Items[0].ID, p.Next)
	}
	if n := obs.count("Query"); n != 1 {
		t.Fatalf("got %d queries, want 1", n)
	}
	p, err = s.List(ctx, "t", items.ListQuery{After: "p", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 4 || p.Items[0].ID != "q" || p.Next != "" {
		t.Fatalf("after p: got %d items, next %q; want q..t, no next", len(p.Items), p.Next)
	}
}

// TestInvalidKeys: keys that cannot name an item are not found, and are
// refused on create.
func TestInvalidKeys(t *testing.T) {
	t.Parallel()
	s := dynalitetest.NewStore(t)
	if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "x"}, nil, &items.Idempotency{Key: "k", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"#idem#k:k", "", "-a"} {
		_, err := s.Get(ctx, items.Key{Tenant: "t", ID: id}, items.ReadOptions{Consistent: true})
		if items.ErrorCode(err) != items.ENOTFOUND {
			t.Errorf("get %q: got %v, want %s", id, err, items.ENOTFOUND)
		}
		if err := s.Delete(ctx, items.Key{Tenant: "t", ID: id}, items.Condition{}); items.ErrorCode(err) != items.ENOTFOUND {
			t.Errorf("delete %q: got %v, want %s", id, err, items.ENOTFOUND)
		}
		if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: id}, nil, nil); items.ErrorCode(err) != items.EINVALID {
			t.Errorf("create %q: got %v, want %s", id, err, items.EINVALID)
		}
	}
	if rawItem(t, s, "t", "#idem#k:k") == nil {
		t.Fatal("the record is gone")
	}
}

// TestObserver: every call is reported with its consumed capacity.
func TestObserver(t *testing.T) {
	t.Parallel()
	obs := &countingObserver{}
	s := dynalitetest.NewStore(t, dynamo.WithObserver(obs))
	key := items.Key{Tenant: "t", ID: "o"}
	it := mustCreate(t, s, key, `{"a":1}`)
	if _, err := s.Get(ctx, key, items.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, key, items.Condition{IfRev: it.Rev + "x"}); items.ErrorCode(err) != items.EPRECONDITION {
		t.Fatalf("delete with a wrong rev: got %v", err)
	}
	if obs.count("PutItem") != 1 || obs.count("GetItem") != 1 || obs.count("DeleteItem") != 1 {
		t.Fatalf("got calls %v", obs.snapshot())
	}
	if obs.units("PutItem") <= 0 {
		t.Errorf("PutItem: got %v capacity units, want > 0", obs.units("PutItem"))
	}
	if obs.errors("DeleteItem") != 1 {
		t.Errorf("DeleteItem: got %d errors, want 1", obs.errors("DeleteItem"))
	}
}
