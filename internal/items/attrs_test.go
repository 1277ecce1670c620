package items_test

import (
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
)

func TestParseBody(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		b, err := items.ParseBody([]byte(` {"name" : "a\u0041", "id":"x1", "version":9, "n":1.50e1, "big":12345678901234567890,
			"nested":{"k":[1, 2.0, {"z":null}]}, "createdAt":"x", "updatedAt":1} `))
		if err != nil {
			t.Fatal(err)
		}
		want := `{"big":12345678901234567890,"n":15,"name":"aA","nested":{"k":[1,2,{"z":null}]}}`
		if got := string(b.Attrs); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		if !b.HasID || b.ID != "x1" {
			t.Errorf("got id %q %v, want x1 true", b.ID, b.HasID)
		}
	})
	bad := map[string]string{
		"empty":         ``,
		"spaces":        `   `,
		"array":         `[1]`,
		"string":        `"x"`,
		"null":          `null`,
		"truncated":     `{"a":1`,
		"trailing":      `{"a":1} {}`,
		"duplicate":     `{"a":1,"a":2}`,
		"nested dup":    `{"a":{"b":1,"b":2}}`,
		"bad utf8":      "{\"a\":\"\xff\"}",
		"empty name":    `{"":1}`,
		"nested empty":  `{"a":{"":1}}`,
		"id not string": `{"id":5}`,
		"big number":    `{"a":1e200}`,
		"too deep":      `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		"nan":           `{"a":NaN}`,
		"single quotes": `{'a':1}`,
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := items.ParseBody([]byte(in))
			if items.ErrorCode(err) != items.EINVALID {
				t.Fatalf("got %v, want an invalid error", err)
			}
			if msg := items.ErrorMessage(err); msg == "" || strings.Contains(msg, "jsontext") {
				t.Errorf("message %q is not for people", msg)
			}
		})
	}
	t.Run("NameOrder", func(t *testing.T) {
		// Every object's members come out in byte order of their names,
		// arrays keep theirs.
		b, err := items.ParseBody([]byte(`{"b":{"z":1,"Z":2,"é":3,"a":[{"y":1,"x":2},3,1]},"a":"\u0062","A":null}`))
		if err != nil {
			t.Fatal(err)
		}
		want := `{"A":null,"a":"b","b":{"Z":2,"a":[{"x":2,"y":1},3,1],"z":1,"é":3}}`
		if got := string(b.Attrs); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("DepthLimit", func(t *testing.T) {
		// The item is level 1; 31 more levels are allowed.
		ok := `{"a":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`
		if _, err := items.ParseBody([]byte(ok)); err != nil {
			t.Errorf("31 nested levels: %v", err)
		}
		deep := `{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`
		if _, err := items.ParseBody([]byte(deep)); err == nil {
			t.Error("32 nested levels: got no error")
		}
	})
}

func TestMergePatch(t *testing.T) {
	// The examples of RFC 7396, appendix A, on objects.
	cases := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`{"b":1,"d":{"x":1,"z":2}}`, `{"c":3,"d":{"y":0,"a":[{"q":1,"p":2}]}}`, `{"b":1,"c":3,"d":{"a":[{"p":2,"q":1}],"x":1,"y":0,"z":2}}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{`{"n":1}`, `{"n":1.50,"id":"ignored","version":7}`, `{"n":1.5}`},
	}
	for _, c := range cases {
		got, err := items.MergePatch(items.Attributes(c.target), []byte(c.patch))
		if err != nil || string(got) != c.want {
			t.Errorf("MergePatch(%s, %s) = %s, %v; want %s", c.target, c.patch, got, err, c.want)
		}
	}
	for _, patch := range []string{`[]`, `"x"`, `{"a":`, `{"a":1e999}`} {
		if _, err := items.MergePatch(items.Attributes(`{}`), []byte(patch)); items.ErrorCode(err) != items.EINVALID {
			t.Errorf("MergePatch(%s): got %v, want an invalid error", patch, err)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, id := range []string{"a", "0190a-b_c.d", strings.Repeat("z", 128)} {
		got, err := items.DecodeCursor(items.EncodeCursor(id))
		if err != nil || got != id {
			t.Errorf("round trip of %q: got %q, %v", id, got, err)
		}
	}
	for _, c := range []string{"", "!!!", "YWJj", items.EncodeCursor("-bad")} {
		if _, err := items.DecodeCursor(c); items.ErrorCode(err) != items.EINVALID {
			t.Errorf("DecodeCursor(%q): got %v, want an invalid error", c, err)
		}
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "A9", "0190a-b_c.d", strings.Repeat("z", 128)} {
		if err := items.ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "-a", ".a", "_a", "a/b", "a b", "é", strings.Repeat("z", 129)} {
		if err := items.ValidateID(id); items.ErrorCode(err) != items.EINVALID {
			t.Errorf("ValidateID(%q) = %v, want an invalid error", id, err)
		}
	}
}

func TestItemJSON(t *testing.T) {
	it := &items.Item{Key: items.Key{Tenant: "t", ID: "x"}, Version: 3, Rev: "ab",
		Attrs: items.Attributes(`{"a":1}`)}
	got := string(it.AppendJSON(nil))
	want := `{"id":"x","version":3,"createdAt":"0001-01-01T00:00:00.000Z","updatedAt":"0001-01-01T00:00:00.000Z","a":1}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	it.Attrs = nil
	if got := string(it.AppendJSON(nil)); !strings.HasSuffix(got, `.000Z"}`) {
		t.Errorf("empty attrs: got %s", got)
	}
	if it.ETag() != `"ab"` {
		t.Errorf("got ETag %s", it.ETag())
	}
}
