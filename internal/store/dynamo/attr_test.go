package dynamo_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// sameJSON reports whether two JSON texts hold the same value, members in
// any order, numbers compared by their text.
func sameJSON(t testing.TB, got, want []byte) bool {
	t.Helper()
	var g, w any
	for _, x := range []struct {
		b []byte
		v *any
	}{{got, &g}, {want, &w}} {
		d := json.NewDecoder(bytes.NewReader(x.b))
		d.UseNumber()
		if err := d.Decode(x.v); err != nil {
			t.Fatalf("decode %s: %v", x.b, err)
		}
	}
	return reflect.DeepEqual(g, w)
}

func roundTrip(t testing.TB, a items.Attributes) items.Attributes {
	t.Helper()
	av, err := dynamo.AttributesToAV(a)
	if err != nil {
		t.Fatalf("to AttributeValue: %v", err)
	}
	back, err := dynamo.AVToAttributes(av.Value)
	if err != nil {
		t.Fatalf("from AttributeValue: %v", err)
	}
	return back
}

func TestRoundTrip(t *testing.T) {
	deep := strings.Repeat(`{"d":`, items.MaxDepth-1) + `1` + strings.Repeat(`}`, items.MaxDepth-1)
	for _, js := range []string{
		`{}`,
		`{"s":"text","e":"","t":true,"f":false,"z":null}`,
		`{"big":12345678901234567890123456789012345678,"neg":-12345678901234567890123456789012345678}`,
		`{"tiny":1E-130,"ntiny":-1e-130,"huge":9.9999999999999999999999999999999999999E+125}`,
		`{"frac":0.1,"f2":123.456,"exp":1.5e3,"zero":-0,"z2":0.000}`,
		`{"l":[],"m":{},"mixed":[1,"a",[true,null],{"k":{"k":[]}}]}`,
		`{"unicode":"héllo wörld ✓ 😀","😀":"emoji name","esc":"quote \" backslash \\ tab \t nul \u0000 line\u2028"}`,
		`{"d":` + deep + `}`,
	} {
		a, err := items.Canonicalize([]byte(js))
		if err != nil {
			t.Fatalf("canonicalize %s: %v", js, err)
		}
		back := roundTrip(t, a)
		if !sameJSON(t, back, a) {
			t.Errorf("round trip of %s: got %s", a, back)
		}
		if again := roundTrip(t, back); !bytes.Equal(again, back) {
			t.Errorf("second round trip of %s: got %s, want the same bytes", back, again)
		}
	}
}

// TestNumbersExact: numbers keep every digit, in canonical text, both ways;
// and an engine's other spelling of a number reads back canonical.
func TestNumbersExact(t *testing.T) {
	for in, want := range map[string]string{
		"12345678901234567890123456789012345678":   "12345678901234567890123456789012345678",
		"0.12345678901234567890123456789012345678": "0.12345678901234567890123456789012345678",
		"1E-130":           "0." + strings.Repeat("0", 129) + "1",
		"1E+125":           "1" + strings.Repeat("0", 125),
		"-2.50":            "-2.5",
		"1.5e3":            "1500",
		"9007199254740993": "9007199254740993", // not a float64
	} {
		a, err := items.Canonicalize([]byte(`{"n":` + in + `}`))
		if err != nil {
			t.Fatalf("canonicalize %s: %v", in, err)
		}
		av, err := dynamo.AttributesToAV(a)
		if err != nil {
			t.Fatal(err)
		}
		if n := av.Value["n"].(*types.AttributeValueMemberN).Value; n != want {
			t.Errorf("%s: stored as N %s, want %s", in, n, want)
		}
		if back := roundTrip(t, a); string(back) != `{"n":`+want+`}` {
			t.Errorf("%s: read back as %s", in, back)
		}
	}
	// dynalite and others may answer in exponent form.
	got, err := dynamo.AVToAttributes(map[string]types.AttributeValue{
		"a": &types.AttributeValueMemberN{Value: "1e-130"},
		"b": &types.AttributeValueMemberN{Value: "1.50E+2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":0.` + strings.Repeat("0", 129) + `1,"b":150}`; string(got) != want {
		t.Errorf("engine spellings: got %s, want %s", got, want)
	}
}

// TestConsoleTypes: sets and binary values added by hand read as arrays
// and base64 strings.
func TestConsoleTypes(t *testing.T) {
	got, err := dynamo.AVToAttributes(map[string]types.AttributeValue{
		"ss": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns": &types.AttributeValueMemberNS{Value: []string{"1", "2.50"}},
		"b":  &types.AttributeValueMemberB{Value: []byte("hi")},
		"bs": &types.AttributeValueMemberBS{Value: [][]byte{[]byte("hi")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":"aGk=","bs":["aGk="],"ns":[1,2.5],"ss":["a","b"]}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := dynamo.AVToAttributes(map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "x"}}); err == nil {
		t.Error("a malformed number converted without error")
	}
}

// TestItemSize checks sizes computed by the rules of the DynamoDB
// developer guide ("Item sizes and formats"), worked by hand.
func TestItemSize(t *testing.T) {
	S := func(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
	N := func(s string) types.AttributeValue { return &types.AttributeValueMemberN{Value: s} }
	for _, c := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		// String: name bytes + UTF-8 bytes.
		{"string", map[string]types.AttributeValue{"name": S("Ann")}, 4 + 3},
		{"utf8 string", map[string]types.AttributeValue{"név": S("😀é")}, 4 + 4 + 2},
		// Null and Boolean: name + 1.
		{"bool and null", map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{Value: true}, "nul": &types.AttributeValueMemberNULL{Value: true}}, 1 + 1 + 3 + 1},
		// Binary: raw bytes.
		{"binary", map[string]types.AttributeValue{"bin": &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 3, 4}}}, 3 + 5},
		// List or Map: 3 bytes + elements, 1 byte of overhead each.
		{"empty list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{}}, 1 + 3},
		{"empty map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{}}, 1 + 3},
		{"list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{S("ab"), S("c")}}}, 1 + 3 + (1 + 2) + (1 + 1)},
		{"map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"key": S("val"), "k": &types.AttributeValueMemberNULL{Value: true}}}}, 1 + 3 + (1 + 3 + 3) + (1 + 1 + 1)},
		// Number: about 1 byte per two significant digits, plus 1.
		{"number", map[string]types.AttributeValue{"n": N("123")}, 1 + 3},
		{"38 digits", map[string]types.AttributeValue{"n": N("12345678901234567890123456789012345678")}, 1 + 20},
	} {
		if got := dynamo.ItemSize(c.item); got != c.want {
			t.Errorf("%s: got %d bytes, want %d", c.name, got, c.want)
		}
	}
}

// TestNumberSize pins the exact number sizes: base-100 digits aligned on
// the decimal point, an exponent byte, and one more byte when negative.
func TestNumberSize(t *testing.T) {
	for n, want := range map[string]int{
		"0": 1, "-0": 1, "0.000": 1,
		"1": 2, "9": 2, "10": 2, "100": 2, "1000": 2, "1E+125": 2, "1E-130": 2,
		"12": 2, "123": 3, "1234": 3, "12345": 4,
		"1.2": 3, "0.12": 2, "0.012": 3, "1.23": 3,
		"-1": 3, "-12": 3, "-1.2": 4,
		"1500": 2, "1501": 3,
		"12345678901234567890123456789012345678":  20,
		"1.2345678901234567890123456789012345678": 21,
		"1.5e3": 2, "15E2": 2,
	} {
		if got := dynamo.NumberSize(n); got != want {
			t.Errorf("NumberSize(%s): got %d, want %d", n, got, want)
		}
	}
}
