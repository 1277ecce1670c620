// Package dynamo is the DynamoDB backend of items.Store, on aws-sdk-go-v2.
// It works against DynamoDB on AWS and against any engine that speaks its
// API (dynalite in the tests).
//
// # Table
//
// One table holds every tenant's items: partition key "tenant" (S), sort
// key "id" (S), and one global secondary index, items.IndexName, whose
// partition key is "ikey" (S) and sort key "id", projecting every
// attribute. CreateTable makes it (on-demand or provisioned) and turns on
// Time to Live on the "ttl" attribute, which removes expired idempotency
// records.
//
// # Items
//
// An item is stored as
//
//	tenant     S   the partition key
//	id         S   the item id (the sort key)
//	version    N   1 on create, +1 on every write
//	rev        S   the revision token
//	createdAt  N   Unix time in milliseconds
//	updatedAt  N
//	attrs      M   the client's attributes as native DynamoDB values
//	ikey       S   the index key, only on items whose client attribute
//	               items.IndexAttr is a string: the tenant's length in
//	               decimal, ":", the tenant, then that string, so that
//	               tenants never share an index partition
//
// The client's attributes live under one map so that their names never
// collide with the server's nor need escaping as DynamoDB reserved words,
// and so that the table reads naturally in the AWS console: strings are S,
// numbers N (the canonical decimal text of items.NormalizeNumber, so they
// round-trip exactly), booleans BOOL, null NULL, arrays L and objects M.
// DynamoDB maps are unordered: attributes come back with their members in
// name order. DynamoDB nests at most 32 levels, counting the item, and the
// attributes sit one level down, so a container at the contract's deepest
// level (items.MaxDepth) is kept as its JSON text in a binary (B) value.
//
// The timestamps are numbers rather than RFC 3339 strings to keep the
// stored item smaller than its JSON encoding, which the contract limits to
// 400 KB: with them, an item whose encoding is at the limit fits DynamoDB's
// own 400 KB (counted its way: see ItemSize) whenever its tenant name is at
// most 26 bytes long. An item over the limit by either count is refused
// with ETOOLARGE.
//
// # Idempotency records
//
// An idempotent create writes the item and a record in one
// TransactWriteItems. The record lives in the tenant's partition under the
// sort key "#idem#k:" + the key (or "#idem#h:" + its SHA-256 when the key is
// long or not UTF-8). No item id can begin with "#", and "#" sorts before
// every character an id may begin with, so listings skip the records with a
// key condition (id >= "0") rather than a filter. A record holds the
// request hash, its expiry ("exp", Unix milliseconds; "ttl", Unix seconds for
// DynamoDB's Time to Live) and the item as created; a record past its expiry
// counts as absent even before DynamoDB deletes it.
//
// # Capacity
//
// Every call asks DynamoDB for the capacity it consumed
// (ReturnConsumedCapacity) and adds it to the items.Usage of its context,
// as counted by DynamoDB, so that a capacity layer above charges those
// units; a failed conditional write reports the item it found
// (ReturnValuesOnConditionCheckFailure), which DynamoDB charges it for.
// Scan and Query (items.Querier) are one DynamoDB Query each, paged by
// DynamoDB. StoredSize counts an item's size as DynamoDB does without
// converting it, for the stores that charge what DynamoDB would.
//
// # Errors
//
// Conditional failures map to the contract's codes; throttling
// (ProvisionedThroughputExceededException, ThrottlingException,
// RequestLimitExceeded) is retried by the SDK's retryer with its backoff and
// then answered items.EUNAVAILABLE; other SDK errors are internal errors
// whose text never reaches a client.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
)

// Attribute names of the table.
const (
	attrTenant    = "tenant"
	attrID        = "id"
	attrVersion   = "version"
	attrRev       = "rev"
	attrCreatedAt = "createdAt"
	attrUpdatedAt = "updatedAt"
	attrAttrs     = "attrs"
	// attrIndexKey is the partition key of the secondary index
	// (items.IndexName), set on items in the index: see indexKey.
	attrIndexKey = "ikey"

	// Idempotency records only.
	attrHash   = "hash"
	attrExp    = "exp"
	attrTTL    = "ttl"
	attrItemID = "itemId"
	attrAttrsZ = "attrsz"
)

// TTLAttribute is the attribute that DynamoDB's Time to Live watches.
const TTLAttribute = attrTTL

// idemPrefix begins the sort key of every idempotency record.
const idemPrefix = "#idem#"

// firstID is the least sort key an item can have: ids begin with a letter
// or digit, and '0' is the least of those.
const firstID = "0"

// DefaultMaxAttempts is how many times the store tries a throttled call,
// the first included, before it answers EUNAVAILABLE.
const DefaultMaxAttempts = 5

