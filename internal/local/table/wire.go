package table

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The DynamoDB API's JSON (the awsJson1_0 protocol), as far as the front
// reads it: table names, keys and items (for their sizes), consistency,
// and the consumed capacity of answers.

// maxDepth bounds the nesting of an attribute value; DynamoDB allows 32
// levels.
const maxDepth = 64

// item is an item or key in the API's JSON, decoded to the SDK's types
// so that its size is counted by ItemSize.
type item map[string]types.AttributeValue

func (it *item) UnmarshalJSON(b []byte) error {
	m, err := decodeItem(b, 0)
	if err != nil {
		return err
	}
	*it = m
	return nil
}

// size is the item's size as DynamoDB counts it (0 for no item).
func (it item) size() int {
	if it == nil {
		return 0
	}
	return ItemSize(it)
}

func decodeItem(b []byte, depth int) (map[string]types.AttributeValue, error) {
	if depth > maxDepth {
		return nil, errors.New("attribute values nested too deep")
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("item: %w", err)
	}
	m := make(map[string]types.AttributeValue, len(raw))
	for name, v := range raw {
		av, err := decodeValue(v, depth+1)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		m[name] = av
	}
	return m, nil
}

// decodeValue decodes one attribute value, {"S": "..."} and the like.
func decodeValue(b []byte, depth int) (types.AttributeValue, error) {
	if depth > maxDepth {
		return nil, errors.New("attribute values nested too deep")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	if len(raw) != 1 {
		return nil, fmt.Errorf("want one type in an attribute value, got %d", len(raw))
	}
	for typ, v := range raw {
		switch typ {
		case "S":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberS{Value: s}, err
		case "N":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberN{Value: s}, err
		case "B":
			b, err := decodeBinary(v)
			return &types.AttributeValueMemberB{Value: b}, err
		case "BOOL":
			var x bool
			err := json.Unmarshal(v, &x)
			return &types.AttributeValueMemberBOOL{Value: x}, err
		case "NULL":
			var x bool
			err := json.Unmarshal(v, &x)
			return &types.AttributeValueMemberNULL{Value: x}, err
		case "SS", "NS":
			var ss []string
			if err := json.Unmarshal(v, &ss); err != nil {
				return nil, err
			}
			if typ == "SS" {
				return &types.AttributeValueMemberSS{Value: ss}, nil
			}
			return &types.AttributeValueMemberNS{Value: ss}, nil
		case "BS":
			var raws []json.RawMessage
			if err := json.Unmarshal(v, &raws); err != nil {
				return nil, err
			}
			bs := make([][]byte, len(raws))
			for i, r := range raws {
				b, err := decodeBinary(r)
				if err != nil {
					return nil, err
				}
				bs[i] = b
			}
			return &types.AttributeValueMemberBS{Value: bs}, nil
		case "M":
			m, err := decodeItem(v, depth+1)
			if err != nil {
				return nil, err
			}
			if m == nil {
				m = map[string]types.AttributeValue{}
			}
			return &types.AttributeValueMemberM{Value: m}, nil
		case "L":
			var raws []json.RawMessage
			if err := json.Unmarshal(v, &raws); err != nil {
				return nil, err
			}
			l := make([]types.AttributeValue, len(raws))
			for i, r := range raws {
				e, err := decodeValue(r, depth+1)
				if err != nil {
					return nil, err
				}
				l[i] = e
			}
			return &types.AttributeValueMemberL{Value: l}, nil
		default:
			return nil, fmt.Errorf("unknown attribute type %q", typ)
		}
	}
	return nil, errors.New("empty attribute value")
}

func decodeBinary(v json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}

// The requests of the operations the front charges: only the fields it
// reads.
type (
	getRequest struct {
		TableName            string
		Key                  item
		ConsistentRead       bool
		ProjectionExpression string
		AttributesToGet      []string
	}
	writeRequest struct { // PutItem, UpdateItem, DeleteItem
		TableName string
		Key       item
		Item      item
	}
	queryRequest struct { // Query, Scan
		TableName      string
		ConsistentRead bool
	}
	batchGetRequest struct {
		RequestItems map[string]struct {
			Keys           []item
			ConsistentRead bool
		}
	}
	batchWriteRequest struct {
		RequestItems map[string][]struct {
			PutRequest    *struct{ Item item }
			DeleteRequest *struct{ Key item }
		}
	}
	transactGetRequest struct {
		TransactItems []struct {
			Get struct {
				TableName string
				Key       item
			}
		}
	}
	transactWriteRequest struct {
		TransactItems []struct {
			Put                            *tableItem
			Update, Delete, ConditionCheck *tableKey
		}
	}
	tableItem struct {
		TableName string
		Item      item
	}
	tableKey struct {
		TableName string
		Key       item
	}
	tableRequest struct { // CreateTable, UpdateTable, DeleteTable
		TableName             string
		BillingMode           string
		ProvisionedThroughput *struct{ ReadCapacityUnits, WriteCapacityUnits int }
	}
)

// consumed is one ConsumedCapacity of an answer.
type consumed struct {
	TableName     string
	CapacityUnits float64
	// ReadCapacityUnits and WriteCapacityUnits split a transaction's.
	ReadCapacityUnits, WriteCapacityUnits *float64
}

// parseConsumed reads an answer's ConsumedCapacity, one object or a list
// of them; ok is false when the answer has none.
func parseConsumed(body []byte) (cs []consumed, ok bool) {
	var ans struct{ ConsumedCapacity json.RawMessage }
	if json.Unmarshal(body, &ans) != nil || len(ans.ConsumedCapacity) == 0 || string(ans.ConsumedCapacity) == "null" {
		return nil, false
	}
	if ans.ConsumedCapacity[0] == '[' {
		if json.Unmarshal(ans.ConsumedCapacity, &cs) != nil {
			return nil, false
		}
		return cs, true
	}
	var c consumed
	if json.Unmarshal(ans.ConsumedCapacity, &c) != nil {
		return nil, false
	}
	return []consumed{c}, true
}

// errorType returns the short name of an error answer's __type
// (ConditionalCheckFailedException from
// com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException).
func errorType(body []byte) string {
	var e struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	if i := bytes.LastIndexByte([]byte(e.Type), '#'); i >= 0 {
		return e.Type[i+1:]
	}
	return e.Type
}

// encodeItem encodes an item in the API's JSON.
func encodeItem(it item) (map[string]any, error) {
	m := make(map[string]any, len(it))
	for name, v := range it {
		e, err := encodeValue(v)
		if err != nil {
			return nil, err
		}
		m[name] = e
	}
	return m, nil
}

func encodeValue(v types.AttributeValue) (any, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]string{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]string{"N": v.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string][]byte{"B": v.Value}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]bool{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]bool{"NULL": v.Value}, nil
	case *types.AttributeValueMemberSS:
		return map[string][]string{"SS": v.Value}, nil
	case *types.AttributeValueMemberNS:
		return map[string][]string{"NS": v.Value}, nil
	case *types.AttributeValueMemberBS:
		return map[string][][]byte{"BS": v.Value}, nil
	case *types.AttributeValueMemberM:
		m, err := encodeItem(v.Value)
		return map[string]any{"M": m}, err
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			x, err := encodeValue(e)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return map[string]any{"L": l}, nil
	}
	return nil, fmt.Errorf("unknown attribute value %T", v)
}
