package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
)

func testList(t *testing.T, open Opener) {
	t.Run("Empty", func(t *testing.T) {
		e := setup(t, open)
		p := e.mustList(e.tenant, items.ListQuery{Limit: 10})
		if len(p.Items) != 0 || p.Next != "" {
			t.Fatalf("list of an empty tenant: got %d items, Next %q", len(p.Items), p.Next)
		}
	})
	t.Run("Order", func(t *testing.T) {
		e := setup(t, open)
		// Ids that sort differently by byte, by case-folding, by number
		// and by locale: the order is the bytes'.
		// '-', '.' and '_' cannot start an id, so they come second.
		want := []string{"0", "0-", "0.", "09", "0A", "0_", "0a", "1", "10", "2", "9", "A", "B", "Z", "a", "a-b", "a.b", "a_b", "aa", "b", "z"}
		created := map[string]*items.Item{}
		for _, i := range rand.Perm(len(want)) {
			created[want[i]] = e.mustCreate(e.key(want[i]), fmt.Sprintf(`{"i":%d}`, i))
		}
		p := e.mustList(e.tenant, items.ListQuery{Limit: 100})
		if got := ids(p.Items); !slices.Equal(got, want) {
			t.Fatalf("list: got ids %q, want %q", got, want)
		}
		if p.Next != "" {
			t.Errorf("list of everything: got Next %q, want none", p.Next)
		}
		for _, it := range p.Items {
			sameItem(t, "listed item "+it.ID, it, created[it.ID])
		}
	})
	t.Run("After", func(t *testing.T) {
		e := setup(t, open)
		for _, id := range []string{"a", "c", "e", "g"} {
			e.mustCreate(e.key(id), `{}`)
		}
		for _, c := range []struct {
			after string
			want  []string
		}{
			{"", []string{"a", "c", "e", "g"}},
			{"a", []string{"c", "e", "g"}}, // exclusive
			{"b", []string{"c", "e", "g"}}, // need not exist
			{"0", []string{"a", "c", "e", "g"}},
			{"c-", []string{"e", "g"}},
			{"g", nil},
			{"zzz", nil},
		} {
			p := e.mustList(e.tenant, items.ListQuery{After: c.after, Limit: 10})
			if got := ids(p.Items); !slices.Equal(got, c.want) {
				t.Errorf("list after %q: got %q, want %q", c.after, got, c.want)
			}
			if p.Next != "" {
				t.Errorf("list after %q: got Next %q, want none", c.after, p.Next)
			}
		}
	})
	t.Run("Limit", func(t *testing.T) {
		e := setup(t, open)
		for _, limit := range []int{0, -1, items.MaxListLimit + 1, 1 << 40} {
			_, err := e.s.List(e.ctx, e.tenant, items.ListQuery{Limit: limit})
			wantCode(t, fmt.Sprintf("list with limit %d", limit), err, items.EINVALID)
		}
		var all []string
		for i := 0; i < 7; i++ {
			id := fmt.Sprintf("id%02d", i)
			all = append(all, id)
			e.mustCreate(e.key(id), `{}`)
		}
		for _, c := range []struct {
			limit int
			want  []string
			next  string
		}{
			{1, all[:1], "id00"},
			{3, all[:3], "id02"},
			{6, all[:6], "id05"},
			{7, all, ""}, // exactly what remains: no Next
			{8, all, ""},
			{items.MaxListLimit, all, ""},
		} {
			p := e.mustList(e.tenant, items.ListQuery{Limit: c.limit})
			if got := ids(p.Items); !slices.Equal(got, c.want) {
				t.Errorf("list with limit %d: got %q, want %q", c.limit, got, c.want)
			}
			if p.Next != c.next {
				t.Errorf("list with limit %d: got Next %q, want %q", c.limit, p.Next, c.next)
			}
		}
		p := e.mustList(e.tenant, items.ListQuery{After: "id03", Limit: 3})
		if got := ids(p.Items); !slices.Equal(got, all[4:]) || p.Next != "" {
			t.Errorf("list of the last 3 with limit 3: got %q, Next %q; want %q and no Next", got, p.Next, all[4:])
		}
		for _, limit := range []int{1, 2, 3, 7} {
			if got := ids(e.listAll(e.tenant, limit)); !slices.Equal(got, all) {
				t.Errorf("walk with limit %d: got %q, want %q", limit, got, all)
			}
		}
	})
	t.Run("PageBytes", func(t *testing.T) {
		e := setup(t, open)
		// Items of about 300 KB: three fit in a page of MaxPageBytes, four
		// do not.
		const n = 5
		pad := padding(300 * 1024)
		var want []string
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("big%d", i)
			want = append(want, id)
			e.mustCreate(e.key(id), `{"pad":"`+pad+`"}`)
		}
		p := e.mustList(e.tenant, items.ListQuery{Limit: 100})
		checkPageBytes(t, p)
		if len(p.Items) >= n {
			t.Fatalf("list of %d items of 300 KB: got all of them in one page, want it to stop at %d bytes", n, items.MaxPageBytes)
		}
		if p.Next == "" {
			t.Fatal("a page that stopped early: got no Next")
		}
		var got []string
		after := ""
		for pages := 0; pages < n+1; pages++ {
			p := e.mustList(e.tenant, items.ListQuery{After: after, Limit: 100})
			checkPageBytes(t, p)
			if len(p.Items) == 0 {
				t.Fatalf("page after %q: got no items", after)
			}
			got = append(got, ids(p.Items)...)
			if p.Next == "" {
				break
			}
			after = p.Next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("walk of big items: got %q, want %q", got, want)
		}
		// A page holds at least one item even when the limit is 1.
		p = e.mustList(e.tenant, items.ListQuery{After: "big3", Limit: 1})
		if got := ids(p.Items); !slices.Equal(got, []string{"big4"}) || p.Next != "" {
			t.Fatalf("last big item: got %q, Next %q", got, p.Next)
		}
	})
	t.Run("Stability", func(t *testing.T) { testListStability(t, open) })
}

