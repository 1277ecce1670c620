package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
)

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
		// The existing item, which the failed write is charged for.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		s.observe(ctx, "PutItem", start, nil, err)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			reportOld(ctx, ccf.Item)
			return nil, items.Errorf(items.ECONFLICT, "An item with id %q exists.", key.ID)
		}
		return nil, mapError("put item", err)
	}
	s.observe(ctx, "PutItem", start, out.ConsumedCapacity, nil)
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
			s.observeMany(ctx, "TransactWriteItems", start, out.ConsumedCapacity, nil)
			return &items.Created{Item: it}, nil
		}
		s.observe(ctx, "TransactWriteItems", start, nil, err)
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
		s.observe(ctx, "GetItem", start, nil, err)
		return nil, mapError("get idempotency record", err)
	}
	s.observe(ctx, "GetItem", start, out.ConsumedCapacity, nil)
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