// retryAfter is the Retry-After, in seconds, of an EUNAVAILABLE answer to
// throttling: DynamoDB says nothing of when capacity returns, and its
// partitions refill their burst capacity within seconds.
const retryAfter = 1

// Store is an items.Store on one DynamoDB table. It is safe for concurrent
// use.
type Store struct {
	client     *dynamodb.Client
	table      *string
	now        items.Clock
	consistent bool
	observer   Observer
	closed     atomic.Bool
}

var _ items.Store = (*Store)(nil)

// Observer is told about every DynamoDB call a store makes, for metrics:
// the operation's name (such as "PutItem"), how long it took including the
// SDK's retries, the capacity units it consumed (0 when unknown) and its
// error. It is called from the goroutine that made the call and must be
// quick.
type Observer interface {
	ObserveCall(op string, took time.Duration, capacityUnits float64, err error)
}

// Option configures a Store.
type Option func(*config)

type config struct {
	now         items.Clock
	consistent  bool
	maxAttempts int
	maxBackoff  time.Duration
	observer    Observer
}

// WithClock sets the clock that stamps items and expires idempotency
// records; the default is items.Now.
func WithClock(now items.Clock) Option { return func(c *config) { c.now = now } }

// WithConsistentReads makes every read strongly consistent (eventually
// consistent reads are DynamoDB's default, and cost half).
func WithConsistentReads(on bool) Option { return func(c *config) { c.consistent = on } }

// WithMaxAttempts sets how many times a throttled or failed call is tried,
// the first included (DefaultMaxAttempts by default; 1 never retries).
func WithMaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// WithMaxBackoff caps the delay between two attempts of a call (the SDK's
// default cap is 20 s; its delays start from 50 ms and grow exponentially
// with jitter).
func WithMaxBackoff(d time.Duration) Option { return func(c *config) { c.maxBackoff = d } }

// WithObserver reports every DynamoDB call to o, with the capacity it
// consumed.
func WithObserver(o Observer) Option { return func(c *config) { c.observer = o } }

// New returns a store on table through client. The store uses a copy of
// the client with its own retry settings; client itself is not changed.
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	c := config{now: items.Now, maxAttempts: DefaultMaxAttempts}
	for _, o := range opts {
		o(&c)
	}
	client = dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		if c.maxAttempts > 0 {
			o.RetryMaxAttempts = c.maxAttempts
			o.Retryer = retry.AddWithMaxAttempts(o.Retryer, c.maxAttempts)
		}
		if c.maxBackoff > 0 {
			o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, c.maxBackoff)
		}
	})
	return &Store{client: client, table: aws.String(table), now: c.now, consistent: c.consistent, observer: c.observer}
}

// Client returns the DynamoDB client the store uses.
func (s *Store) Client() *dynamodb.Client { return s.client }

// Table returns the name of the store's table.
func (s *Store) Table() string { return *s.table }

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Store) check() error {
	if s.closed.Load() {
		return items.Errorf(items.EUNAVAILABLE, "The store is closed.")
	}
	return nil
}

// capacity is what the store asks DynamoDB of the capacity a call
// consumed: always the total, which the capacity layer above (package
// table) charges and each response reports.
func (s *Store) capacity() types.ReturnConsumedCapacity {
	return types.ReturnConsumedCapacityTotal
}

// readOps are the calls that consume read capacity.
func isRead(op string) bool { return op == "GetItem" || op == "Query" || op == "Scan" }

// observe reports a call to the observer, if any, and adds the capacity
// DynamoDB says it consumed to the Usage of ctx.
func (s *Store) observe(ctx context.Context, op string, start time.Time, cc *types.ConsumedCapacity, err error) {
	units := 0.0
	if cc != nil && cc.CapacityUnits != nil {
		units = *cc.CapacityUnits
		if isRead(op) {
			items.AddCountedUsage(ctx, items.Capacity{Read: units})
		} else {
			items.AddCountedUsage(ctx, items.Capacity{Write: units})
		}
	}
	if s.observer != nil {
		s.observer.ObserveCall(op, time.Since(start), units, err)
	}
}

func (s *Store) observeMany(ctx context.Context, op string, start time.Time, ccs []types.ConsumedCapacity, err error) {
	units := 0.0
	for _, cc := range ccs {
		if cc.CapacityUnits != nil {
			units += *cc.CapacityUnits
		}
	}
	if len(ccs) > 0 {
		if isRead(op) {
			items.AddCountedUsage(ctx, items.Capacity{Read: units})
		} else {
			items.AddCountedUsage(ctx, items.Capacity{Write: units})
		}
	}
	if s.observer != nil {
		s.observer.ObserveCall(op, time.Since(start), units, err)
	}
}

