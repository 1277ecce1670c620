package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/surgehq/surge/internal/items"
)

type opKind uint8

const (
	opCreate opKind = iota
	opReplace
	opDelete
)

// request is one write waiting for the writer goroutine. The writer fills
// in the result and closes done; the waiter reads the result only after
// done is closed.
type request struct {
	op    opKind
	key   items.Key
	attrs items.Attributes
	cond  items.Condition
	idem  *items.Idempotency
	// usage, when set, is told of the item the write replaces or deletes
	// (or that makes a create fail), read in the same transaction.
	usage *items.Usage
	// abandoned is the waiter's ctx.Done(): a request whose waiter has
	// gone before the writer reaches it is skipped.
	abandoned <-chan struct{}
	done      chan struct{}

	created *items.Created
	item    *items.Item
	err     error
}

// writer is the connection the writer goroutine writes through, with its
// prepared statements. Only that goroutine uses it once the Store is open.
type writer struct {
	conn *sqlite3.Conn
	cfg  *config

	begin, commit, rollback           *sqlite3.Stmt
	savepoint, release, rollbackTo    *sqlite3.Stmt
	selectItem, insertItem            *sqlite3.Stmt
	updateItem, deleteItem            *sqlite3.Stmt
	selectIdem, upsertIdem, purgeIdem *sqlite3.Stmt
	selectOld                         *sqlite3.Stmt

	lastPurge time.Time
}

func newWriter(conn *sqlite3.Conn, cfg *config) (*writer, error) {
	w := &writer{conn: conn, cfg: cfg}
	for _, p := range []struct {
		stmt **sqlite3.Stmt
		sql  string
	}{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.savepoint, "SAVEPOINT op"},
		{&w.release, "RELEASE op"},
		{&w.rollbackTo, "ROLLBACK TO op"},
		{&w.selectItem, `SELECT version, rev, created_at FROM items WHERE tenant = ?1 AND id = ?2`},
		{&w.selectOld, `SELECT version, rev, created_at, updated_at, attrs FROM items WHERE tenant = ?1 AND id = ?2`},
		// Creating an existing id changes nothing, which the writer
		// reads as a conflict: the database, not Go, decides.
		{&w.insertItem, `INSERT INTO items (tenant, id, version, rev, created_at, updated_at, size, attrs)
			VALUES (?1, ?2, 1, ?3, ?4, ?4, ?5, ?6) ON CONFLICT (tenant, id) DO NOTHING`},
		// Optimistic concurrency in SQL: the update applies only to the
		// rev it was computed from.
		{&w.updateItem, `UPDATE items SET version = ?3, rev = ?4, updated_at = ?5, size = ?6, attrs = ?7
			WHERE tenant = ?1 AND id = ?2 AND rev = ?8`},
		{&w.deleteItem, `DELETE FROM items WHERE tenant = ?1 AND id = ?2 AND (?3 = '' OR rev = ?3)`},
		{&w.selectIdem, `SELECT hash, expires_at, id, version, rev, created_at, updated_at, attrs
			FROM idempotency WHERE tenant = ?1 AND key = ?2`},
		{&w.upsertIdem, `INSERT OR REPLACE INTO idempotency (tenant, key, hash, expires_at, id, version, rev, created_at, updated_at, attrs)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`},
		{&w.purgeIdem, `DELETE FROM idempotency WHERE (tenant, key) IN
			(SELECT tenant, key FROM idempotency WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`},
	} {
		var err error
		if *p.stmt, _, err = conn.Prepare(p.sql); err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	return w, nil
}

func (w *writer) close() error {
	for _, st := range []*sqlite3.Stmt{w.begin, w.commit, w.rollback, w.savepoint, w.release, w.rollbackTo,
		w.selectItem, w.insertItem, w.updateItem, w.deleteItem, w.selectIdem, w.upsertIdem, w.purgeIdem, w.selectOld} {
		if st != nil {
			st.Close()
		}
	}
	return w.conn.Close()
}

