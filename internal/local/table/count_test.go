package table_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// sizes are item sizes around the 1 KB and 4 KB boundaries.
var sizes = []int{100, 1023, 1024, 1025, 2047, 2049, 4095, 4096, 4097, 8192, 8193}

// sized returns an item of exactly size bytes as DynamoDB counts them;
// rich items hold every attribute type (numbers of several shapes, maps,
// lists, sets, binary), so that a byte counted differently by dynalite
// moves the item across a unit boundary.
func sized(t *testing.T, id string, size int, rich bool) map[string]types.AttributeValue {
	t.Helper()
	it := map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "t"},
		"id":     &types.AttributeValueMemberS{Value: id},
	}
	if rich {
		it["n"] = &types.AttributeValueMemberN{Value: "-123.45"}
		it["big"] = &types.AttributeValueMemberN{Value: "12345678901234567890123456789"}
		it["small"] = &types.AttributeValueMemberN{Value: "0.00017"}
		it["zero"] = &types.AttributeValueMemberN{Value: "0"}
		it["e"] = &types.AttributeValueMemberN{Value: "1500"}
		it["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"a": &types.AttributeValueMemberS{Value: "x"}, "b": &types.AttributeValueMemberN{Value: "7"}}}
		it["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "y"}, &types.AttributeValueMemberBOOL{Value: true}, &types.AttributeValueMemberNULL{Value: true}}}
		it["b"] = &types.AttributeValueMemberB{Value: []byte{1, 2, 3}}
		it["ss"] = &types.AttributeValueMemberSS{Value: []string{"p", "qq"}}
		it["ns"] = &types.AttributeValueMemberNS{Value: []string{"1", "22", "-333"}}
		it["bs"] = &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}}
	}
	pad := size - table.ItemSize(it) - len("data")
	if pad < 0 {
		t.Fatalf("item %s cannot be %d bytes", id, size)
	}
	it["data"] = &types.AttributeValueMemberS{Value: strings.Repeat("d", pad)}
	if got := table.ItemSize(it); got != size {
		t.Fatalf("item %s: %d bytes, want %d", id, got, size)
	}
	return it
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: id}}
}

func units(ccs ...types.ConsumedCapacity) float64 {
	sum := 0.0
	for _, cc := range ccs {
		sum += aws.ToFloat64(cc.CapacityUnits)
	}
	return sum
}

// TestCountEqualsDynalite sends the same requests through the front to
// dynalite, asking for the consumed capacity, and checks three counts
// agree for each: this package's (ReadUnits, WriteUnits, QueryUnits from
// the items' sizes), dynalite's ConsumedCapacity, and what the front
// charged the table, asking the engine and computing it itself.
func TestCountEqualsDynalite(t *testing.T) {
	for _, counting := range []table.Counting{table.CountEngine, table.CountComputed} {
		t.Run(string(counting), func(t *testing.T) { testCount(t, counting) })
	}
}

