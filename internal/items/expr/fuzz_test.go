package expr

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/surgehq/surge/internal/items"
)

// The parsers' fuzz targets: no input panics or takes long, every error is
// a message for people, and what parses prints as an expression that
// parses to the same tree. What parses is then bound (with every #name and
// :value it uses defined) and evaluated on an item, which must not panic
// either.

// parseBound is how long one input may take: generous, since the fuzzing
// engine's workers share the machine; an input that takes it has gone
// quadratic or worse.
const parseBound = 2 * time.Second

var conditionSeeds = []string{
	"a = :v", "#a.b[1].c <> :v", "a BETWEEN :x AND :y", "a IN (:x, :y, b.c)", "NOT a = :v AND b < c OR d >= :w",
	"attribute_exists(a) AND attribute_not_exists(b.c[0])", "attribute_type(a, :t)", "begins_with(a, :p)",
	"contains(a, :v)", "size(a) > :n", "(a = :v)", "((a = :v))", "(a) = :v", "((a)) = :v", "a = ((:v))",
	"f(((a))) ]", "a > 4", "a.:v = b", "NOT NOT a = b", "(NOT a = b) OR (c = d AND e = f)", "size((a)) = :v",
	"a = :v b", "set = :v", "_a = :v", "ü = :v", "a[99999999999] = :v", "a < size(size(b))", "(f(a)) = b",
	"", "   ", "(((", "a ==", "a<>b<>c", "a[0][1][2].b.c = :v",
}

var updateSeeds = []string{
	"SET a = :v", "SET a = a + :v, b = :w - b", "REMOVE a, b.c, d[1]", "ADD a :v DELETE b :w",
	"SET a = list_append(if_not_exists(a, :e), :v)", "SET a = (b + c)", "SET a = ((b + c))", "SET a = (b) + c",
	"set a = :v remove b add c :w", "SET a = :v SET b = :w", "SET a[10] = :v, a[2] = :w", "SET a.#b.:c = :v",
	"SET", "SET a = ", "SET _a = :v", "SET a = b + c + d", "SET a = if_not_exists(b, 0)", "REMOVE",
}

var projectionSeeds = []string{
	"a", "a, b.c, d[1].e", "#a.#b[3]", "a, a", "a.b, a[1]", "a.:v", "a,", "(a)", "a-b", "", "a" + strings.Repeat(".b", 40),
}

// placeholders defines every #name and :value of src: #x is "x" and :x is
// one of a few values.
func placeholders(src string) (map[string]string, map[string][]byte) {
	names, values := map[string]string{}, map[string][]byte{}
	vals := [][]byte{[]byte(`1`), []byte(`"s"`), []byte(`[1,"a"]`), []byte(`{"k":true}`), []byte(`null`), []byte(`"N"`)}
	for _, t := range lex(src) {
		text := src[t.start:t.end]
		switch t.kind {
		case tName:
			names[text] = text[1:]
		case tValue:
			values[text] = vals[len(values)%len(vals)]
		}
	}
	if len(names) == 0 {
		names = nil
	}
	if len(values) == 0 {
		values = nil
	}
	return names, values
}

const fuzzItem = `{"a":1,"b":{"c":[1,"s",{"k":true}],"d":"x"},"c":[[1],[2]],"d":"abc","e":null,"f":true,"id":"i"}`

// checkErr fails unless err is a contract error with a message for people.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if code := items.ErrorCode(err); code != items.EINVALID {
		t.Fatalf("error %v: code %q, want %q", err, code, items.EINVALID)
	}
	if msg := items.ErrorMessage(err); msg == "" || !utf8.ValidString(msg) {
		t.Fatalf("message %q is not for people", msg)
	}
}