// submit hands a request to the writer and waits for its answer. A waiter
// whose ctx ends stops waiting; its request may still be carried out (and
// is then durable), as with any write whose answer was lost.
func (s *Store) submit(ctx context.Context, r *request) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	r.abandoned = ctx.Done()
	r.done = make(chan struct{})
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return ctxError(ctx.Err())
	}
	select {
	case <-r.done:
		if r.err == errAbandoned {
			// The writer saw ctx end before this select did.
			return ctxError(ctx.Err())
		}
		return r.err
	case <-ctx.Done():
		return ctxError(ctx.Err())
	}
}

// Create implements items.Store.
func (s *Store) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	r := &request{op: opCreate, key: key, attrs: attrs, idem: idem, usage: wantsOld(ctx)}
	if err := s.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.created, nil
}

// Replace implements items.Store.
func (s *Store) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	r := &request{op: opReplace, key: key, attrs: attrs, cond: cond, usage: wantsOld(ctx)}
	if err := s.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.item, nil
}

// Delete implements items.Store.
func (s *Store) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	return s.submit(ctx, &request{op: opDelete, key: key, cond: cond, usage: wantsOld(ctx)})
}

// wantsOld returns the Usage of ctx when it asks for the items writes
// replace.
func wantsOld(ctx context.Context) *items.Usage {
	if u := items.UsageFrom(ctx); u.WantsOld() {
		return u
	}
	return nil
}

// reportOld reads the item at key, if any, and tells usage of it, its
// attributes borrowed from SQLite's memory for the call.
func (w *writer) reportOld(usage *items.Usage, key items.Key) error {
	if usage == nil {
		return nil
	}
	st := w.selectOld
	defer st.Reset()
	if err := bindKey(st, key); err != nil {
		return err
	}
	if !st.Step() {
		return st.Err()
	}
	usage.Old(&items.Item{Key: key, Version: st.ColumnInt64(0), Rev: st.ColumnText(1),
		CreatedAt: fromMillis(st.ColumnInt64(2)), UpdatedAt: fromMillis(st.ColumnInt64(3)),
		Attrs: items.Attributes(st.ColumnRawText(4))})
	return nil
}

// writeLoop is the writer goroutine: it takes the waiting requests in
// batches and runs each batch as one transaction. It returns when reqs is
// closed and drained (by Close).
func (s *Store) writeLoop() {
	defer close(s.done)
	batch := make([]*request, 0, s.cfg.maxBatch)
	for {
		r, ok := <-s.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		size := len(r.attrs)
	fill:
		for len(batch) < s.cfg.maxBatch && size < maxBatchBytes {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
				size += len(r.attrs)
			default:
				break fill
			}
		}
		s.runBatch(batch)
		clear(batch) // drop references to answered requests
	}
}

// runBatch runs a batch of requests in one transaction and answers them.
func (s *Store) runBatch(batch []*request) {
	if s.w == nil { // WithWriterOnFirstWrite
		if err := s.openWriter(); err != nil {
			err = s.writeError("open the writer", err)
			for _, r := range batch {
				r.created, r.item, r.err = nil, nil, err
				close(r.done)
			}
			return
		}
	}
	w := s.w
	start := time.Now()
	err := w.exec(w.begin)
	if err == nil {
		err = w.applyAll(s, batch)
		if err == nil {
			err = w.exec(w.commit)
		}
		if err != nil && !w.conn.GetAutocommit() {
			// A failed commit or a broken transaction: undo it all.
			w.exec(w.rollback)
		}
	}
	if s.cfg.observer != nil {
		s.cfg.observer.OnBatch(len(batch), time.Since(start))
	}
	if err != nil {
		// Nothing of the batch is durable: every waiter learns it.
		err = s.writeError("write batch", err)
		for _, r := range batch {
			r.created, r.item, r.err = nil, nil, err
		}
	}
	for _, r := range batch {
		close(r.done)
	}
	if err == nil {
		s.maybePurge()
	}
}