func testCount(t *testing.T, counting table.Counting) {
	rec := &recorder{}
	url, _ := frontFor(t, counting, table.Config{Observer: rec})
	c := client(url, 1)
	name := createTable(t, c, dynamo.TableOptions{})
	ctx := context.Background()
	total := rec.total
	tn := aws.String(name)
	stored := map[string]int{} // id -> size, the table's items
	// check runs a request, and compares its count (want), dynalite's
	// (the units of the answer) and the front's charge.
	// differs is for a request whose count dynalite gets wrong: what
	// dynalite answers, which the front charges when it asks.
	differs := func(what string, want, dynalite float64, do func() ([]types.ConsumedCapacity, error)) {
		t.Helper()
		before := total()
		ccs, err := do()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		engine := units(ccs...)
		charged := total() - before
		wantCharged := want
		if counting == table.CountEngine {
			wantCharged = dynalite
		}
		if engine != dynalite || charged != wantCharged {
			t.Errorf("%s: count %v, dynalite %v (want %v), front charged %v (want %v)", what, want, engine, dynalite, charged, wantCharged)
		}
	}
	check := func(what string, want float64, do func() ([]types.ConsumedCapacity, error)) {
		t.Helper()
		differs(what, want, want, do)
	}
	one := func(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
		if cc == nil {
			return nil
		}
		return []types.ConsumedCapacity{*cc}
	}
	asked := types.ReturnConsumedCapacityTotal
	for _, rich := range []bool{false, true} {
		for _, s := range sizes {
			if rich && s < 300 {
				continue // a rich item is larger
			}
			id := fmt.Sprintf("%v-%d", rich, s)
			check(fmt.Sprintf("PutItem new %s", id), table.WriteUnits(s), func() ([]types.ConsumedCapacity, error) {
				out, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: sized(t, id, s, rich), ReturnConsumedCapacity: asked})
				if err != nil {
					return nil, err
				}
				return one(out.ConsumedCapacity), nil
			})
			stored[id] = s
			for _, strong := range []bool{true, false} {
				cons := table.Eventual
				if strong {
					cons = table.Strong
				}
				check(fmt.Sprintf("GetItem %s strong=%v", id, strong), table.ReadUnits(s, cons), func() ([]types.ConsumedCapacity, error) {
					out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: key(id), ConsistentRead: aws.Bool(strong), ReturnConsumedCapacity: asked})
					if err != nil {
						return nil, err
					}
					return one(out.ConsumedCapacity), nil
				})
			}
			// A projection does not make a read cheaper.
			check(fmt.Sprintf("GetItem %s projected", id), table.ReadUnits(s, table.Strong), func() ([]types.ConsumedCapacity, error) {
				out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: key(id), ConsistentRead: aws.Bool(true),
					ProjectionExpression: aws.String("id"), ReturnConsumedCapacity: asked})
				if err != nil {
					return nil, err
				}
				return one(out.ConsumedCapacity), nil
			})
			// Replacing charges the larger item; so does an update.
			bigger := s + 1500
			check(fmt.Sprintf("PutItem replace %s with %d", id, bigger), table.WriteUnits(bigger), func() ([]types.ConsumedCapacity, error) {
				out, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: sized(t, id, bigger, rich), ReturnConsumedCapacity: asked})
				if err != nil {
					return nil, err
				}
				return one(out.ConsumedCapacity), nil
			})
			check(fmt.Sprintf("UpdateItem %s back to %d", id, s), table.WriteUnits(bigger), func() ([]types.ConsumedCapacity, error) {
				data := sized(t, id, s, rich)["data"]
				out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tn, Key: key(id), UpdateExpression: aws.String("SET #d = :d"),
					ExpressionAttributeNames: map[string]string{"#d": "data"}, ExpressionAttributeValues: map[string]types.AttributeValue{":d": data},
					ReturnConsumedCapacity: asked})
				if err != nil {
					return nil, err
				}
				return one(out.ConsumedCapacity), nil
			})
			check(fmt.Sprintf("UpdateItem %s adding 3 bytes", id), table.WriteUnits(s+3), func() ([]types.ConsumedCapacity, error) {
				out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tn, Key: key(id), UpdateExpression: aws.String("SET #x = :x"),
					ExpressionAttributeNames: map[string]string{"#x": "x"}, ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberS{Value: "ab"}},
					ReturnConsumedCapacity: asked})
				if err != nil {
					return nil, err
				}
				return one(out.ConsumedCapacity), nil
			})
			stored[id] = s + 3
		}
	}
	sum := 0
	for _, s := range stored {
		sum += s
	}
	for _, strong := range []bool{true, false} {
		cons := table.Eventual
		if strong {
			cons = table.Strong
		}
		check(fmt.Sprintf("GetItem missing strong=%v", strong), table.ReadUnits(0, cons), func() ([]types.ConsumedCapacity, error) {
			out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: key("missing"), ConsistentRead: aws.Bool(strong), ReturnConsumedCapacity: asked})
			if err != nil {
				return nil, err
			}
			return one(out.ConsumedCapacity), nil
		})
		// Query and Scan: the sum of the items read, rounded once.
		check(fmt.Sprintf("Query strong=%v", strong), table.QueryUnits(sum, cons), func() ([]types.ConsumedCapacity, error) {
			out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tn, KeyConditionExpression: aws.String("tenant = :t"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: "t"}},
				ConsistentRead:            aws.Bool(strong), ReturnConsumedCapacity: asked})
			if err != nil {
				return nil, err
			}
			return one(out.ConsumedCapacity), nil
		})
		// dynalite drops Scan's ConsistentRead: it charges a consistent
		// scan as an eventually consistent one.
		differs(fmt.Sprintf("Scan strong=%v", strong), table.QueryUnits(sum, cons), table.QueryUnits(sum, table.Eventual), func() ([]types.ConsumedCapacity, error) {
			out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: tn, ConsistentRead: aws.Bool(strong), ReturnConsumedCapacity: asked})
			if err != nil {
				return nil, err
			}
			return one(out.ConsumedCapacity), nil
		})
		if counting == table.CountEngine {
			// Before the filter: a filter that keeps nothing costs the
			// same (the front's own count sees only what is returned).
			check(fmt.Sprintf("Query filtered strong=%v", strong), table.QueryUnits(sum, cons), func() ([]types.ConsumedCapacity, error) {
				out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tn, KeyConditionExpression: aws.String("tenant = :t"),
					FilterExpression: aws.String("attribute_not_exists(#d)"), ExpressionAttributeNames: map[string]string{"#d": "data"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: "t"}},
					ConsistentRead:            aws.Bool(strong), ReturnConsumedCapacity: asked})
				if err != nil {
					return nil, err
				}
				if len(out.Items) != 0 {
					return nil, fmt.Errorf("the filter kept %d items", len(out.Items))
				}
				return one(out.ConsumedCapacity), nil
			})
		}
		// BatchGetItem: each item apart, the missing one at its minimum.
		ids := slices.Sorted(maps.Keys(stored))
		var keys []map[string]types.AttributeValue
		want := table.ReadUnits(0, cons)
		for _, id := range ids {
			keys = append(keys, key(id))
			want += table.ReadUnits(stored[id], cons)
		}
		keys = append(keys, key("missing"))
		check(fmt.Sprintf("BatchGetItem strong=%v", strong), want, func() ([]types.ConsumedCapacity, error) {
			out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{ReturnConsumedCapacity: asked,
				RequestItems: map[string]types.KeysAndAttributes{name: {Keys: keys, ConsistentRead: aws.Bool(strong)}}})
			if err != nil {
				return nil, err
			}
			if len(out.UnprocessedKeys) != 0 {
				return nil, errors.New("unprocessed keys")
			}
			return out.ConsumedCapacity, nil
		})
	}
	// BatchWriteItem: puts of new items, then their deletes.
	var puts, deletes []types.WriteRequest
	want := 0.0
	for i, s := range sizes {
		id := fmt.Sprint("batch-", i)
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: sized(t, id, s, s >= 300 && i%2 == 0)}})
		deletes = append(deletes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(id)}})
		want += table.WriteUnits(s)
	}
	for _, step := range []struct {
		what string
		reqs []types.WriteRequest
	}{{"puts", puts}, {"deletes", deletes}} {
		check("BatchWriteItem "+step.what, want, func() ([]types.ConsumedCapacity, error) {
			out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{ReturnConsumedCapacity: asked,
				RequestItems: map[string][]types.WriteRequest{name: step.reqs}})
			if err != nil {
				return nil, err
			}
			if len(out.UnprocessedItems) != 0 {
				return nil, errors.New("unprocessed items")
			}
			return out.ConsumedCapacity, nil
		})
	}
	// A conditional write that fails is charged on the larger of the
	// existing item and the new one (dynalite reports none).
	for _, s := range []int{1025, 4097} {
		id := fmt.Sprintf("cond-%d", s)
		before := total()
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: sized(t, id, 100, false),
			ConditionExpression: aws.String("attribute_exists(id)"), ReturnConsumedCapacity: asked})
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			t.Fatalf("conditional put of a new item: got %v", err)
		}
		if got := total() - before; got != table.WriteUnits(100) {
			t.Errorf("failed conditional put of a new 100 B item: charged %v, want 1", got)
		}
		stored[id] = s
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: sized(t, id, s, false)}); err != nil {
			t.Fatal(err)
		}
		before = total()
		_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: sized(t, id, 100, false),
			ConditionExpression: aws.String("attribute_not_exists(id)"), ReturnConsumedCapacity: asked})
		if !errors.As(err, &ccf) {
			t.Fatalf("conditional put over %s: got %v", id, err)
		}
		if got := total() - before; got != table.WriteUnits(s) {
			t.Errorf("failed conditional put over a %d B item: charged %v, want %v", s, got, table.WriteUnits(s))
		}
		before = total()
		_, err = c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tn, Key: key(id), ConditionExpression: aws.String("attribute_not_exists(id)")})
		if !errors.As(err, &ccf) {
			t.Fatalf("conditional delete of %s: got %v", id, err)
		}
		if got := total() - before; got != table.WriteUnits(s) {
			t.Errorf("failed conditional delete of a %d B item: charged %v, want %v", s, got, table.WriteUnits(s))
		}
	}
	// DeleteItem: the deleted item's size.
	for _, id := range slices.Sorted(maps.Keys(stored)) {
		check("DeleteItem "+id, table.WriteUnits(stored[id]), func() ([]types.ConsumedCapacity, error) {
			out, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tn, Key: key(id), ReturnConsumedCapacity: asked})
			if err != nil {
				return nil, err
			}
			return one(out.ConsumedCapacity), nil
		})
	}
	// TransactWriteItems, where the engine has it: twice the units of
	// each action.
	before := total()
	out, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ReturnConsumedCapacity: asked, TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tn, Item: sized(t, "tx-1", 1025, false)}},
		{Put: &types.Put{TableName: tn, Item: sized(t, "tx-2", 4097, true)}},
	}})
	var ae smithy.APIError
	switch {
	case err == nil:
		// tools/dynalite/serve.js adds TransactWriteItems to dynalite, but
		// reports no consumed capacity: the front counts it.
		want := 2*table.WriteUnits(1025) + 2*table.WriteUnits(4097)
		if got := units(out.ConsumedCapacity...); (len(out.ConsumedCapacity) > 0 && got != want) || total()-before != want {
			t.Errorf("TransactWriteItems: engine %v, front charged %v, want %v", got, total()-before, want)
		}
	case errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "UnknownOperation"):
		if got := total() - before; got != 0 {
			t.Errorf("TransactWriteItems the engine does not have: charged %v, want 0", got)
		}
	default:
		t.Errorf("TransactWriteItems: %v", err)
	}
}

// total is the units charged so far, reads and writes.
func (r *recorder) total() float64 {
	c, _, _ := r.snapshot()
	return c[table.Read] + c[table.Write]
}
