// Package dynamo is the DynamoDB backend of items.Store, on aws-sdk-go-v2.
// It works against DynamoDB on AWS and against any engine that speaks its
// API (dynalite in the tests).
//
// # Table
//
// One table holds every tenant's items: partition key "tenant" (S), sort
// key "id" (S), no secondary index. CreateTable makes it (on-demand or
// provisioned) and turns on Time to Live on the "ttl" attribute, which
// removes expired idempotency records.
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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

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

// WithObserver reports every DynamoDB call to o, and asks DynamoDB for the
// capacity each consumes.
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

func (s *Store) capacity() types.ReturnConsumedCapacity {
	if s.observer != nil {
		return types.ReturnConsumedCapacityTotal
	}
	return types.ReturnConsumedCapacityNone
}

// observe reports a call to the observer, if any.
func (s *Store) observe(op string, start time.Time, cc *types.ConsumedCapacity, err error) {
	if s.observer == nil {
		return
	}
	units := 0.0
	if cc != nil && cc.CapacityUnits != nil {
		units = *cc.CapacityUnits
	}
	s.observer.ObserveCall(op, time.Since(start), units, err)
}

func (s *Store) observeMany(op string, start time.Time, ccs []types.ConsumedCapacity, err error) {
	if s.observer == nil {
		return
	}
	units := 0.0
	for _, cc := range ccs {
		if cc.CapacityUnits != nil {
			units += *cc.CapacityUnits
		}
	}
	s.observer.ObserveCall(op, time.Since(start), units, err)
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
		s.observe("GetItem", start, nil, err)
		return nil, mapError("get item", err)
	}
	s.observe("GetItem", start, out.ConsumedCapacity, nil)
	if out.Item == nil {
		return nil, notFound()
	}
	return decodeItem(out.Item)
}

// encodeItem returns the DynamoDB form of it.
func encodeItem(it *items.Item) (map[string]types.AttributeValue, error) {
	attrs, err := AttributesToAV(it.Attrs)
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{
		attrTenant:    &types.AttributeValueMemberS{Value: it.Tenant},
		attrID:        &types.AttributeValueMemberS{Value: it.ID},
		attrVersion:   &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Version, 10)},
		attrRev:       &types.AttributeValueMemberS{Value: it.Rev},
		attrCreatedAt: timeAV(it.CreatedAt),
		attrUpdatedAt: timeAV(it.UpdatedAt),
		attrAttrs:     attrs,
	}, nil
}

// decodeItem reads an item from its DynamoDB form.
func decodeItem(av map[string]types.AttributeValue) (*items.Item, error) {
	it := &items.Item{}
	var err error
	if it.Tenant, err = stringAttr(av, attrTenant); err != nil {
		return nil, err
	}
	if it.ID, err = stringAttr(av, attrID); err != nil {
		return nil, err
	}
	if it.Rev, err = stringAttr(av, attrRev); err != nil {
		return nil, err
	}
	n, ok := av[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return nil, errors.New("dynamo: stored item has no numeric version")
	}
	if it.Version, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
		return nil, errors.New("dynamo: stored item has a version that is not an integer")
	}
	if it.CreatedAt, err = timeAttr(av, attrCreatedAt); err != nil {
		return nil, err
	}
	if it.UpdatedAt, err = timeAttr(av, attrUpdatedAt); err != nil {
		return nil, err
	}
	switch m := av[attrAttrs].(type) {
	case *types.AttributeValueMemberM:
		if it.Attrs, err = AVToAttributes(m.Value); err != nil {
			return nil, err
		}
	case nil:
		it.Attrs = items.Attributes("{}")
	default:
		return nil, errors.New("dynamo: stored item's attrs is not a map")
	}
	return it, nil
}

func stringAttr(av map[string]types.AttributeValue, name string) (string, error) {
	s, ok := av[name].(*types.AttributeValueMemberS)
	if !ok {
		return "", errors.New("dynamo: stored item has no string " + name)
	}
	return s.Value, nil
}