// applyAll applies each request of a batch in its own savepoint. A
// request's own failure (an *items.Error, or an SQLite error the savepoint
// contains) is its answer; an error that breaks the transaction is
// returned, and fails the batch.
func (w *writer) applyAll(s *Store, batch []*request) error {
	for _, r := range batch {
		select {
		case <-r.abandoned:
			r.err = errAbandoned
			continue
		default:
		}
		if err := w.exec(w.savepoint); err != nil {
			return err
		}
		err := w.apply(s, r)
		if err == nil {
			if err := w.exec(w.release); err != nil {
				return err
			}
			continue
		}
		if w.conn.GetAutocommit() {
			// SQLite rolled the whole transaction back (as it does on
			// some I/O and memory errors).
			return err
		}
		if rerr := w.exec(w.rollbackTo); rerr != nil {
			return rerr
		}
		if rerr := w.exec(w.release); rerr != nil {
			return rerr
		}
		r.created, r.item = nil, nil
		r.err = s.writeError(fmt.Sprintf("write %s/%s", r.key.Tenant, r.key.ID), err)
	}
	return nil
}

// errAbandoned answers a request whose waiter left before it ran; nobody
// reads it.
var errAbandoned = errors.New("write abandoned by its caller")

func (w *writer) apply(s *Store, r *request) error {
	switch r.op {
	case opCreate:
		c, err := w.create(s.now(), r.key, r.attrs, r.idem)
		r.created = c
		if items.ErrorCode(err) == items.ECONFLICT {
			if rerr := w.reportOld(r.usage, r.key); rerr != nil {
				return rerr
			}
		}
		return err
	case opReplace:
		if err := w.reportOld(r.usage, r.key); err != nil {
			return err
		}
		it, err := w.replace(s.now(), r.key, r.attrs, r.cond)
		r.item = it
		return err
	case opDelete:
		if err := w.reportOld(r.usage, r.key); err != nil {
			return err
		}
		return w.delete(r.key, r.cond)
	}
	return fmt.Errorf("unknown write operation %d", r.op)
}

func (w *writer) create(now time.Time, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	if idem != nil {
		rec, err := w.lookupIdem(key.Tenant, idem.Key, now)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			if rec.hash != idem.Hash {
				return nil, items.Errorf(items.ECONFLICT, "The Idempotency-Key was used with another request body.")
			}
			return &items.Created{Item: rec.item, Replayed: true}, nil
		}
	}
	it := &items.Item{Key: key, Version: 1, CreatedAt: now, UpdatedAt: now, Rev: items.NewRev(), Attrs: cloneAttrs(attrs)}
	size := it.Size()
	if size > items.MaxItemSize {
		return nil, errTooLarge
	}
	st := w.insertItem
	if err := bindAll(st, key.Tenant, key.ID, it.Rev, millis(now), int64(size), it.Attrs); err != nil {
		return nil, err
	}
	if err := st.Exec(); err != nil {
		return nil, err
	}
	if w.conn.Changes() == 0 {
		return nil, items.Errorf(items.ECONFLICT, "An item with id %q exists.", key.ID)
	}
	if idem != nil {
		st := w.upsertIdem
		if err := bindAll(st, key.Tenant, idem.Key, idem.Hash, millis(now.Add(items.IdempotencyTTL)),
			key.ID, int64(1), it.Rev, millis(now), millis(now), it.Attrs); err != nil {
			return nil, err
		}
		if err := st.Exec(); err != nil {
			return nil, err
		}
	}
	return &items.Created{Item: it}, nil
}

var errTooLarge = items.Errorf(items.ETOOLARGE, "The item is over %d bytes.", items.MaxItemSize)

type idemRecord struct {
	hash string
	item *items.Item
}

// lookupIdem returns the live idempotency record of (tenant, key), or nil
// when there is none or it has expired.
func (w *writer) lookupIdem(tenant, key string, now time.Time) (*idemRecord, error) {
	st := w.selectIdem
	defer st.Reset()
	if err := bindAll(st, tenant, key); err != nil {
		return nil, err
	}
	if !st.Step() {
		return nil, st.Err()
	}
	if st.ColumnInt64(1) <= millis(now) {
		return nil, nil // expired: forgotten, and overwritten if this create succeeds
	}
	return &idemRecord{
		hash: st.ColumnText(0),
		item: &items.Item{
			Key:       items.Key{Tenant: tenant, ID: st.ColumnText(2)},
			Version:   st.ColumnInt64(3),
			Rev:       st.ColumnText(4),
			CreatedAt: fromMillis(st.ColumnInt64(5)),
			UpdatedAt: fromMillis(st.ColumnInt64(6)),
			Attrs:     columnAttrs(st, 7),
		},
	}, nil
}

