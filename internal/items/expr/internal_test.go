package expr

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestJavaHash(t *testing.T) {
	// Values of Java's String.hashCode.
	for s, want := range map[string]int32{"": 0, "a": 97, "hello": 99162322, "Aa": 2112, "BB": 2112,
		"polygenelubricants": -2147483648, "\U0001F600": 1772899, "é": 233} {
		if got := javaHash(s); got != want {
			t.Errorf("javaHash(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestHashOrder(t *testing.T) {
	// A Java HashMap of path elements a and b, in that order, iterates b
	// first: DynamoDB then names [b] as the path a second a overlaps.
	kids := []pelem{{kind: pMap, name: "a"}, {kind: pMap, name: "b"}}
	order := hashOrder(len(kids), tableSize(len(kids)), func(i int) int32 { return elemHash(kids[i]) })
	if !slices.Equal(order, []int{1, 0}) {
		t.Errorf("order %v, want [1 0]", order)
	}
	// A table grows past three quarters full.
	for n, want := range map[int]int{0: 16, 12: 16, 13: 32, 24: 32, 25: 64} {
		if got := tableSize(n); got != want {
			t.Errorf("tableSize(%d) = %d, want %d", n, got, want)
		}
	}
	// A HashSet of keys iterates them by bucket.
	if got := setOrder([]string{":c", ":b", ":a"}, 3); !slices.Equal(got, []string{":a", ":b", ":c"}) {
		t.Errorf("setOrder %v", got)
	}
}

func TestDecimals(t *testing.T) {
	for _, c := range []struct {
		a, b, sum, diff string
		cmp             int
	}{
		{"1", "2", "3", "-1", -1},
		{"0.1", "0.2", "0.3", "-0.1", -1},
		{"1.10", "1.1", "2.2", "0", 0},
		{"1e3", "-1000", "0", "2000", 1},
		{"-0.0", "0", "0", "0", 0},
		{"12345678901234567890", "1", "12345678901234567891", "12345678901234567889", 1},
		{"-5", "-4.999", "-9.999", "-0.001", -1},
		{"1e-130", "1e-130", "0." + strings.Repeat("0", 129) + "2", "0", 0},
	} {
		a, ok1 := parseDecimal(c.a)
		b, ok2 := parseDecimal(c.b)
		if !ok1 || !ok2 {
			t.Fatalf("%s or %s does not parse", c.a, c.b)
		}
		if got := addDecimals(a, b, false).String(); got != c.sum {
			t.Errorf("%s + %s = %s, want %s", c.a, c.b, got, c.sum)
		}
		if got := addDecimals(a, b, true).String(); got != c.diff {
			t.Errorf("%s - %s = %s, want %s", c.a, c.b, got, c.diff)
		}
		if got := cmpDecimal(a, b); got != c.cmp {
			t.Errorf("cmp(%s, %s) = %d, want %d", c.a, c.b, got, c.cmp)
		}
		if got := cmpNumbers([]byte(c.a), []byte(c.b)); got != c.cmp {
			t.Errorf("cmpNumbers(%s, %s) = %d, want %d", c.a, c.b, got, c.cmp)
		}
		if got := cmpNumbers([]byte(a.String()), []byte(b.String())); got != c.cmp {
			t.Errorf("cmpNumbers(%s, %s) = %d, want %d", a, b, got, c.cmp)
		}
	}
	for s, want := range map[string]string{"1e126": msgOverflow, "9.99e125": "", "1e-131": msgUnderflow,
		"1e-130": "", "12345678901234567890123456789012345678": "", "123456789012345678901234567890123456789": msgPrecision} {
		d, _ := parseDecimal(s)
		if got := d.check(); got != want {
			t.Errorf("check(%s) = %q, want %q", s, got, want)
		}
	}
	for _, bad := range []string{"", "-", "1.", ".1", "1e", "01x", "NaN", "1e+"} {
		if _, ok := parseDecimal(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestLexer(t *testing.T) {
	type tk struct {
		kind tokKind
		text string
	}
	for src, want := range map[string][]tk{
		"a<>b":       {{tID, "a"}, {tNe, "<>"}, {tID, "b"}, {tEOF, ""}},
		"SeT setx":   {{tSet, "SeT"}, {tID, "setx"}, {tEOF, ""}},
		"007":        {{tIndex, "0"}, {tIndex, "0"}, {tIndex, "7"}, {tEOF, ""}},
		"#a1 :_ # :": {{tName, "#a1"}, {tValue, ":_"}, {tUnknown, "#"}, {tUnknown, ":"}, {tEOF, ""}},
		"<=>=ü\t\n":  {{tLe, "<="}, {tGe, ">="}, {tUnknown, "ü"}, {tEOF, ""}},
	} {
		var got []tk
		for _, t := range lex(src) {
			got = append(got, tk{t.kind, src[t.start:t.end]})
		}
		if !slices.Equal(got, want) {
			t.Errorf("lex(%q) = %v, want %v", src, got, want)
		}
	}
	if n := utf16Len("a\U0001F600é"); n != 4 {
		t.Errorf("utf16Len = %d, want 4", n)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newParseCache(4)
	for i := range 10 {
		c.put(cacheKey{gCondition, fmt.Sprint("a = :v", i)}, &parsed{})
	}
	if n := c.len(); n != 4 {
		t.Fatalf("cache holds %d, want 4", n)
	}
	if c.get(cacheKey{gCondition, "a = :v9"}) == nil || c.get(cacheKey{gCondition, "a = :v0"}) != nil {
		t.Error("the cache keeps the oldest entries, want the newest")
	}
	off := newParseCache(0)
	off.put(cacheKey{gCondition, "a"}, &parsed{})
	if off.len() != 0 {
		t.Error("a cache of size 0 keeps entries")
	}
}

func TestRawJSON(t *testing.T) {
	doc := []byte(`{"a\"b":1,"c":[1,{"d":"x\\y"},[]],"e":"\u00e9"}`)
	if v := member(doc, `a"b`); string(v) != "1" {
		t.Errorf("member with an escaped name: %s", v)
	}
	if v := elemAt(member(doc, "c"), 1); string(v) != `{"d":"x\\y"}` {
		t.Errorf("elemAt: %s", v)
	}
	if got := unquote(member(elemAt(member(doc, "c"), 1), "d")); got != `x\y` {
		t.Errorf("unquote: %q", got)
	}
	for _, bad := range []string{`{`, `{"a"`, `{"a":`, `[1,`, `{"a":"x}`, `x`, ``} {
		member([]byte(bad), "a")
		elemAt([]byte(bad), 0)
		sizeOf([]byte(bad))
		attrSize([]byte(bad))
	}
}