func timed(t *testing.T, src string, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if d := time.Since(start); d > parseBound {
		t.Fatalf("%q took %v", src, d)
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range conditionSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		timed(t, src, func() {
			n, err := parseCondition(src)
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty message")
				}
				return
			}
			printed := n.String()
			m, err := parseCondition(printed)
			if err != nil {
				t.Fatalf("%q printed as %q, which does not parse: %v", src, printed, err)
			}
			if !reflect.DeepEqual(n, m) {
				t.Fatalf("%q printed as %q, which parses to another tree", src, printed)
			}
			names, values := placeholders(src)
			ex, err := Compile(Scan, &Request{FilterExpression: &src, ExpressionAttributeNames: names, ExpressionAttributeValues: values}, Options{Key: []string{"id"}})
			if err != nil {
				checkErr(t, err)
				return
			}
			ex.Filter.Match(items.Attributes(fuzzItem))
			ex.Filter.Match(nil)
		})
	})
}

func FuzzParseUpdate(f *testing.F) {
	for _, s := range updateSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		timed(t, src, func() {
			secs, err := parseUpdate(src)
			if err != nil {
				return
			}
			printed := printUpdate(secs)
			again, err := parseUpdate(printed)
			if err != nil {
				t.Fatalf("%q printed as %q, which does not parse: %v", src, printed, err)
			}
			if !reflect.DeepEqual(secs, again) {
				t.Fatalf("%q printed as %q, which parses to another tree", src, printed)
			}
			names, values := placeholders(src)
			ex, err := Compile(UpdateItem, &Request{UpdateExpression: &src, ExpressionAttributeNames: names, ExpressionAttributeValues: values}, Options{Key: []string{"id"}})
			if err != nil {
				checkErr(t, err)
				return
			}
			for _, old := range []items.Attributes{items.Attributes(fuzzItem), nil} {
				for _, rv := range []ReturnValues{ReturnAllNew, ReturnUpdatedOld, ReturnUpdatedNew} {
					up, err := ex.Update.Apply(old, items.Attributes(`{"id":"i"}`), rv)
					if err != nil {
						checkErr(t, err)
						continue
					}
					if _, err := items.Canonicalize(up.Item); err != nil && !strings.Contains(err.Error(), "nest") && !strings.Contains(err.Error(), "range") && !strings.Contains(err.Error(), "digits") {
						t.Fatalf("%q made %s, which is not an item: %v", src, up.Item, err)
					}
				}
			}
		})
	})
}

func FuzzParseProjection(f *testing.F) {
	for _, s := range projectionSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		timed(t, src, func() {
			paths, err := parseProjection(src)
			if err != nil {
				return
			}
			printed := printProjection(paths)
			again, err := parseProjection(printed)
			if err != nil {
				t.Fatalf("%q printed as %q, which does not parse: %v", src, printed, err)
			}
			if !reflect.DeepEqual(paths, again) {
				t.Fatalf("%q printed as %q, which parses to another tree", src, printed)
			}
			names, _ := placeholders(src)
			ex, err := Compile(GetItem, &Request{ProjectionExpression: &src, ExpressionAttributeNames: names}, Options{})
			if err != nil {
				checkErr(t, err)
				return
			}
			out := ex.Projection.Apply(items.Attributes(fuzzItem))
			if _, err := items.Canonicalize(out); err != nil {
				t.Fatalf("%q projected %s: %v", src, out, err)
			}
		})
	})
}

func FuzzKeyCondition(f *testing.F) {
	for _, s := range []string{"pk = :p", "pk = :p AND sk > :s", ":p = pk AND begins_with(sk, :s)", "pk = :p AND sk BETWEEN :a AND :b",
		"pk = :p OR sk = :s", "sk = :s", "pk = :p AND sk.x = :s", "pk = :p AND size(sk) = :s", "pk = :p AND pk = :p"} {
		f.Add(s)
	}
	schema := KeySchema{Partition: "pk", Sort: "sk"}
	f.Fuzz(func(t *testing.T, src string) {
		timed(t, src, func() {
			n, err := parseCondition(src)
			if err != nil {
				return
			}
			if m, err := parseCondition(n.String()); err != nil || !reflect.DeepEqual(n, m) {
				t.Fatalf("%q printed as %q, which parses to another tree (%v)", src, n.String(), err)
			}
			_, values := placeholders(src)
			for k := range values {
				values[k] = []byte(`"s"`)
			}
			ex, err := Compile(Query, &Request{KeyConditionExpression: &src, ExpressionAttributeValues: values}, Options{KeySchema: schema})
			if err != nil {
				checkErr(t, err)
				return
			}
			ex.KeyCondition.Match(items.Attributes(`{"pk":"s","sk":"s"}`))
			ex.KeyCondition.Match(nil)
		})
	})
}