func (w *writer) replace(now time.Time, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	st := w.selectItem
	if err := bindKey(st, key); err != nil {
		return nil, err
	}
	if !st.Step() {
		err := st.Err()
		st.Reset()
		if err != nil {
			return nil, err
		}
		return nil, errNotFound
	}
	version, rev, created := st.ColumnInt64(0), st.ColumnText(1), fromMillis(st.ColumnInt64(2))
	if err := st.Reset(); err != nil {
		return nil, err
	}
	if cond.IfRev != "" && cond.IfRev != rev {
		return nil, errPrecondition
	}
	it := &items.Item{Key: key, Version: version + 1, CreatedAt: created, UpdatedAt: now, Rev: items.NewRev(), Attrs: cloneAttrs(attrs)}
	size := it.Size()
	if size > items.MaxItemSize {
		return nil, errTooLarge
	}
	up := w.updateItem
	if err := bindAll(up, key.Tenant, key.ID, it.Version, it.Rev, millis(now), int64(size), it.Attrs, rev); err != nil {
		return nil, err
	}
	if err := up.Exec(); err != nil {
		return nil, err
	}
	if w.conn.Changes() != 1 {
		// Another writer changed the row since it was read; under the
		// write lock this cannot happen, but the database has the last
		// word.
		return nil, errPrecondition
	}
	return it, nil
}

var errPrecondition = &items.Error{Code: items.EPRECONDITION, Message: "The item has changed (If-Match does not match)."}

func (w *writer) delete(key items.Key, cond items.Condition) error {
	st := w.deleteItem
	if err := bindAll(st, key.Tenant, key.ID, cond.IfRev); err != nil {
		return err
	}
	if err := st.Exec(); err != nil {
		return err
	}
	if w.conn.Changes() == 1 {
		return nil
	}
	// Nothing deleted: tell a missing item from a changed one.
	sel := w.selectItem
	defer sel.Reset()
	if err := bindKey(sel, key); err != nil {
		return err
	}
	if sel.Step() {
		return errPrecondition
	}
	if err := sel.Err(); err != nil {
		return err
	}
	return errNotFound
}

// maybePurge deletes expired idempotency records, at most purgeBatch of
// them, once per purgeEvery of the store's clock; a pass that found a full
// batch runs again after the next write.
func (s *Store) maybePurge() {
	w := s.w
	now := s.now()
	if now.Sub(w.lastPurge) < purgeEvery && !w.lastPurge.After(now) {
		return
	}
	n, err := w.purge(now)
	if err != nil {
		// Purging is housekeeping: a failure (a busy database) is retried
		// on a later pass and costs nothing but space.
		w.lastPurge = now.Add(-purgeEvery / 2)
		return
	}
	w.lastPurge = now
	if n == purgeBatch {
		w.lastPurge = time.Time{}
	}
}

func (w *writer) purge(now time.Time) (int, error) {
	if err := w.exec(w.begin); err != nil {
		return 0, err
	}
	st := w.purgeIdem
	err := bindAll(st, millis(now), int64(purgeBatch))
	if err == nil {
		err = st.Exec()
	}
	n := int(w.conn.Changes())
	if err == nil {
		err = w.exec(w.commit)
	}
	if err != nil {
		if !w.conn.GetAutocommit() {
			w.exec(w.rollback)
		}
		return 0, err
	}
	return n, nil
}

// exec runs a statement that returns no rows.
func (w *writer) exec(st *sqlite3.Stmt) error { return st.Exec() }

func cloneAttrs(a items.Attributes) items.Attributes {
	if len(a) == 0 {
		return items.Attributes("{}")
	}
	c := make(items.Attributes, len(a))
	copy(c, a)
	return c
}
