// Package sqlite is an items.Store on an embedded SQLite database file,
// through github.com/ncruces/go-sqlite3 (SQLite translated to pure Go, so
// CGO_ENABLED=0 builds work everywhere; bench/sqlite-driver says why this
// driver).
//
// # Durability
//
// The database runs in WAL mode. A write is acknowledged only after the
// transaction that holds it has committed. With the default
// synchronous=NORMAL a commit writes its WAL frames to the operating
// system before it returns, so an acknowledged write survives the process
// being killed (kill -9, a crash): the kernel holds the pages. It does not
// fsync on every commit, so a power loss or kernel crash may lose the last
// commits (never corrupting the file). WithSync("full") fsyncs the WAL on
// every commit, so acknowledged writes survive power loss too; group
// commit spreads that fsync over every write of a batch.
//
// # Group commit
//
// One writer goroutine per Store takes every write request that is
// waiting (up to WithMaxBatch requests and maxBatchBytes of attributes),
// runs them in one transaction, each in its own savepoint so that one
// request's failure (a condition, a conflict, a size) does not undo the
// others, commits once and then answers each waiter. Concurrent writers
// so share one commit instead of queueing for one each.
//
// # Several processes
//
// Several processes (and several Stores in one process) may open the same
// file: writes take SQLite's write lock with BEGIN IMMEDIATE and wait for
// it up to the busy timeout, reads run on their own connections and see
// every committed write, and nothing is cached in memory between
// requests but what a commit anywhere retires (the item cache, kept
// against the WAL-index's header that every commit of every process
// changes), so nothing goes stale when another process writes.
package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
)

// Defaults of the options.
const (
	// DefaultMaxBatch is how many write requests one transaction holds at
	// most.
	DefaultMaxBatch = 256
	// DefaultBusyTimeout is how long a write waits for another
	// connection's (or process's) write lock before it fails with
	// EUNAVAILABLE, and a read for a lock it needs.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultSync is the synchronous setting: "normal" survives a process
	// crash, "full" survives power loss too.
	DefaultSync = "normal"
)

// maxBatchBytes bounds the attribute bytes of one batch, so that a burst
// of large items does not make one huge transaction; a batch always takes
// at least one request.
const maxBatchBytes = 16 << 20

// autocheckpointPages is the WAL size, in pages, at which the committing
// connection checkpoints (PRAGMA wal_autocheckpoint). SQLite's default,
// 1,000, made each checkpoint (and its fsync) long enough to stall every
// writer waiting on the group commit: with 32 writers, POST p99 was
// 13-15 ms. At 250 the checkpoints are shorter and p99 is 8-9.5 ms at the
// same rate (bench/serve-wrk.sh). Larger (10,000) was far worse: 66-70 ms.
const autocheckpointPages = 250

// purgeEvery is how often, by the store's clock, the writer deletes
// expired idempotency records; purgeBatch bounds one pass's work.
const (
	purgeEvery = time.Minute
	purgeBatch = 256
)

// Observer is told about the writer's work, so that a caller can export
// metrics without this package depending on a metrics library. Its
// methods are called from the writer goroutine and must return quickly.
type Observer interface {
	// OnBatch is called after each write transaction with the number of
	// write requests it held and how long it took, from BEGIN to the end
	// of COMMIT (or of the rollback when it failed).
	OnBatch(size int, dur time.Duration)
}

// Option configures a Store.
type Option func(*config) error

type config struct {
	clock       items.Clock
	sync        string
	maxBatch    int
	readConns   int
	busyTimeout time.Duration
	observer    Observer
	cacheBytes  int64
	lazyWriter  bool
}

// WithClock sets the clock that gives items their timestamps and expires
// idempotency keys (default items.Now).
func WithClock(c items.Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("nil clock")
		}
		cfg.clock = c
		return nil
	}
}

// WithSync sets SQLite's synchronous mode: "normal" (the default; an
// acknowledged write survives a crash of the process) or "full" (it
// survives power loss too, at the cost of an fsync per commit).
func WithSync(mode string) Option {
	return func(cfg *config) error {
		switch mode {
		case "normal", "full":
			cfg.sync = mode
			return nil
		}
		return fmt.Errorf("sync mode %q: want normal or full", mode)
	}
}

// WithMaxBatch sets how many write requests one transaction holds at most
// (default DefaultMaxBatch); 1 turns group commit off, a transaction per
// write.
func WithMaxBatch(n int) Option {
	return func(cfg *config) error {
		if n < 1 {
			return fmt.Errorf("max batch %d: want at least 1", n)
		}
		cfg.maxBatch = n
		return nil
	}
}

// WithReadConns sets how many connections serve reads at once (default
// GOMAXPROCS, from 2 to 8: each connection holds a few MB of memory). WAL
// lets them read while the writer writes.
func WithReadConns(n int) Option {
	return func(cfg *config) error {
		if n < 1 {
			return fmt.Errorf("read connections %d: want at least 1", n)
		}
		cfg.readConns = n
		return nil
	}
}

