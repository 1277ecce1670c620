// Package manualclock has a clock that tests move by hand, so that TTLs,
// token buckets, schedules and timestamps are tested without sleeping.
package manualclock

import (
	"sync"
	"time"
)

// Clock is a time of day that changes only by Advance. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock that reads start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the Clock's time; it fits wherever a func() time.Time is
// wanted (items.Clock, the gateway's and the pool's Now).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the Clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