func timeAV(t time.Time) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

func timeAttr(av map[string]types.AttributeValue, name string) (time.Time, error) {
	n, ok := av[name].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, errors.New("dynamo: stored item has no numeric " + name)
	}
	ms, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("dynamo: stored item's " + name + " is not a Unix time in milliseconds")
	}
	return time.UnixMilli(ms).UTC(), nil
}

// Create implements items.Store: a PutItem conditional on the id being new,
// or, with idem, a TransactWriteItems of the item and its idempotency
// record.
func (s *Store) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := items.ValidateTenant(key.Tenant); err != nil {
		return nil, err
	}
	if err := items.ValidateID(key.ID); err != nil {
		return nil, err
	}
	now := s.clock()
	it := &items.Item{Key: key, Version: 1, CreatedAt: now, UpdatedAt: now, Rev: items.NewRev(), Attrs: attrs}
	av, err := encodeItem(it)
	if err != nil {
		return nil, err
	}
	if it.Size() > items.MaxItemSize || ItemSize(av) > items.MaxItemSize {
		return nil, tooLarge()
	}
	it.Attrs = append(items.Attributes(nil), attrs...)
	if len(it.Attrs) == 0 {
		it.Attrs = items.Attributes("{}")
	}
	if idem != nil {
		return s.createIdempotent(ctx, it, av, idem, now)
	}
	start := time.Now()
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                s.table,
		Item:                     av,
		ConditionExpression:      itemAbsent.Condition(),
		ExpressionAttributeNames: itemAbsent.Names(),
		ReturnConsumedCapacity:   s.capacity(),
	})
	if err != nil {
		s.observe("PutItem", start, nil, err)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil, items.Errorf(items.ECONFLICT, "An item with id %q exists.", key.ID)
		}
		return nil, mapError("put item", err)
	}
	s.observe("PutItem", start, out.ConsumedCapacity, nil)
	return &items.Created{Item: it}, nil
}

// idemSortKey returns the sort key of the idempotency record of key.
func idemSortKey(key string) string {
	if len(key) <= 256 && utf8.ValidString(key) {
		return idemPrefix + "k:" + key
	}
	sum := sha256.Sum256([]byte(key))
	return idemPrefix + "h:" + hex.EncodeToString(sum[:])
}

// maxTransactTries bounds the tries of an idempotent create whose
// transaction collides with a concurrent one on the same record or item
// (DynamoDB cancels one of them with TransactionConflict); the retry then
// finds the record or the item and answers as a replay or a conflict.
const maxTransactTries = 3