func keyAV(tenant, id string) map[string]types.AttributeValue {
	av, err := attributevalue.MarshalMap(tableKey{Tenant: tenant, ID: id})
	if err != nil {
		panic("dynamo: a key of two strings failed to marshal: " + err.Error())
	}
	return av
}

// tableKey is the table's primary key.
type tableKey struct {
	Tenant string `dynamodbav:"tenant"`
	ID     string `dynamodbav:"id"`
}

// Conditions and updates are made with the SDK's expression builder, which
// names every attribute and value by placeholder.
var (
	// itemAbsent is a create's condition: no item has the key.
	itemAbsent = mustBuild(expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(attrID))))
	// itemPresent is the condition of a replace or delete without If-Match.
	itemPresent = expression.AttributeExists(expression.Name(attrID))
)

func mustBuild(b expression.Builder) expression.Expression {
	e, err := b.Build()
	if err != nil {
		panic("dynamo: " + err.Error())
	}
	return e
}

// validKey reports whether key can name an item at all; a key that cannot
// is never looked up (it would read an idempotency record, or be refused by
// DynamoDB as a key).
func validKey(key items.Key) bool {
	return items.ValidateTenant(key.Tenant) == nil && items.ValidateID(key.ID) == nil
}

// reportOld reports the item a failed conditional write found, which
// DynamoDB charges the write for, to the Usage of ctx.
func reportOld(ctx context.Context, av map[string]types.AttributeValue) {
	if len(av) == 0 || items.UsageFrom(ctx) == nil {
		return
	}
	if old, err := decodeItem(av); err == nil {
		items.ReportOld(ctx, old)
	}
}

func notFound() error { return items.Errorf(items.ENOTFOUND, "Item not found.") }

func tooLarge() error {
	return items.Errorf(items.ETOOLARGE, "The item is over %d bytes as DynamoDB counts them.", items.MaxItemSize)
}

// Get implements items.Store. The read is strongly consistent when
// opt.Consistent is set or the store was made WithConsistentReads.
func (s *Store) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if !validKey(key) {
		return nil, notFound()
	}
	start := time.Now()
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              s.table,
		Key:                    keyAV(key.Tenant, key.ID),
		ConsistentRead:         aws.Bool(opt.Consistent || s.consistent),
		ReturnConsumedCapacity: s.capacity(),
	})
	if err != nil {
		s.observe(ctx, "GetItem", start, nil, err)
		return nil, mapError("get item", err)
	}
	s.observe(ctx, "GetItem", start, out.ConsumedCapacity, nil)
	if out.Item == nil {
		return nil, notFound()
	}
	return decodeItem(out.Item)
}

// encodeItem returns the DynamoDB form of it.
func writeCondition(cond items.Condition) expression.ConditionBuilder {
	if cond.IfRev == "" {
		return itemPresent
	}
	return itemPresent.And(expression.Name(attrRev).Equal(expression.Value(cond.IfRev)))
}

// conditionFailed maps a failed write condition to the contract's code:
// DynamoDB returns the item when there was one (ReturnValuesOnCondition-
// CheckFailure ALL_OLD), so a failure without an item means there was none,
// and one with an item means its rev differed.
func conditionFailed(ccf *types.ConditionalCheckFailedException) error {
	if len(ccf.Item) == 0 {
		return notFound()
	}
	return items.Errorf(items.EPRECONDITION, "The item has changed (If-Match does not match).")
}

