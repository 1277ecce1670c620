package manualclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/testkit/manualclock"
)

func TestAdvance(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := manualclock.New(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now() = %v, want %v", c.Now(), start)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Advance(time.Second) })
	}
	wg.Wait()
	if got, want := c.Advance(time.Minute), start.Add(70*time.Second); !got.Equal(want) || !c.Now().Equal(want) {
		t.Fatalf("Advance = %v, Now = %v, want %v", got, c.Now(), want)
	}
}