func (s *Store) createIdempotent(ctx context.Context, it *items.Item, av map[string]types.AttributeValue, idem *items.Idempotency, now time.Time) (*items.Created, error) {
	exp := now.Add(items.IdempotencyTTL)
	rec, err := s.encodeRecord(it, av, idem, exp)
	if err != nil {
		return nil, err
	}
	// A record past its expiry is overwritten: it counts as absent even
	// before Time to Live deletes it.
	recAbsent, err := expression.NewBuilder().WithCondition(
		expression.AttributeNotExists(expression.Name(attrID)).Or(
			expression.Name(attrExp).LessThanEqual(expression.Value(now.UnixMilli())))).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamo: idempotency record condition: %w", err)
	}
	in := &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{
				TableName:                           s.table,
				Item:                                av,
				ConditionExpression:                 itemAbsent.Condition(),
				ExpressionAttributeNames:            itemAbsent.Names(),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureNone,
			}},
			{Put: &types.Put{
				TableName:                           s.table,
				Item:                                rec,
				ConditionExpression:                 recAbsent.Condition(),
				ExpressionAttributeNames:            recAbsent.Names(),
				ExpressionAttributeValues:           recAbsent.Values(),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
		},
		ReturnConsumedCapacity: s.capacity(),
	}
	for try := 1; ; try++ {
		start := time.Now()
		out, err := s.client.TransactWriteItems(ctx, in)
		if err == nil {
			s.observeMany("TransactWriteItems", start, out.ConsumedCapacity, nil)
			return &items.Created{Item: it}, nil
		}
		s.observe("TransactWriteItems", start, nil, err)
		var tc *types.TransactionCanceledException
		if !errors.As(err, &tc) || len(tc.CancellationReasons) != 2 {
			return nil, mapError("create item with idempotency record", err)
		}
		itemReason, recReason := tc.CancellationReasons[0], tc.CancellationReasons[1]
		switch {
		case code(recReason) == "ConditionalCheckFailed":
			recAV := recReason.Item
			if recAV == nil {
				// An engine that does not return the item: read it.
				if recAV, err = s.getRecord(ctx, it.Tenant, idem.Key); err != nil {
					return nil, err
				}
			}
			if recAV == nil || recordExpired(recAV, now) {
				// Deleted or expired since: try again.
				break
			}
			return replay(recAV, it.Tenant, idem)
		case code(itemReason) == "ConditionalCheckFailed":
			return nil, items.Errorf(items.ECONFLICT, "An item with id %q exists.", it.ID)
		case isThrottleReason(itemReason) || isThrottleReason(recReason):
			return nil, &items.Error{Code: items.EUNAVAILABLE, Message: "DynamoDB is throttling; retry later.", RetryAfter: retryAfter}
		case code(itemReason) == "TransactionConflict" || code(recReason) == "TransactionConflict":
			// A concurrent transaction on the same item or record.
		default:
			return nil, mapError("create item with idempotency record", err)
		}
		if try == maxTransactTries {
			return nil, &items.Error{Code: items.EUNAVAILABLE, Message: "Concurrent requests collided; retry later.", RetryAfter: retryAfter}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(try) * 10 * time.Millisecond):
		}
	}
}

func code(r types.CancellationReason) string { return aws.ToString(r.Code) }

func isThrottleReason(r types.CancellationReason) bool {
	switch code(r) {
	case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
		return true
	}
	return false
}

// encodeRecord returns the idempotency record of a create: the request's
// hash, its expiry, and the item as created.
func (s *Store) encodeRecord(it *items.Item, av map[string]types.AttributeValue, idem *items.Idempotency, exp time.Time) (map[string]types.AttributeValue, error) {
	rec := map[string]types.AttributeValue{
		attrTenant:    &types.AttributeValueMemberS{Value: it.Tenant},
		attrID:        &types.AttributeValueMemberS{Value: idemSortKey(idem.Key)},
		attrHash:      &types.AttributeValueMemberS{Value: idem.Hash},
		attrExp:       &types.AttributeValueMemberN{Value: strconv.FormatInt(exp.UnixMilli(), 10)},
		attrTTL:       &types.AttributeValueMemberN{Value: strconv.FormatInt((exp.UnixMilli()+999)/1000, 10)},
		attrItemID:    &types.AttributeValueMemberS{Value: it.ID},
		attrRev:       av[attrRev],
		attrCreatedAt: av[attrCreatedAt],
		attrAttrs:     av[attrAttrs],
	}
	if ItemSize(rec) <= items.MaxItemSize {
		return rec, nil
	}
	// The record is a little larger than its item; for an item near the
	// limit, keep the attributes compressed instead.
	delete(rec, attrAttrs)
	z, err := compress(it.Attrs)
	if err != nil {
		return nil, err
	}
	rec[attrAttrsZ] = &types.AttributeValueMemberB{Value: z}
	if ItemSize(rec) > items.MaxItemSize {
		return nil, items.Errorf(items.ETOOLARGE, "The item is too large to be recorded for its Idempotency-Key; send it without one.")
	}
	return rec, nil
}

