package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/surgehq/surge/internal/items"
)

// reader is a read connection with its prepared statements. One goroutine
// uses it at a time: it lives in Store.reads while idle.
type reader struct {
	conn  *sqlite3.Conn
	get   *sqlite3.Stmt
	list  *sqlite3.Stmt
	query *sqlite3.Stmt
	ping  *sqlite3.Stmt
}

const (
	getSQL = `SELECT version, rev, created_at, updated_at, attrs
		FROM items WHERE tenant = ?1 AND id = ?2`
	// listSQL reads one row past the limit to learn whether more remain;
	// size comes before attrs so that a row that will not fit is judged
	// without reading its attributes.
	listSQL = `SELECT id, version, rev, created_at, updated_at, size, attrs
		FROM items WHERE tenant = ?1 AND id > ?2 ORDER BY id LIMIT ?3`
	// querySQL reads the secondary index, items_name, in id order within
	// bounds; a limit of -1 reads to the end (the page's bytes stop it).
	querySQL = `SELECT id, version, rev, created_at, updated_at, size, attrs
		FROM items WHERE tenant = ?1 AND iname = ?2 AND iname IS NOT NULL AND id > ?3 AND id >= ?4 AND id < ?5
		ORDER BY id LIMIT ?6`
)

func (s *Store) newReader() (*reader, error) {
	conn, err := s.openConn(false)
	if err != nil {
		return nil, err
	}
	return s.readerOn(conn)
}

