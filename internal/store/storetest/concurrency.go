package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/surgehq/surge/internal/items"
)

// racers is how many goroutines race in each concurrency test.
const racers = 16

// race runs f(i) for i in 0..n-1 at once, released together, and returns
// their errors by index.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return errs
}

// winners checks that exactly one error is nil and every other has the
// code loser; it returns the winner's index.
func winners(t *testing.T, what string, errs []error, loser string) int {
	t.Helper()
	win := -1
	for i, err := range errs {
		switch code := items.ErrorCode(err); code {
		case "":
			if win >= 0 {
				t.Fatalf("%s: racers %d and %d both won", what, win, i)
			}
			win = i
		case loser:
		default:
			t.Fatalf("%s: racer %d got %v (code %q), want success or %q", what, i, err, code, loser)
		}
	}
	if win < 0 {
		t.Fatalf("%s: nobody won", what)
	}
	return win
}

func testConcurrency(t *testing.T, open Opener) {
	t.Run("ReplaceSameRev", func(t *testing.T) {
		e := setup(t, open)
		base := e.mustCreate(e.key("k"), `{"winner":-1}`)
		results := make([]*items.Item, racers)
		errs := race(racers, func(i int) error {
			it, err := e.s.Replace(e.ctx, e.key("k"), lit(fmt.Sprintf(`{"winner":%d}`, i)), items.Condition{IfRev: base.Rev})
			results[i] = it
			return err
		})
		win := winners(t, "replace with the same rev", errs, items.EPRECONDITION)
		got := e.mustGet(e.key("k"))
		sameItem(t, "the winner's item", got, results[win])
		if got.Version != 2 {
			t.Fatalf("after the race: got version %d, want 2", got.Version)
		}
		sameAttrs(t, "the winner's attributes", got.Attrs, attrs(t, fmt.Sprintf(`{"winner":%d}`, win)))
	})
	t.Run("DeleteSameRev", func(t *testing.T) {
		e := setup(t, open)
		base := e.mustCreate(e.key("k"), `{}`)
		errs := race(racers, func(i int) error {
			return e.s.Delete(e.ctx, e.key("k"), items.Condition{IfRev: base.Rev})
		})
		// A loser finds the item changed or gone.
		win := -1
		for i, err := range errs {
			switch items.ErrorCode(err) {
			case "":
				if win >= 0 {
					t.Fatalf("racers %d and %d both deleted", win, i)
				}
				win = i
			case items.EPRECONDITION, items.ENOTFOUND:
			default:
				t.Fatalf("racer %d: %v", i, err)
			}
		}
		if win < 0 {
			t.Fatal("nobody deleted")
		}
	})
	t.Run("CreateSameID", func(t *testing.T) {
		e := setup(t, open)
		results := make([]*items.Created, racers)
		errs := race(racers, func(i int) error {
			c, err := e.s.Create(e.ctx, e.key("k"), lit(fmt.Sprintf(`{"winner":%d}`, i)), nil)
			results[i] = c
			return err
		})
		win := winners(t, "create of one id", errs, items.ECONFLICT)
		got := e.mustGet(e.key("k"))
		sameItem(t, "the winner's item", got, results[win].Item)
		if got.Version != 1 {
			t.Fatalf("after the race: got version %d, want 1", got.Version)
		}
	})
	t.Run("CreateDistinct", func(t *testing.T) {
		e := setup(t, open)
		const each = 25
		errs := race(racers, func(i int) error {
			for j := 0; j < each; j++ {
				if _, err := e.s.Create(e.ctx, e.key(fmt.Sprintf("g%02d-%02d", i, j)), lit(fmt.Sprintf(`{"g":%d,"j":%d}`, i, j)), nil); err != nil {
					return err
				}
			}
			return nil
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("racer %d: %v", i, err)
			}
		}
		all := e.listAll(e.tenant, 100)
		if len(all) != racers*each {
			t.Fatalf("list: got %d items, want %d", len(all), racers*each)
		}
		for i := 0; i < racers; i++ {
			for j := 0; j < each; j++ {
				it := all[i*each+j]
				if want := fmt.Sprintf("g%02d-%02d", i, j); it.ID != want {
					t.Fatalf("list: got %q at %d, want %q", it.ID, i*each+j, want)
				}
				sameAttrs(t, it.ID, it.Attrs, attrs(t, fmt.Sprintf(`{"g":%d,"j":%d}`, i, j)))
			}
		}
	})
	t.Run("IdempotentCreate", func(t *testing.T) {
		e := setup(t, open)
		idem := &items.Idempotency{Key: "one-key", Hash: "one-hash"}
		results := make([]*items.Created, racers)
		errs := race(racers, func(i int) error {
			// Each retry carries its own server-assigned id, as retries of
			// a POST without an id do.
			c, err := e.s.Create(e.ctx, e.key(fmt.Sprintf("id%02d", i)), lit(`{"same":"body"}`), idem)
			results[i] = c
			return err
		})
		first := -1
		for i, err := range errs {
			if err != nil {
				t.Fatalf("racer %d: %v", i, err)
			}
			if !results[i].Replayed {
				if first >= 0 {
					t.Fatalf("racers %d and %d both created", first, i)
				}
				first = i
			}
		}
		if first < 0 {
			t.Fatal("every racer got a replay; none created")
		}
		for i, c := range results {
			sameItem(t, fmt.Sprintf("racer %d's item", i), c.Item, results[first].Item)
		}
		all := e.listAll(e.tenant, 100)
		if len(all) != 1 || all[0].ID != fmt.Sprintf("id%02d", first) {
			t.Fatalf("list: got %q, want only the first racer's item", ids(all))
		}
	})
	t.Run("MixedWrites", func(t *testing.T) {
		// Writers on distinct items, readers and listers at once: every
		// acknowledged write is what is read afterwards.
		e := setup(t, open)
		const rounds = 10
		errs := race(racers, func(i int) error {
			key := e.key(fmt.Sprintf("m%02d", i))
			c, err := e.s.Create(e.ctx, key, lit(`{"n":0}`), nil)
			if err != nil {
				return err
			}
			rev := c.Item.Rev
			for n := 1; n <= rounds; n++ {
				it, err := e.s.Replace(e.ctx, key, lit(fmt.Sprintf(`{"n":%d}`, n)), items.Condition{IfRev: rev})
				if err != nil {
					return fmt.Errorf("replace %d: %w", n, err)
				}
				rev = it.Rev
				got, err := e.s.Get(e.ctx, key, consistent)
				if err != nil {
					return fmt.Errorf("get %d: %w", n, err)
				}
				if got.Rev != rev || got.Version != int64(n+1) {
					return fmt.Errorf("get after replace %d: got version %d rev %q, want %d %q", n, got.Version, got.Rev, n+1, rev)
				}
				if _, err := e.s.List(e.ctx, e.tenant, items.ListQuery{Limit: 5}); err != nil {
					return fmt.Errorf("list: %w", err)
				}
			}
			if i%2 == 0 {
				return e.s.Delete(e.ctx, key, items.Condition{IfRev: rev})
			}
			return nil
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("racer %d: %v", i, err)
			}
		}
		if n := len(e.listAll(e.tenant, 100)); n != racers/2 {
			t.Fatalf("list: got %d items, want %d", n, racers/2)
		}
	})
}
