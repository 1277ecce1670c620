// Package storetest is the conformance suite of items.Store: one function,
// Run, that checks every behaviour the Store interface documents against a
// backend. Every backend's tests call it, so that the backends behave
// alike and the HTTP layer can rely on the interface alone.
//
// The suite is written for slow and shared backends too (a DynamoDB table
// over the network): every subtest works in tenants of its own with random
// names, so an opener may hand out stores that share one table, and every
// read asks for a consistent read.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

// Opener returns a store to test, reading the time from now, and registers
// its cleanup with t (t.Cleanup): the suite closes some stores itself, so
// the cleanup must tolerate a second Close. It is called once per subtest.
type Opener func(t *testing.T, now items.Clock) items.Store

// Run runs the conformance suite against the stores that open returns, as
// subtests of t.
func Run(t *testing.T, open Opener) {
	t.Run("Get", func(t *testing.T) { testGet(t, open) })
	t.Run("Create", func(t *testing.T) { testCreate(t, open) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, open) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, open) })
	t.Run("Rev", func(t *testing.T) { testRev(t, open) })
	t.Run("Timestamps", func(t *testing.T) { testTimestamps(t, open) })
	t.Run("Conditions", func(t *testing.T) { testConditions(t, open) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open) })
	t.Run("List", func(t *testing.T) { testList(t, open) })
	t.Run("Scan", func(t *testing.T) { testScan(t, open) })
	t.Run("Query", func(t *testing.T) { testQuery(t, open) })
	t.Run("Old", func(t *testing.T) { testOld(t, open) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, open) })
	t.Run("Tenants", func(t *testing.T) { testTenants(t, open) })
	t.Run("Values", func(t *testing.T) { testValues(t, open) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Close", func(t *testing.T) { testClose(t, open) })
	t.Run("Ping", func(t *testing.T) { testPing(t, open) })
}

// start is the suite clock's first reading: not UTC and not on a whole
// millisecond, so that a store that forgets to normalize shows it.
var start = time.Date(2031, time.March, 4, 5, 6, 7, 891_234_567, time.FixedZone("UTC+5:30", 5*3600+1800))

// clock is a clock the suite moves by hand.
type clock struct {
	*manualclock.Clock
}

func newClock() *clock { return &clock{manualclock.New(start)} }

// itemTime returns the time an item written now carries: UTC, whole ms.
func (c *clock) itemTime() time.Time {
	return c.Now().UTC().Truncate(time.Millisecond)
}

// env is what one subtest works with: a store, its clock and a tenant that
// no other subtest uses.
type env struct {
	t      *testing.T
	s      items.Store
	clock  *clock
	tenant string
	ctx    context.Context
}

func setup(t *testing.T, open Opener) *env {
	t.Helper()
	c := newClock()
	s := open(t, c.Now)
	if s == nil {
		t.Fatal("the opener returned a nil store")
	}
	return &env{t: t, s: s, clock: c, tenant: newTenant(), ctx: context.Background()}
}

// newTenant returns a tenant name unique to this run.
func newTenant() string { return "st-" + randHex(6) }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// key returns the key of id in the env's tenant.
func (e *env) key(id string) items.Key { return items.Key{Tenant: e.tenant, ID: id} }

var consistent = items.ReadOptions{Consistent: true}

// attrs returns the canonical attributes of a JSON object.
func attrs(t testing.TB, js string) items.Attributes {
	t.Helper()
	a, err := items.Canonicalize([]byte(js))
	if err != nil {
		t.Fatalf("canonicalize %s: %v", js, err)
	}
	return a
}

// lit returns attributes from a JSON text that is already canonical
// (compact, integers only, no escapes); goroutines use it, since attrs may
// stop the test.
func lit(js string) items.Attributes { return items.Attributes(js) }

// mustCreate creates an item and checks it succeeded.
func (e *env) mustCreate(key items.Key, js string) *items.Item {
	e.t.Helper()
	c, err := e.s.Create(e.ctx, key, attrs(e.t, js), nil)
	if err != nil {
		e.t.Fatalf("create %v: %v", key, err)
	}
	if c == nil || c.Item == nil {
		e.t.Fatalf("create %v: got a nil item", key)
	}
	if c.Replayed {
		e.t.Fatalf("create %v without idempotency: got Replayed", key)
	}
	return c.Item
}

// mustReplace replaces an item and checks it succeeded.
func (e *env) mustReplace(key items.Key, js string, cond items.Condition) *items.Item {
	e.t.Helper()
	it, err := e.s.Replace(e.ctx, key, attrs(e.t, js), cond)
	if err != nil {
		e.t.Fatalf("replace %v: %v", key, err)
	}
	if it == nil {
		e.t.Fatalf("replace %v: got a nil item", key)
	}
	return it
}

// mustGet reads an item consistently and checks it is there.
func (e *env) mustGet(key items.Key) *items.Item {
	e.t.Helper()
	it, err := e.s.Get(e.ctx, key, consistent)
	if err != nil {
		e.t.Fatalf("get %v: %v", key, err)
	}
	if it == nil {
		e.t.Fatalf("get %v: got a nil item", key)
	}
	return it
}

// mustList lists one page and checks it succeeded.
func (e *env) mustList(tenant string, q items.ListQuery) *items.Page {
	e.t.Helper()
	p, err := e.s.List(e.ctx, tenant, q)
	if err != nil {
		e.t.Fatalf("list %q %+v: %v", tenant, q, err)
	}
	if p == nil {
		e.t.Fatalf("list %q %+v: got a nil page", tenant, q)
	}
	return p
}

// listAll walks every page of a tenant's listing with the given limit and
// returns the items, checking each page's Next.
func (e *env) listAll(tenant string, limit int) []*items.Item {
	e.t.Helper()
	var all []*items.Item
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			e.t.Fatalf("list %q: more than 10000 pages", tenant)
		}
		p := e.mustList(tenant, items.ListQuery{After: after, Limit: limit})
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		if len(p.Items) == 0 {
			e.t.Fatalf("list %q after %q: got an empty page with Next %q", tenant, after, p.Next)
		}
		if last := p.Items[len(p.Items)-1].ID; p.Next != last {
			e.t.Fatalf("list %q after %q: got Next %q, want the page's last id %q", tenant, after, p.Next, last)
		}
		after = p.Next
	}
}

