package dynamo_test

import (
	"context"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// FuzzAttributes: any canonical attributes convert to AttributeValues and
// back to the same value (members in any order), and converting the result
// again changes nothing.
func FuzzAttributes(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"s":"x","n":-1.5e-3,"b":true,"z":null,"l":[1,[2,{}]],"m":{"k":"v"}}`,
		`{"big":12345678901234567890123456789012345678}`, `{"tiny":1E-130}`, `{"u":"😀\u0000\"\\"}`,
		`{"deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := items.Canonicalize(data)
		if err != nil {
			return
		}
		av, err := dynamo.AttributesToAV(a)
		if err != nil {
			t.Fatalf("canonical attributes %s do not convert: %v", a, err)
		}
		if dynamo.ItemSize(av.Value) < 0 {
			t.Fatal("negative size")
		}
		back, err := dynamo.AVToAttributes(av.Value)
		if err != nil {
			t.Fatalf("%s: converted back: %v", a, err)
		}
		if !sameJSON(t, back, a) {
			t.Fatalf("round trip of %s: got %s", a, back)
		}
		if again := roundTrip(t, back); string(again) != string(back) {
			t.Fatalf("second round trip of %s: got %s", back, again)
		}
	})
}

// FuzzNumberSize: every number's size is at least 1 and at most its
// canonical text's length plus 2, and the same for every spelling.
func FuzzNumberSize(f *testing.F) {
	for _, s := range []string{"0", "1", "-1.5", "1E-130", "12345678901234567890123456789012345678", "1.50e+3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := items.NormalizeNumber(s)
		if err != nil {
			return
		}
		got, canon := dynamo.NumberSize(s), dynamo.NumberSize(n)
		if got != canon {
			t.Fatalf("NumberSize(%s) = %d, but NumberSize(%s) = %d", s, got, n, canon)
		}
		if canon < 1 || canon > 2+(items.MaxNumberDigits+1)/2+1 {
			t.Fatalf("NumberSize(%s) = %d, out of range", n, canon)
		}
	})
}

// FuzzOpenURL: opening a store URL with DynamoDB's backend never panics,
// and opens what store.Parse reads as a DynamoDB URL, with its table.
func FuzzOpenURL(f *testing.F) {
	// Credentials and config from nowhere but here: no files, no metadata
	// service, nothing sent anywhere (OpenURL makes no call).
	f.Setenv("AWS_ACCESS_KEY_ID", "fuzz")
	f.Setenv("AWS_SECRET_ACCESS_KEY", "fuzz")
	f.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	f.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	f.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, s := range []string{
		"dynamodb://items", "dynamodb://items?endpoint=http://127.0.0.1:8000&region=eu-west-1&consistent=true",
		"dynamodb://a.b-c_d?consistent=false", "dynamodb://x", "dynamodb://items?endpoint=ftp://x",
		"dynamodb://items?bogus=1", "sqlite://x", "dynamodb://user@items", "dynamodb://items/path",
		"dynamodb://items?region=", "dynamodb://items?consistent=maybe", "%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := store.Open(context.Background(), raw, dynamo.Backend())
		u, perr := store.Parse(raw)
		if want := perr == nil && u.Scheme == store.SchemeDynamoDB; (err == nil) != want {
			t.Fatalf("Open(%q) = %v but Parse = %+v, %v", raw, err, u, perr)
		}
		if err != nil {
			return
		}
		if got := s.(*dynamo.Store).Table(); got != u.Table {
			t.Fatalf("table %q, want %q", got, u.Table)
		}
	})
}
