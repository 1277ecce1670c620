package lambda

import (
	"fmt"
	"sync"
)

// Account is the concurrency that a region's functions share, as Lambda's
// account concurrency limit: a function with reserved concurrency has
// that much of it to itself, and the functions without share the rest,
// the unreserved concurrency; an invocation of one of those beyond it is
// throttled (ConcurrentInvocationLimitExceeded), whichever function holds
// the instances. Pools share an Account through Config.Account. It is
// safe for concurrent use.
type Account struct {
	mu       sync.Mutex
	limit    int
	reserved int // reserved by the pools attached
	busy     int // unreserved instances busy
}

// NewAccount returns an account whose functions may run limit instances
// at once (AWS's default: 1,000 a region).
func NewAccount(limit int) *Account { return &Account{limit: limit} }

// reserve sets n of the account aside for one function, as
// PutFunctionConcurrency does.
func (a *Account) reserve(n int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reserved+n > a.limit {
		return fmt.Errorf("reserved concurrency %d: the account's limit %d has %d unreserved", n, a.limit, a.limit-a.reserved)
	}
	a.reserved += n
	return nil
}

// release gives back what reserve set aside.
func (a *Account) release(n int) {
	a.mu.Lock()
	a.reserved -= n
	a.mu.Unlock()
}

// take holds one unit of the unreserved concurrency, if one is free.
func (a *Account) take() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.busy >= a.limit-a.reserved {
		return false
	}
	a.busy++
	return true
}

// give returns what take held.
func (a *Account) give() {
	a.mu.Lock()
	a.busy--
	a.mu.Unlock()
}

// Unreserved returns the unreserved concurrency and how much of it is in
// use.
func (a *Account) Unreserved() (limit, busy int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit - a.reserved, a.busy
}