// checkPageBytes checks that a page stopped once it held MaxPageBytes: the
// items before its last one hold less than that. (Whether the item that
// crosses the line is on the page is the backend's choice: DynamoDB keeps
// it.)
func checkPageBytes(t *testing.T, p *items.Page) {
	t.Helper()
	size := 0
	for i, it := range p.Items {
		if i == len(p.Items)-1 {
			break
		}
		size += it.Size()
	}
	if size >= items.MaxPageBytes {
		t.Fatalf("a page of %d items: the first %d hold %d bytes, at or over MaxPageBytes %d", len(p.Items), len(p.Items)-1, size, items.MaxPageBytes)
	}
}

// testListStability walks a listing page by page while other goroutines
// create and delete items in the same tenant: keyset pagination never
// returns an id twice, returns ids in order, and never skips an id that
// existed for the whole walk.
func testListStability(t *testing.T, open Opener) {
	e := setup(t, open)
	const (
		stable  = 120 // items that live through the walk
		churned = 60  // items that exist before the walk and are deleted during it
		writers = 3
		limit   = 7
	)
	var stableIDs []string
	for i := 0; i < stable; i++ {
		id := fmt.Sprintf("%04d-s", i*10)
		stableIDs = append(stableIDs, id)
		e.mustCreate(e.key(id), `{"stable":true}`)
	}
	// Churned ids sit between the stable ones; they are deleted during the
	// walk, some before and some after the walk's position.
	doomed := make(chan string, churned)
	for _, i := range rand.Perm(churned) {
		id := fmt.Sprintf("%04d-c", i*20+5)
		e.mustCreate(e.key(id), `{"stable":false}`)
		doomed <- id
	}
	close(doomed)

	newAttrs := attrs(t, `{"new":true}`)
	// Writers take a token per write, so that the walk and the writes
	// interleave at every backend's speed and the listing stays bounded.
	var (
		ops    atomic.Int64
		tokens = make(chan struct{}, 64)
		done   = make(chan struct{}, 1)
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		errs   = make(chan error, writers)
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for n := 0; n < 1000; n++ {
				select {
				case <-stop:
					return
				case <-tokens:
				}
				var err error
				var id string
				ok := false
				if r.IntN(2) == 0 {
					id, ok = <-doomed
				}
				if ok {
					err = e.s.Delete(e.ctx, e.key(id), items.Condition{})
				} else {
					id = fmt.Sprintf("%04d-n%d-%d", r.IntN(stable*10), w, n)
					_, err = e.s.Create(e.ctx, e.key(id), newAttrs, nil)
				}
				if err != nil {
					errs <- err
					return
				}
				ops.Add(1)
				select {
				case done <- struct{}{}:
				default:
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	var got []string
	after := ""
	deadline := time.Now().Add(20 * time.Second)
	for pages := 0; ; pages++ {
		if pages > 10*(stable+churned) {
			t.Fatalf("walk: more than %d pages", pages)
		}
		p := e.mustList(e.tenant, items.ListQuery{After: after, Limit: limit})
		got = append(got, ids(p.Items)...)
		if p.Next == "" {
			break
		}
		after = p.Next
		// Let four writes go: wait for two to land before the next page,
		// and the others may land while it is read.
		seen := ops.Load()
		for i := 0; i < 4; i++ {
			select {
			case tokens <- struct{}{}:
			default:
			}
		}
		for ops.Load() < seen+2 && time.Now().Before(deadline) {
			select {
			case <-done:
			case err := <-errs:
				t.Fatalf("writer: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("writer: %v", err)
	default:
	}
	if ops.Load() == 0 {
		t.Fatal("no write landed during the walk")
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("walk: id %q came after %q (an id twice, or out of order)", got[i], got[i-1])
		}
	}
	for _, id := range stableIDs {
		if _, ok := slices.BinarySearch(got, id); !ok {
			t.Fatalf("walk: skipped %q, which existed for the whole walk", id)
		}
	}
}
