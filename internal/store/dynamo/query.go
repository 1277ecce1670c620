package dynamo

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
)

var _ items.Querier = (*Store)(nil)

// Scan implements items.Querier with one Query of the tenant's partition
// (a tenant's items are a partition: DynamoDB's Scan of a table holding
// one tenant), DynamoDB's own page: Limit items at most, 1 MB as DynamoDB
// counts it, and LastEvaluatedKey as the page's Next.
func (s *Store) Scan(ctx context.Context, tenant string, q items.ScanQuery) (*items.Page, error) {
	if q.Limit < 0 {
		return nil, items.Errorf(items.EINVALID, "The limit must be 0 (none) or more.")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if items.ValidateTenant(tenant) != nil {
		return &items.Page{Items: []*items.Item{}}, nil
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
		ConsistentRead:            aws.Bool(q.Consistent || s.consistent),
		ReturnConsumedCapacity:    s.capacity(),
	}
	if q.Limit > 0 {
		in.Limit = aws.Int32(int32(min(q.Limit, math.MaxInt32)))
	}
	if q.After >= firstID {
		in.ExclusiveStartKey = keyAV(tenant, q.After)
	}
	return s.queryPage(ctx, in, "scan items", false)
}

// Query implements items.Querier with a Query of the global secondary
// index items.IndexName, whose partition key is the item's ikey (see
// indexKey) and sort key its id. A global secondary index is eventually
// consistent only.
func (s *Store) Query(ctx context.Context, tenant string, q items.IndexQuery) (*items.Page, error) {
	if q.Limit < 0 {
		return nil, items.Errorf(items.EINVALID, "The limit must be 0 (none) or more.")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if items.ValidateTenant(tenant) != nil {
		return &items.Page{Items: []*items.Item{}}, nil
	}
	cond := expression.Key(attrIndexKey).Equal(expression.Value(indexKey(tenant, q.Value)))
	id := expression.Key(attrID)
	// One condition on the sort key: [From, To) is BETWEEN From AND To
	// with the item at To dropped, which DynamoDB still reads.
	switch {
	case q.From != "" && q.To != "":
		cond = cond.And(id.Between(expression.Value(q.From), expression.Value(q.To)))
	case q.From != "":
		cond = cond.And(id.GreaterThanEqual(expression.Value(q.From)))
	case q.To != "":
		cond = cond.And(id.LessThan(expression.Value(q.To)))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamo: index key condition: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		IndexName:                 aws.String(items.IndexName),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
	}
	if q.Limit > 0 {
		in.Limit = aws.Int32(int32(min(q.Limit, math.MaxInt32)))
	}
	if q.After != "" {
		in.ExclusiveStartKey = keyAV(tenant, q.After)
		in.ExclusiveStartKey[attrIndexKey] = &types.AttributeValueMemberS{Value: indexKey(tenant, q.Value)}
	}
	p, err := s.queryPage(ctx, in, "query index", true)
	if err != nil {
		return nil, err
	}
	if q.To != "" && q.From != "" {
		kept := p.Items[:0]
		for _, it := range p.Items {
			if it.ID < q.To {
				kept = append(kept, it)
			}
		}
		p.Items = kept
	}
	return p, nil
}

// queryPage makes one Query and returns its page, LastEvaluatedKey's id as
// Next.
func (s *Store) queryPage(ctx context.Context, in *dynamodb.QueryInput, what string, index bool) (*items.Page, error) {
	start := time.Now()
	out, err := s.client.Query(ctx, in)
	if err != nil {
		s.observe(ctx, "Query", start, nil, err)
		return nil, mapError(what, err)
	}
	if index {
		s.observeIndex(ctx, start, out.ConsumedCapacity)
	} else {
		s.observe(ctx, "Query", start, out.ConsumedCapacity, nil)
	}
	page := &items.Page{Items: make([]*items.Item, 0, len(out.Items))}
	for _, av := range out.Items {
		it, err := decodeItem(av)
		if err != nil {
			return nil, err
		}
		page.Items = append(page.Items, it)
	}
	if out.LastEvaluatedKey != nil {
		page.Next, _ = stringAttr(out.LastEvaluatedKey, attrID)
	}
	return page, nil
}

// observeIndex is observe for a Query of the secondary index: the part
// of the units DynamoDB reports for the index is IndexRead.
func (s *Store) observeIndex(ctx context.Context, start time.Time, cc *types.ConsumedCapacity) {
	s.observe(ctx, "Query", start, cc, nil)
	if cc == nil {
		return
	}
	if ix, ok := cc.GlobalSecondaryIndexes[items.IndexName]; ok && ix.CapacityUnits != nil {
		items.AddCountedUsage(ctx, items.Capacity{IndexRead: *ix.CapacityUnits})
	}
}
