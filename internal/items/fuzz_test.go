package items_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/surgehq/surge/internal/items"
)

// wantInvalid fails unless err is a contract error with code invalid and
// a message for people.
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if code := items.ErrorCode(err); code != items.EINVALID {
		t.Fatalf("got error %v (code %q), want an invalid error", err, code)
	}
	if msg := items.ErrorMessage(err); msg == "" || !utf8.ValidString(msg) || len(msg) > 400 {
		t.Fatalf("message %q is not for people", msg)
	}
}

var bodySeeds = []string{
	`{}`,
	`{"id":"a1","name":"x","n":1.10,"big":12345678901234567890,"nested":{"k":[1,2.0,{"z":null}]}}`,
	`{"version":2,"createdAt":"x","updatedAt":1}`,
	`{"a":"\u00e9\ud83d\ude00","b":"\\\"","c":true,"d":false,"e":null}`,
	`{"n":-0.0e-5,"m":1E+3,"o":1e-130,"p":9.99e125}`,
	`{"a":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`,
	`[1]`, `"x"`, `null`, ``, `{"a":1,"a":2}`, `{"":1}`, `{"id":5}`, `{"a":1e200}`,
	`{"a":NaN}`, "{\"a\":\"\xff\"}", `{"a":1} {}`, `{"a":`, ` { "a" : [ ] } `,
}

// FuzzParseBody checks the item decoder: it never panics, refuses with an
// invalid error, and what it accepts is canonical: a fixed point that
// reads back as the same JSON.
func FuzzParseBody(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := items.ParseBody(data)
		if err != nil {
			wantInvalid(t, err)
			return
		}
		if !json.Valid(b.Attrs) {
			t.Fatalf("canonical form %q is not JSON", b.Attrs)
		}
		again, err := items.ParseBody(b.Attrs)
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", b.Attrs, err)
		}
		if string(again.Attrs) != string(b.Attrs) || again.HasID {
			t.Fatalf("canonical form is not a fixed point: %q, then %q", b.Attrs, again.Attrs)
		}
		m, err := b.Attrs.Map()
		if err != nil {
			t.Fatalf("canonical form %q does not decode: %v", b.Attrs, err)
		}
		for _, name := range []string{"id", "version", "createdAt", "updatedAt"} {
			if _, ok := m[name]; ok {
				t.Fatalf("server-managed %q kept in %q", name, b.Attrs)
			}
		}
		if b.HasID && !utf8.ValidString(b.ID) {
			t.Fatalf("id %q is not UTF-8", b.ID)
		}
	})
}

// FuzzMergePatch checks merge patch: no panic, invalid errors only, and a
// canonical result that holds every non-null member of the patch.
func FuzzMergePatch(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(`{"a":1,"b":{"c":2,"d":[3]},"e":"x"}`), []byte(s))
	}
	f.Add([]byte(`{"a":{"b":{"c":1}}}`), []byte(`{"a":{"b":{"c":null,"d":2}},"e":null}`))
	f.Add([]byte(`{}`), []byte(`{"a":{"x":null}}`))
	f.Fuzz(func(t *testing.T, target, patch []byte) {
		tb, err := items.ParseBody(target)
		if err != nil {
			return // targets are stored items, canonical by construction
		}
		out, err := items.MergePatch(tb.Attrs, patch)
		if err != nil {
			wantInvalid(t, err)
			if _, perr := items.ParseBody(patch); perr == nil {
				t.Fatalf("a valid patch %q was refused: %v", patch, err)
			}
			return
		}
		again, err := items.ParseBody(out)
		if err != nil || string(again.Attrs) != string(out) {
			t.Fatalf("result %q is not canonical (%v)", out, err)
		}
		pb, _ := items.ParseBody(patch)
		pm, _ := pb.Attrs.Map()
		om, _ := items.Attributes(out).Map()
		for name, v := range pm {
			got, ok := om[name]
			if v == nil {
				if ok {
					t.Fatalf("patch removes %q, result %q keeps it", name, out)
				}
				continue
			}
			if !ok {
				t.Fatalf("patch sets %q, result %q lacks it", name, out)
			}
			if _, isObj := v.(map[string]any); !isObj {
				gj, _ := json.Marshal(got)
				vj, _ := json.Marshal(v)
				if string(gj) != string(vj) {
					t.Fatalf("patch sets %q to %s, result has %s", name, vj, gj)
				}
			}
		}
	})
}

// FuzzDecodeCursor checks cursor decoding: no panic, invalid errors only,
// and a cursor that decodes names a valid id that encodes back to a
// cursor decoding to the same id.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{items.EncodeCursor("a1"), items.EncodeCursor(strings.Repeat("z", 128)), "", "YzE6", "YzE6LXg", "!!", "c1:a", "YzE6YQ==", "YzE6YQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		id, err := items.DecodeCursor(cursor)
		if err != nil {
			wantInvalid(t, err)
			return
		}
		if err := items.ValidateID(id); err != nil {
			t.Fatalf("cursor %q decodes to invalid id %q", cursor, id)
		}
		if back, err := items.DecodeCursor(items.EncodeCursor(id)); err != nil || back != id {
			t.Fatalf("id %q does not round trip: %q %v", id, back, err)
		}
	})
}