func (s *Store) getRecord(ctx context.Context, tenant, idemKey string) (map[string]types.AttributeValue, error) {
	start := time.Now()
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              s.table,
		Key:                    keyAV(tenant, idemSortKey(idemKey)),
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: s.capacity(),
	})
	if err != nil {
		s.observe("GetItem", start, nil, err)
		return nil, mapError("get idempotency record", err)
	}
	s.observe("GetItem", start, out.ConsumedCapacity, nil)
	return out.Item, nil
}

func recordExpired(rec map[string]types.AttributeValue, now time.Time) bool {
	n, ok := rec[attrExp].(*types.AttributeValueMemberN)
	if !ok {
		return true
	}
	ms, err := strconv.ParseInt(n.Value, 10, 64)
	return err != nil || ms <= now.UnixMilli()
}

// replay answers an idempotent create whose key is recorded.
func replay(rec map[string]types.AttributeValue, tenant string, idem *items.Idempotency) (*items.Created, error) {
	if h, _ := stringAttr(rec, attrHash); h != idem.Hash {
		return nil, items.Errorf(items.ECONFLICT, "The Idempotency-Key was used with another request body.")
	}
	it := &items.Item{Key: items.Key{Tenant: tenant}, Version: 1}
	var err error
	if it.ID, err = stringAttr(rec, attrItemID); err != nil {
		return nil, err
	}
	if it.Rev, err = stringAttr(rec, attrRev); err != nil {
		return nil, err
	}
	if it.CreatedAt, err = timeAttr(rec, attrCreatedAt); err != nil {
		return nil, err
	}
	it.UpdatedAt = it.CreatedAt
	switch {
	case rec[attrAttrs] != nil:
		m, ok := rec[attrAttrs].(*types.AttributeValueMemberM)
		if !ok {
			return nil, errors.New("dynamo: idempotency record's attrs is not a map")
		}
		if it.Attrs, err = AVToAttributes(m.Value); err != nil {
			return nil, err
		}
	case rec[attrAttrsZ] != nil:
		b, ok := rec[attrAttrsZ].(*types.AttributeValueMemberB)
		if !ok {
			return nil, errors.New("dynamo: idempotency record's attrsz is not binary")
		}
		if it.Attrs, err = decompress(b.Value); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("dynamo: idempotency record has no attributes")
	}
	return &items.Created{Item: it, Replayed: true}, nil
}

// writeCondition is the condition of a replace or delete: the item exists
// and, with cond.IfRev, has that rev.
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
	if jsonSize > items.MaxItemSize || ItemSize(map[string]types.AttributeValue{
		attrTenant: &types.AttributeValueMemberS{Value: key.Tenant}, attrID: &types.AttributeValueMemberS{Value: key.ID},
		attrVersion: &types.AttributeValueMemberN{Value: "2"}, attrRev: revAV,
		attrCreatedAt: updatedAt, attrUpdatedAt: updatedAt, attrAttrs: attrsAV,
	}) > items.MaxItemSize {
		return nil, tooLarge()
	}
	version := expression.Name(attrVersion)
	update := expression.Set(expression.Name(attrAttrs), expression.Value(attrsAV)).
		Set(expression.Name(attrRev), expression.Value(revAV)).
		Set(expression.Name(attrUpdatedAt), expression.Value(updatedAt)).
		Set(version, version.Plus(expression.Value(1)))
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
		s.observe("UpdateItem", start, nil, err)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
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
	s.observe("UpdateItem", start, out.ConsumedCapacity, nil)
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
		s.observe("DeleteItem", start, nil, err)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return conditionFailed(ccf)
		}
		return mapError("delete item", err)
	}
	s.observe("DeleteItem", start, out.ConsumedCapacity, nil)
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
			s.observe("Query", start, nil, err)
			return nil, mapError("query items", err)
		}
		s.observe("Query", start, out.ConsumedCapacity, nil)
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
	s.observe("DescribeTable", start, nil, err)
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