// Replace implements items.Store: one UpdateItem conditional on the item's
// existence (and rev), that adds one to the version.
func (s *Store) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if !validKey(key) {
		return nil, notFound()
	}
	attrsAV, err := AttributesToAV(attrs)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	rev := items.NewRev()
	revAV := &types.AttributeValueMemberS{Value: rev}
	updatedAt := timeAV(now)
	// Both sizes of the new item grow with its version, which only
	// DynamoDB knows; count it at its least (one digit) here. DynamoDB
	// itself refuses an item over its own limit, and versionCap below
	// refuses one whose encoding the version's digits push over.
	probe := &items.Item{Key: key, Version: 2, CreatedAt: now, UpdatedAt: now, Rev: rev, Attrs: attrs}
	jsonSize := probe.Size()
	if jsonSize > items.MaxItemSize || StoredSize(probe) > items.MaxItemSize {
		return nil, tooLarge()
	}
	version := expression.Name(attrVersion)
	update := expression.Set(expression.Name(attrAttrs), expression.Value(attrsAV)).
		Set(expression.Name(attrRev), expression.Value(revAV)).
		Set(expression.Name(attrUpdatedAt), expression.Value(updatedAt)).
		Set(version, version.Plus(expression.Value(1)))
	// The secondary index's key follows the item's IndexAttr.
	if k, ok := indexKeyOf(key.Tenant, attrs); ok {
		update = update.Set(expression.Name(attrIndexKey), expression.Value(k))
	} else {
		update = update.Remove(expression.Name(attrIndexKey))
	}
	condition := writeCondition(cond)
	// The encoding has room for this many version digits.
	digits := items.MaxItemSize - jsonSize + 1
	capped := digits < 19
	if capped {
		// The new version, old+1, must have at most that many digits.
		condition = condition.And(version.LessThan(expression.Value(pow10(digits) - 1)))
	}
	expr, err := expression.NewBuilder().WithCondition(condition).WithUpdate(update).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamo: update expression: %w", err)
	}
	start := time.Now()
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           s.table,
		Key:                                 keyAV(key.Tenant, key.ID),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              s.capacity(),
	})
	if err != nil {
		s.observe(ctx, "UpdateItem", start, nil, err)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			reportOld(ctx, ccf.Item)
			if capped && len(ccf.Item) > 0 {
				if old, _ := stringAttr(ccf.Item, attrRev); cond.IfRev == "" || cond.IfRev == old {
					// It exists and its rev matched: the version failed.
					return nil, tooLarge()
				}
			}
			return nil, conditionFailed(ccf)
		}
		return nil, mapError("update item", err)
	}
	s.observe(ctx, "UpdateItem", start, out.ConsumedCapacity, nil)
	return decodeItem(out.Attributes)
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// Delete implements items.Store: one DeleteItem conditional on the item's
// existence (and rev).
func (s *Store) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	if err := s.check(); err != nil {
		return err
	}
	if !validKey(key) {
		return notFound()
	}
	expr, err := expression.NewBuilder().WithCondition(writeCondition(cond)).Build()
	if err != nil {
		return fmt.Errorf("dynamo: delete condition: %w", err)
	}
	start := time.Now()
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           s.table,
		Key:                                 keyAV(key.Tenant, key.ID),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              s.capacity(),
	})
	if err != nil {
		s.observe(ctx, "DeleteItem", start, nil, err)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			reportOld(ctx, ccf.Item)
			return conditionFailed(ccf)
		}
		return mapError("delete item", err)
	}
	s.observe(ctx, "DeleteItem", start, out.ConsumedCapacity, nil)
	return nil
}

// List implements items.Store with Query on the tenant's partition, never a
// Scan; the cursor's id is the ExclusiveStartKey it resumes after.
func (s *Store) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	if q.Limit < 1 || q.Limit > items.MaxListLimit {
		return nil, items.Errorf(items.EINVALID, "The limit must be 1 to %d.", items.MaxListLimit)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	page := &items.Page{Items: []*items.Item{}}
	if items.ValidateTenant(tenant) != nil {
		return page, nil
	}
	// Ids sort after every idempotency record ("#..."), so a lower bound of
	// "0" leaves the records out.
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(attrTenant).Equal(expression.Value(tenant)).And(
			expression.Key(attrID).GreaterThanEqual(expression.Value(firstID)))).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamo: key condition: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(s.consistent),
		ReturnConsumedCapacity:    s.capacity(),
	}
	if q.After >= firstID {
		in.ExclusiveStartKey = keyAV(tenant, q.After)
	}
	size := 0
	// Ask for one item more than the page holds, to learn whether more
	// remain rather than trust LastEvaluatedKey, which DynamoDB sets when a
	// page merely ends at the limit.
	for {
		in.Limit = aws.Int32(int32(q.Limit - len(page.Items) + 1))
		start := time.Now()
		out, err := s.client.Query(ctx, in)
		if err != nil {
			s.observe(ctx, "Query", start, nil, err)
			return nil, mapError("query items", err)
		}
		s.observe(ctx, "Query", start, out.ConsumedCapacity, nil)
		for _, av := range out.Items {
			it, err := decodeItem(av)
			if err != nil {
				return nil, err
			}
			n := it.Size()
			if len(page.Items) == q.Limit || (len(page.Items) > 0 && size+n > items.MaxPageBytes) {
				page.Next = page.Items[len(page.Items)-1].ID
				return page, nil
			}
			size += n
			page.Items = append(page.Items, it)
		}
		if out.LastEvaluatedKey == nil {
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Ping implements items.Store: it describes the table, which costs no
// capacity, and fails unless the table is there and usable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	start := time.Now()
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: s.table})
	s.observe(ctx, "DescribeTable", start, nil, err)
	if err != nil {
		return mapError("describe table", err)
	}
	switch st := out.Table.TableStatus; st {
	case types.TableStatusActive, types.TableStatusUpdating:
		return nil
	default:
		return items.Errorf(items.EUNAVAILABLE, "The table is %s.", st)
	}
}

// Close implements items.Store. DynamoDB acknowledges writes only once they
// are durable, so there is nothing to flush; later calls answer
// EUNAVAILABLE.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}
