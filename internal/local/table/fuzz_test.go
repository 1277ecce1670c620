package table

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeItem feeds the front's decoder of attribute values: it never
// fails on any input but by an error, an item it decodes has a size, and
// encoding the item and decoding it again keeps its size.
func FuzzDecodeItem(f *testing.F) {
	for _, s := range []string{
		`{"tenant":{"S":"t"},"id":{"S":"a"}}`,
		`{"n":{"N":"-123.45"},"b":{"B":"AQID"},"ok":{"BOOL":true},"z":{"NULL":true}}`,
		`{"m":{"M":{"a":{"L":[{"S":"x"},{"N":"1e10"},{"M":{}}]}}}}`,
		`{"ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AQ==","Ag=="]}}`,
		`{"x":{"S":"a","N":"1"}}`, `{"x":{"Q":"a"}}`, `{"x":{"B":"%%%"}}`, `null`, `[]`, `{"x":{"L":[[]]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeItem(b, 0)
		if err != nil {
			return
		}
		size := item(it).size()
		if size < 0 {
			t.Fatalf("%s: size %d", b, size)
		}
		enc, err := encodeItem(it)
		if err != nil {
			t.Fatalf("%s: encode: %v", b, err)
		}
		again, err := json.Marshal(enc)
		if err != nil {
			t.Fatalf("%s: marshal: %v", b, err)
		}
		back, err := decodeItem(again, 0)
		if err != nil {
			t.Fatalf("%s: decode of %s: %v", b, again, err)
		}
		if got := item(back).size(); got != size {
			t.Fatalf("%s: size %d, after a round trip %d", b, size, got)
		}
	})
}

// FuzzPlan feeds the front's reading of requests: any body of any charged
// operation either is not charged or has estimates of at least the
// minimum read, and asking for and dropping the consumed capacity keeps a
// body valid JSON.
func FuzzPlan(f *testing.F) {
	for _, s := range []string{
		`{"TableName":"t","Key":{"id":{"S":"a"}},"ConsistentRead":true}`,
		`{"TableName":"t","Item":{"id":{"S":"a"},"d":{"S":"xxxxxxxx"}}}`,
		`{"RequestItems":{"t":{"Keys":[{"id":{"S":"a"}},{"id":{"S":"b"}}]},"u":{"Keys":[]}}}`,
		`{"RequestItems":{"t":[{"PutRequest":{"Item":{"id":{"S":"a"}}}},{"DeleteRequest":{"Key":{"id":{"S":"b"}}}}]}}`,
		`{"TransactItems":[{"Put":{"TableName":"t","Item":{"id":{"S":"a"}}}},{"ConditionCheck":{"TableName":"u","Key":{}}}]}`,
		`{"TransactItems":[{"Get":{"TableName":"t","Key":{"id":{"S":"a"}}}}]}`,
		`{"TableName":"t","ReturnConsumedCapacity":"NONE"}`, `{}`, `[]`, `{"TableName":5}`,
	} {
		for _, op := range []string{"GetItem", "PutItem", "Query", "BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems"} {
			f.Add(op, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if p := newPlan(op, body); p != nil {
			for _, n := range p.needs {
				if !(n.units >= 0.5) {
					t.Fatalf("%s %s: estimate %+v", op, body, n)
				}
			}
		}
		asked, added := askCapacity(body)
		if added && !json.Valid(asked) {
			t.Fatalf("%s: asked %s is not JSON", body, asked)
		}
		if d := dropCapacity(asked); json.Valid(asked) && !json.Valid(d) {
			t.Fatalf("%s: dropped %s is not JSON", asked, d)
		}
	})
}