// readerOn makes a reader of conn, a connection of openConn(false); on
// failure conn is closed.
func (s *Store) readerOn(conn *sqlite3.Conn) (*reader, error) {
	var err error
	r := &reader{conn: conn}
	for _, p := range []struct {
		stmt **sqlite3.Stmt
		sql  string
	}{{&r.get, getSQL}, {&r.list, listSQL}, {&r.query, querySQL}, {&r.ping, "SELECT 1"}} {
		if *p.stmt, _, err = conn.Prepare(p.sql); err != nil {
			r.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	return r, nil
}

func (r *reader) close() error {
	for _, st := range []*sqlite3.Stmt{r.get, r.list, r.query, r.ping} {
		if st != nil {
			st.Close()
		}
	}
	return r.conn.Close()
}

// acquire takes an idle read connection, waiting for one while ctx
// allows, and makes ctx interrupt its queries.
func (s *Store) acquire(ctx context.Context) (*reader, error) {
	var r *reader
	select {
	case r = <-s.reads:
	default:
		select {
		case r = <-s.reads:
		case <-ctx.Done():
			return nil, ctxError(ctx.Err())
		}
	}
	if ctx.Done() != nil {
		r.conn.SetInterrupt(ctx)
	}
	return r, nil
}

// release returns a read connection to the pool.
func (s *Store) release(r *reader) {
	if r.conn.GetInterrupt() != context.Background() {
		r.conn.SetInterrupt(context.Background())
	}
	s.reads <- r
}

// Get implements items.Store. Every read is consistent: it sees every
// write committed before it began, by any connection or process.
func (s *Store) Get(ctx context.Context, key items.Key, _ items.ReadOptions) (*items.Item, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var stamp walStamp
	stamped := false // the WAL-index's stamp was read before the read
	if s.cache != nil {
		var it *items.Item
		if it, stamp, stamped = s.cache.get(key); it != nil {
			return it, nil
		}
	}
	it, err := s.get(ctx, key)
	if stamped && err == nil {
		s.cache.put(stamp, it)
	}
	return it, err
}

// get reads an item from the database.
func (s *Store) get(ctx context.Context, key items.Key) (*items.Item, error) {
	r, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.release(r)
	st := r.get
	defer st.Reset()
	if err := bindKey(st, key); err != nil {
		return nil, storeError(ctx, "get: bind", err)
	}
	if !st.Step() {
		if err := st.Err(); err != nil {
			return nil, storeError(ctx, fmt.Sprintf("get %s/%s", key.Tenant, key.ID), err)
		}
		return nil, errNotFound
	}
	return &items.Item{
		Key:       key,
		Version:   st.ColumnInt64(0),
		Rev:       st.ColumnText(1),
		CreatedAt: fromMillis(st.ColumnInt64(2)),
		UpdatedAt: fromMillis(st.ColumnInt64(3)),
		Attrs:     columnAttrs(st, 4),
	}, nil
}

var errNotFound = &items.Error{Code: items.ENOTFOUND, Message: "Item not found."}

// List implements items.Store.
func (s *Store) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	if q.Limit < 1 || q.Limit > items.MaxListLimit {
		return nil, items.Errorf(items.EINVALID, "The limit must be 1 to %d.", items.MaxListLimit)
	}
	return s.readPage(ctx, tenant, q.Limit, func(r *reader) (*sqlite3.Stmt, error) {
		return r.list, bindAll(r.list, tenant, q.After, int64(q.Limit+1))
	})
}

// Scan implements items.Querier: a listing without the item limit of a
// list page (a page of DynamoDB's Scan holds up to 1 MB).
func (s *Store) Scan(ctx context.Context, tenant string, q items.ScanQuery) (*items.Page, error) {
	if q.Limit < 0 {
		return nil, items.Errorf(items.EINVALID, "The limit must be 0 (none) or more.")
	}
	return s.scanPage(ctx, tenant, q.Limit, func(r *reader) (*sqlite3.Stmt, error) {
		return r.list, bindAll(r.list, tenant, q.After, sqlLimit(q.Limit))
	})
}

// Query implements items.Querier from the index items_name.
func (s *Store) Query(ctx context.Context, tenant string, q items.IndexQuery) (*items.Page, error) {
	if q.Limit < 0 {
		return nil, items.Errorf(items.EINVALID, "The limit must be 0 (none) or more.")
	}
	to := q.To
	if to == "" {
		to = "\x7f" // above every id, which are ASCII
	}
	return s.scanPage(ctx, tenant, q.Limit, func(r *reader) (*sqlite3.Stmt, error) {
		return r.query, bindAll(r.query, tenant, q.Value, q.After, q.From, to, sqlLimit(q.Limit))
	})
}

// sqlLimit is the LIMIT of a scan page of at most limit items (0: none).
func sqlLimit(limit int) int64 {
	if limit == 0 {
		return -1
	}
	return int64(limit)
}

// scanPage reads a page as DynamoDB pages a Scan (items.Querier): rows
// until the statement's LIMIT or until the page holds MaxPageBytes, the
// row that reaches it included; Next is the last id when it stopped at
// either bound.
func (s *Store) scanPage(ctx context.Context, tenant string, limit int, bind func(*reader) (*sqlite3.Stmt, error)) (*items.Page, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	r, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.release(r)
	st, err := bind(r)
	defer st.Reset()
	if err != nil {
		return nil, storeError(ctx, "scan: bind", err)
	}
	page := &items.Page{Items: make([]*items.Item, 0, 64)}
	bytes := 0
	for bytes < items.MaxPageBytes && st.Step() {
		bytes += st.ColumnInt(5)
		page.Items = append(page.Items, &items.Item{
			Key:       items.Key{Tenant: tenant, ID: st.ColumnText(0)},
			Version:   st.ColumnInt64(1),
			Rev:       st.ColumnText(2),
			CreatedAt: fromMillis(st.ColumnInt64(3)),
			UpdatedAt: fromMillis(st.ColumnInt64(4)),
			Attrs:     columnAttrs(st, 6),
		})
	}
	if err := st.Err(); err != nil {
		return nil, storeError(ctx, fmt.Sprintf("scan %s", tenant), err)
	}
	if n := len(page.Items); n > 0 && ((limit > 0 && n == limit) || bytes >= items.MaxPageBytes) {
		page.Next = page.Items[n-1].ID
	}
	return page, nil
}

// readPage reads a page of at most limit items (0: no limit) from the
// statement bind prepares on a read connection, which selects id,
// version, rev, created_at, updated_at, size and attrs in id order.
func (s *Store) readPage(ctx context.Context, tenant string, limit int, bind func(*reader) (*sqlite3.Stmt, error)) (*items.Page, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	r, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.release(r)
	st, err := bind(r)
	defer st.Reset()
	if err != nil {
		return nil, storeError(ctx, "list: bind", err)
	}
	capHint := 64
	if limit > 0 {
		capHint = min(limit, 64)
	}
	page := &items.Page{Items: make([]*items.Item, 0, capHint)}
	bytes := 0
	for st.Step() {
		size := st.ColumnInt(5)
		if (limit > 0 && len(page.Items) == limit) || (len(page.Items) > 0 && bytes+size > items.MaxPageBytes) {
			// A row remains that this page does not hold.
			page.Next = page.Items[len(page.Items)-1].ID
			break
		}
		bytes += size
		page.Items = append(page.Items, &items.Item{
			Key:       items.Key{Tenant: tenant, ID: st.ColumnText(0)},
			Version:   st.ColumnInt64(1),
			Rev:       st.ColumnText(2),
			CreatedAt: fromMillis(st.ColumnInt64(3)),
			UpdatedAt: fromMillis(st.ColumnInt64(4)),
			Attrs:     columnAttrs(st, 6),
		})
	}
	if err := st.Err(); err != nil {
		return nil, storeError(ctx, fmt.Sprintf("list %s", tenant), err)
	}
	return page, nil
}

// bindKey binds a key to parameters 1 and 2.
func bindKey(st *sqlite3.Stmt, key items.Key) error {
	if err := st.BindText(1, key.Tenant); err != nil {
		return err
	}
	return st.BindText(2, key.ID)
}

// bindAll binds args to parameters 1, 2, ... by their Go type.
func bindAll(st *sqlite3.Stmt, args ...any) error {
	for i, a := range args {
		var err error
		switch v := a.(type) {
		case string:
			err = st.BindText(i+1, v)
		case int64:
			err = st.BindInt64(i+1, v)
		case items.Attributes:
			if len(v) == 0 {
				v = items.Attributes("{}")
			}
			err = st.BindRawText(i+1, v)
		default:
			err = fmt.Errorf("bind: unexpected %T", a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// columnAttrs copies a column of attributes out of SQLite's memory.
func columnAttrs(st *sqlite3.Stmt, col int) items.Attributes {
	raw := st.ColumnRawText(col)
	a := make(items.Attributes, len(raw))
	copy(a, raw)
	return a
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