// WithBusyTimeout sets how long an operation waits for a lock held by
// another connection or process before it fails with EUNAVAILABLE
// (default DefaultBusyTimeout).
func WithBusyTimeout(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 0 {
			return fmt.Errorf("busy timeout %v: want 0 or more", d)
		}
		cfg.busyTimeout = d
		return nil
	}
}

// DefaultItemCacheBytes is the default bound of the item cache.
const DefaultItemCacheBytes = 32 << 20

// WithItemCache bounds the memory of the items Get keeps while nothing
// commits (default DefaultItemCacheBytes; 0 turns the cache off). See
// itemCache: a kept item is answered only while the WAL-index shows no
// commit since it was read, by any process.
func WithItemCache(bytes int64) Option {
	return func(cfg *config) error {
		if bytes < 0 {
			return fmt.Errorf("item cache %d bytes: want 0 or more", bytes)
		}
		cfg.cacheBytes = bytes
		return nil
	}
}

// WithWriterOnFirstWrite defers the writer's connection to the first
// write, where the file already holds the current schema in WAL mode: a
// store that may only read (a local function instance serving GETs) then
// opens one connection, not two, and takes no write lock to check the
// schema. A file that needs its schema made or migrated is opened as
// without the option. A writer that cannot be opened then fails the
// writes that need it, not the opening.
func WithWriterOnFirstWrite() Option {
	return func(cfg *config) error {
		cfg.lazyWriter = true
		return nil
	}
}

// WithObserver sets an Observer of the writer's batches.
func WithObserver(o Observer) Option {
	return func(cfg *config) error {
		cfg.observer = o
		return nil
	}
}

// Store is an items.Store in one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	path  string
	cfg   config
	reads chan *reader // idle read connections
	all   []*reader    // every read connection, to close them
	reqs  chan *request
	done  chan struct{} // closed when the writer goroutine has returned
	w     *writer
	cache *itemCache // nil when off

	// mu guards closed; every operation holds it shared while it runs, so
	// that Close waits for them and the connections are never used after
	// it.
	mu     sync.RWMutex
	closed bool
}

var _ items.Store = (*Store)(nil)

// Open opens the database at path, creating the file and its directory if
// they are missing and bringing the schema up to date.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{
		clock:       items.Now,
		sync:        DefaultSync,
		maxBatch:    DefaultMaxBatch,
		readConns:   min(max(2, runtime.GOMAXPROCS(0)), 8),
		busyTimeout: DefaultBusyTimeout,
		cacheBytes:  DefaultItemCacheBytes,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("open %q: a database file path is required", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	s := &Store{
		path:  path,
		cfg:   cfg,
		reads: make(chan *reader, cfg.readConns),
		reqs:  make(chan *request, 4*cfg.maxBatch),
		done:  make(chan struct{}),
	}
	var first *sqlite3.Conn // a reader's, when the writer can wait
	if cfg.lazyWriter {
		conn, err := s.openConn(false)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, openError(path, err))
		}
		if ok, err := schemaCurrent(conn); err == nil && ok {
			first = conn
		} else {
			conn.Close()
		}
	}
	if first == nil {
		if err := s.openWriter(); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	for i := 0; i < cfg.readConns; i++ {
		var r *reader
		var err error
		if i == 0 && first != nil {
			r, err = s.readerOn(first)
		} else {
			r, err = s.newReader()
		}
		if err != nil {
			if s.w != nil {
				s.w.close()
			}
			s.closeReaders()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		s.all = append(s.all, r)
		s.reads <- r
	}
	// The WAL-index exists once a connection has read the database in
	// WAL mode (migrate, or schemaCurrent, did).
	s.cache = newItemCache(openWALIndex(path), cfg.cacheBytes)
	go s.writeLoop()
	return s, nil
}

// openWriter opens the writer's connection, brings the schema to this
// build's (making it in a new file) and prepares the writer. It runs in
// Open, or with WithWriterOnFirstWrite in the writer goroutine, before
// its first batch.
func (s *Store) openWriter() error {
	conn, err := s.openConn(true)
	if err != nil {
		return openError(s.path, err)
	}
	if err := retryBusy(s.cfg.busyTimeout, func() error { return migrate(conn) }); err != nil {
		conn.Close()
		return openError(s.path, err)
	}
	w, err := newWriter(conn, &s.cfg)
	if err != nil {
		conn.Close()
		return err
	}
	s.w = w
	return nil
}

// openConn opens one connection with the store's settings. The writer's
// connection also switches the file to WAL mode, which persists in it.
func (s *Store) openConn(writer bool) (*sqlite3.Conn, error) {
	conn, err := sqlite3.OpenFlags(s.path, sqlite3.OPEN_READWRITE|sqlite3.OPEN_CREATE)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	// The busy timeout comes first, so that the pragmas below wait for a
	// lock another process holds instead of failing.
	if err := conn.BusyTimeout(s.cfg.busyTimeout); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set busy timeout: %w", err)
	}
	if writer {
		if err := retryBusy(s.cfg.busyTimeout, func() error { return setWAL(conn) }); err != nil {
			conn.Close()
			return nil, err
		}
	}
	pragmas := "PRAGMA synchronous=" + s.cfg.sync + ";" +
		// Keep the WAL file from staying large after a burst of writes.
		"PRAGMA journal_size_limit=67108864;"
	if writer {
		pragmas += "PRAGMA wal_autocheckpoint=" + strconv.Itoa(autocheckpointPages) + ";"
	} else {
		pragmas += "PRAGMA query_only=1;"
	}
	if err := conn.Exec(pragmas); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set pragmas: %w", err)
	}
	return conn, nil
}