// wantCode checks that err carries the given contract code.
func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := items.ErrorCode(err); got != code {
		t.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

// sameItem checks that got is want: every server-managed field equal and
// the attributes equal as JSON.
func sameItem(t testing.TB, what string, got, want *items.Item) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got a nil item", what)
	}
	if got.Key != want.Key {
		t.Errorf("%s: got key %+v, want %+v", what, got.Key, want.Key)
	}
	if got.Version != want.Version {
		t.Errorf("%s: got version %d, want %d", what, got.Version, want.Version)
	}
	if got.Rev != want.Rev {
		t.Errorf("%s: got rev %q, want %q", what, got.Rev, want.Rev)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: got createdAt %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: got updatedAt %v, want %v", what, got.UpdatedAt, want.UpdatedAt)
	}
	sameAttrs(t, what, got.Attrs, want.Attrs)
}

// sameAttrs checks that two attribute objects are equal as JSON.
func sameAttrs(t testing.TB, what string, got, want items.Attributes) {
	t.Helper()
	if diff := jsonDiff([]byte(got.String()), []byte(want.String())); diff != "" {
		t.Errorf("%s: attributes differ: %s\n got: %.300s\nwant: %.300s", what, diff, got.String(), want.String())
	}
}

// checkTime checks that a stored timestamp is UTC with whole milliseconds
// and equals want.
func checkTime(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: got location %v, want UTC", what, got.Location())
	}
	if got.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("%s: got %v, want whole milliseconds", what, got)
	}
	if !got.Equal(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// ids returns the ids of a list of items.
func ids(its []*items.Item) []string {
	out := make([]string, len(its))
	for i, it := range its {
		out[i] = it.ID
	}
	return out
}