// FuzzRequestValues checks the payload decoder and the values' canonical
// form: it is the form items keep, so that equality is equality of bytes.
func FuzzRequestValues(f *testing.F) {
	for _, s := range []string{`{"ExpressionAttributeValues":{":a":1.10,":b":"\u00e9\"","c":{"z":1,"a":[1e3,-0.0]}}}`,
		`{"ExpressionAttributeValues":{":a":{"":1}}}`, `{"ExpressionAttributeValues":{":a":1e999}}`, `{"UpdateExpression":"SET a = :a"}`,
		`{"ExpressionAttributeNames":{"#a":"x","#b":""}}`, `[`, `{"ExpressionAttributeValues":{":a":[[[[[[1]]]]]]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := ParseRequest(payload)
		if err != nil {
			checkErr(t, err)
			return
		}
		for k, v := range r.ExpressionAttributeValues {
			got, msg := canonical(v)
			want, err := items.Canonicalize(append(append([]byte(`{"v":`), v...), '}'))
			if msg != "" || err != nil {
				continue
			}
			want = want[5 : len(want)-1]
			if !bytes.Equal(got, want) {
				t.Fatalf("value %s of %s: canonical %s, items keep %s", v, k, got, want)
			}
		}
	})
}

// FuzzCompareNumbers checks the plain-notation comparison against the
// exact one.
func FuzzCompareNumbers(f *testing.F) {
	for _, p := range [][2]string{{"1", "2"}, {"-0.5", "0"}, {"10", "9.99"}, {"0.001", "0.0010"}, {"-12", "-3"}, {"1e3", "999"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		da, ok1 := parseDecimal(a)
		db, ok2 := parseDecimal(b)
		if !ok1 || !ok2 {
			return
		}
		want := cmpDecimal(da, db)
		if got := cmpNumbers([]byte(da.String()), []byte(db.String())); got != want {
			t.Fatalf("cmpNumbers(%s, %s) = %d, want %d", da, db, got, want)
		}
		if got := cmpNumbers([]byte(a), []byte(b)); got != want {
			t.Fatalf("cmpNumbers(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}

// FuzzEvaluate evaluates fixed expressions on arbitrary item text: items
// reach the evaluator canonical, but a malformed one must not panic it.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{fuzzItem, `{}`, `{"a":`, `{"a":[1,{"b":"\"}]}`, `[`, `{"a":{"b":{"c":[[[]]]}}}`, `{"b":{"c":"x`, ``} {
		f.Add([]byte(s))
	}
	vals := map[string][]byte{":n": []byte("1"), ":s": []byte(`"s"`), ":l": []byte(`[1]`)}
	cond, err := Compile(Scan, &Request{FilterExpression: ptr("a = :n OR contains(b.c, :s) OR size(d) > :n OR begins_with(d, :s) OR b.c[1] IN (:s, :l) OR c[0] < :n"),
		ProjectionExpression: ptr("a, b.c[2].k, c[1]"), ExpressionAttributeValues: vals}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	upd, err := Compile(UpdateItem, &Request{UpdateExpression: ptr("SET a = a + :n, b.c[5] = :s, c = list_append(c, :l), x = if_not_exists(x, :s) REMOVE b.d, c[0] ADD z :n")}, Options{})
	if err == nil {
		f.Fatal("the update should not compile without its values")
	}
	upd, err = Compile(UpdateItem, &Request{UpdateExpression: ptr("SET a = a + :n, b.c[5] = :s, c = list_append(c, :l), x = if_not_exists(x, :s) REMOVE b.d, d[0]"),
		ExpressionAttributeValues: vals}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, item []byte) {
		cond.Filter.Match(item)
		cond.Projection.Apply(item)
		if _, err := upd.Update.Apply(item, items.Attributes(`{"id":"i"}`), ReturnUpdatedNew); err != nil {
			checkErr(t, err)
		}
	})
}