// setWAL switches the database to WAL mode. Two processes opening a new
// file at once may both try; the loser finds it done.
func setWAL(conn *sqlite3.Conn) error {
	stmt, _, err := conn.Prepare("PRAGMA journal_mode=WAL")
	if err != nil {
		return fmt.Errorf("set WAL mode: %w", err)
	}
	defer stmt.Close()
	mode := ""
	if stmt.Step() {
		mode = stmt.ColumnText(0)
	}
	if err := stmt.Err(); err != nil {
		return fmt.Errorf("set WAL mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("set WAL mode: the database stays in %q mode", mode)
	}
	return nil
}

// retryBusy runs f until it does not fail with SQLITE_BUSY, for up to
// timeout. Changing the journal mode, and a lock upgrade that could
// deadlock, fail at once with SQLITE_BUSY instead of calling the busy
// handler, so the opening of a new file by several processes at once
// needs this.
func retryBusy(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || !errors.Is(err, sqlite3.BUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Duration(1+rand.IntN(10)) * time.Millisecond)
	}
}

// now returns the time as items carry it.
func (s *Store) now() time.Time {
	return s.cfg.clock().UTC().Truncate(time.Millisecond)
}

// enter starts an operation; it fails once the store is closed. The
// caller calls s.mu.RUnlock when the operation is over.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	return nil
}

var errClosed = &items.Error{Code: items.EUNAVAILABLE, Message: "The store is closed."}

// Ping implements items.Store: it runs a query on a read connection.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	r, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release(r)
	if err := r.ping.Exec(); err != nil {
		return storeError(ctx, "ping", err)
	}
	return nil
}

// Close implements items.Store. It waits for operations in progress,
// lets the writer finish what it was given, and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	// No operation is in progress and none can start: nothing sends on
	// reqs any more.
	close(s.reqs)
	<-s.done
	var err error
	if s.w != nil {
		err = s.w.close()
	}
	if rerr := s.closeReaders(); err == nil {
		err = rerr
	}
	s.cache.close()
	if err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) closeReaders() error {
	var first error
	for _, r := range s.all {
		if err := r.close(); err != nil && first == nil {
			first = err
		}
	}
	s.all = nil
	return first
}

// storeError turns an SQLite error into what the Store interface
// returns: a busy database is EUNAVAILABLE (retry in a second), a done
// context is the context's error, and anything else is internal, wrapped
// with what failed so that the log says it; the client sees only
// "Internal error.", never SQLite's text.
func storeError(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	var ie *items.Error
	if errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, sqlite3.BUSY) || errors.Is(err, sqlite3.LOCKED) {
		return fmt.Errorf("%s: %w: %w", what, errBusy, err)
	}
	if ctx != nil && ctx.Err() != nil && errors.Is(err, sqlite3.INTERRUPT) {
		return ctxError(ctx.Err())
	}
	return fmt.Errorf("%s: %w", what, err)
}

var errBusy = &items.Error{Code: items.EUNAVAILABLE, Message: "The database is busy; retry shortly.", RetryAfter: 1}

// ctxError is the error of an operation whose context ended: an
// EUNAVAILABLE *items.Error (the store did not answer in time) that also
// matches context.Canceled or context.DeadlineExceeded with errors.Is.
func ctxError(err error) error {
	return fmt.Errorf("%w: %w", &items.Error{Code: items.EUNAVAILABLE, Message: "The store did not answer in time.", RetryAfter: 1}, err)
}

// Backend is the store.Backend of SQLite stores, opened with opts.
func Backend(opts ...Option) store.Backend {
	return store.Backend{Scheme: store.SchemeSQLite, Form: "sqlite:PATH",
		Open: func(_ context.Context, u *store.URL) (items.Store, error) {
			s, err := Open(u.Path, opts...)
			if err != nil {
				return nil, fmt.Errorf("open SQLite store %s: %w", u.Path, err)
			}
			return s, nil
		}}
}
