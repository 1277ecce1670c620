package items

import (
	"bytes"
	"context"

	"github.com/go-json-experiment/json/jsontext"
)

// The store's secondary index: items are indexed by the client attribute
// IndexAttr when it holds a string (an item without it, or with another
// type there, is not in the index, as DynamoDB's sparse indexes go), and
// ordered by id within a value. On DynamoDB it is the global secondary
// index IndexName.
const (
	IndexAttr = "name"
	IndexName = "name-index"
)

// Querier is what a Store may serve besides keys and listings: DynamoDB's
// Scan of a tenant's items, and a Query of the secondary index. SQLite
// serves the query from an index, DynamoDB from its global secondary
// index, the memory store by scanning. Layers that wrap a store pass it on
// when the store they wrap has it. Use Scan and QueryIndex, which fall
// back to listings for a store without it.
//
// A filter is the caller's: DynamoDB reads a page before it filters it,
// and charges what it read, so a store returns the page as read.
type Querier interface {
	// Scan reads the tenant's items in ascending id order after q.After,
	// as DynamoDB pages a Scan: at most q.Limit of them (0: no limit),
	// and no more once the page holds MaxPageBytes of item data (the item
	// that reaches it included). Page.Next is DynamoDB's
	// LastEvaluatedKey: the last item's id when the page stopped at the
	// limit or the byte bound, so that more items may remain; empty when
	// the items ran out. A scan is strongly consistent with q.Consistent
	// (backends that are always consistent ignore it). DynamoDB counts
	// the bytes its own way (ItemSize); SQLite and memory count the
	// items' JSON.
	// EINVALID if q.Limit is negative.
	Scan(ctx context.Context, tenant string, q ScanQuery) (*Page, error)

	// Query reads the tenant's items whose IndexAttr equals q.Value, in
	// ascending id order within q's id bounds, after q.After, paged as
	// Scan is. An index is eventually consistent.
	// EINVALID if q.Limit is negative.
	Query(ctx context.Context, tenant string, q IndexQuery) (*Page, error)
}

// ScanQuery selects a page of a scan.
type ScanQuery struct {
	// After is the id to start after; "" starts at the beginning.
	After string
	// Limit is the most items to read; 0 reads up to MaxPageBytes.
	Limit int
	// Consistent asks for a strongly consistent scan.
	Consistent bool
}

// IndexQuery selects a page of a query of the secondary index.
type IndexQuery struct {
	// Value is the value of IndexAttr the items have.
	Value string
	// From and To bound the ids read: From <= id < To; "" leaves a side
	// open. Ids are ASCII, so every sort key condition of DynamoDB on a
	// string id is such a range (begins_with(id, p) is [p, p+"\x7f")).
	From, To string
	// After is the id to start after; "" starts at From.
	After string
	// Limit is the most items to read; 0 reads up to MaxPageBytes.
	Limit int
}

// InRange reports whether id is within q's bounds.
func (q IndexQuery) InRange(id string) bool {
	return (q.From == "" || id >= q.From) && (q.To == "" || id < q.To) && id > q.After
}

// AsQuerier returns s's Querier, if it has one.
func AsQuerier(s Store) (Querier, bool) {
	q, ok := s.(Querier)
	return q, ok
}

// Scan scans s as Querier.Scan says; a store without a Querier is read
// through List, MaxListLimit items a call.
func Scan(ctx context.Context, s Store, tenant string, q ScanQuery) (*Page, error) {
	if q.Limit < 0 {
		return nil, Errorf(EINVALID, "The limit must be 0 (none) or more.")
	}
	if qs, ok := AsQuerier(s); ok {
		return qs.Scan(ctx, tenant, q)
	}
	return scanByList(ctx, s, tenant, q.After, q.Limit, nil)
}

// QueryIndex queries s's index as Querier.Query says; a store without a
// Querier is scanned whole, through List.
func QueryIndex(ctx context.Context, s Store, tenant string, q IndexQuery) (*Page, error) {
	if q.Limit < 0 {
		return nil, Errorf(EINVALID, "The limit must be 0 (none) or more.")
	}
	if qs, ok := AsQuerier(s); ok {
		return qs.Query(ctx, tenant, q)
	}
	after := q.After
	if q.From != "" && q.From > after {
		after = beforeID(q.From)
	}
	return scanByList(ctx, s, tenant, after, q.Limit, func(it *Item) (keep, stop bool) {
		if q.To != "" && it.ID >= q.To {
			return false, true
		}
		return q.InRange(it.ID) && IndexValueOf(it.Attrs) == q.Value && HasIndexValue(it.Attrs), false
	})
}

// beforeID returns a string just under id, to list from id on: List
// starts after its cursor.
func beforeID(id string) string {
	if id == "" {
		return ""
	}
	last := id[len(id)-1]
	if last == 0 {
		return id[:len(id)-1]
	}
	return id[:len(id)-1] + string(last-1) + "\x7f"
}

// scanByList reads pages of List until limit items are kept (0: no
// limit) or MaxPageBytes of them; match, when set, chooses the items kept
// and may end the scan. Its page is as Querier.Scan's.
func scanByList(ctx context.Context, s Store, tenant, after string, limit int, match func(*Item) (keep, stop bool)) (*Page, error) {
	page := &Page{Items: []*Item{}}
	size := 0
	for {
		n := MaxListLimit
		if limit > 0 {
			n = min(n, limit-len(page.Items))
		}
		p, err := s.List(ctx, tenant, ListQuery{After: after, Limit: n})
		if err != nil {
			return nil, err
		}
		for _, it := range p.Items {
			if match != nil {
				keep, stop := match(it)
				if stop {
					return page, nil
				}
				if !keep {
					continue
				}
			}
			size += it.Size()
			page.Items = append(page.Items, it)
			if (limit > 0 && len(page.Items) == limit) || size >= MaxPageBytes {
				page.Next = it.ID
				return page, nil
			}
		}
		if p.Next == "" {
			return page, nil
		}
		after = p.Next
	}
}

// IndexValueOf returns the string value of the top-level attribute
// IndexAttr of canonical attributes, "" when it has none or it is not a
// string; HasIndexValue tells an empty string from none.
func IndexValueOf(a Attributes) string {
	v, _ := indexValue(a)
	return v
}

// HasIndexValue reports whether a has a string IndexAttr, which puts the
// item in the index.
func HasIndexValue(a Attributes) bool {
	_, ok := indexValue(a)
	return ok
}

var indexKey = []byte(`"` + IndexAttr + `":"`)

func indexValue(a Attributes) (string, bool) {
	if !bytes.Contains(a, indexKey) {
		return "", false
	}
	d := jsontext.NewDecoder(bytes.NewReader(a))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return "", false
	}
	for d.PeekKind() == '"' {
		tok, err := d.ReadToken()
		if err != nil {
			return "", false
		}
		if tok.String() != IndexAttr {
			if d.SkipValue() != nil {
				return "", false
			}
			continue
		}
		v, err := d.ReadToken()
		if err != nil || v.Kind() != '"' {
			return "", false
		}
		return v.String(), true
	}
	return "", false
}
