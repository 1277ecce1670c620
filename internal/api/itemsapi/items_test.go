package itemsapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
)

func TestCreate(t *testing.T) {
	crud(t)
	e := newEnv(t)
	t.Run("OK", func(t *testing.T) {
		before := time.Now().UTC().Truncate(time.Millisecond)
		r := e.do("POST", "/items", `{"name":"widget","tags":["a","b"],"nested":{"x":null}}`).want(t, 201)
		wantItemHeaders(t, r)
		it := r.obj(t)
		id, _ := it["id"].(string)
		if items.ValidateID(id) != nil {
			t.Fatalf("got id %q, want a valid one", id)
		}
		if got := r.header.Get("Location"); got != "/items/"+id {
			t.Errorf("got Location %q, want /items/%s", got, id)
		}
		if it["version"] != json.Number("1") {
			t.Errorf("got version %v, want 1", it["version"])
		}
		for _, name := range []string{"createdAt", "updatedAt"} {
			s, _ := it[name].(string)
			if !timestampRe.MatchString(s) {
				t.Errorf("got %s %q, want RFC 3339 UTC with milliseconds", name, s)
			}
			if ts, _ := time.Parse(time.RFC3339, s); ts.Before(before) {
				t.Errorf("got %s %v, before the request (%v)", name, ts, before)
			}
		}
		want := `"name":"widget","nested":{"x":null},"tags":["a","b"]}`
		if !strings.HasSuffix(string(r.body), want) {
			t.Errorf("got body %s, want the client's attributes in name order: ...%s", r.body, want)
		}
		got := e.do("GET", "/items/"+id, "").want(t, 200)
		if string(got.body) != string(r.body) {
			t.Errorf("read back %s, want %s", got.body, r.body)
		}
		if got.header.Get("ETag") != r.header.Get("ETag") {
			t.Errorf("read back ETag %s, want %s", got.header.Get("ETag"), r.header.Get("ETag"))
		}
	})
	t.Run("TimeOrderedIDs", func(t *testing.T) {
		a := e.create(`{}`)["id"].(string)
		time.Sleep(2 * time.Millisecond)
		b := e.create(`{}`)["id"].(string)
		if !(a < b) {
			t.Errorf("got ids %s then %s, want increasing", a, b)
		}
	})
	t.Run("ClientID", func(t *testing.T) {
		r := e.do("POST", "/items", `{"id":"client-1.x_y","v":1}`).want(t, 201)
		if it := r.obj(t); it["id"] != "client-1.x_y" {
			t.Errorf("got id %v, want client-1.x_y", it["id"])
		}
		if got := r.header.Get("Location"); got != "/items/client-1.x_y" {
			t.Errorf("got Location %q", got)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e.do("POST", "/items", `{"id":"dup","v":1}`).want(t, 201)
		e.do("POST", "/items", `{"id":"dup","v":2}`).wantError(t, 409, "conflict")
		if v := e.do("GET", "/items/dup", "").want(t, 200).obj(t)["v"]; v != json.Number("1") {
			t.Errorf("got v %v after a refused create, want 1", v)
		}
	})
	t.Run("ServerManagedIgnored", func(t *testing.T) {
		it := e.create(`{"version":99,"createdAt":"x","updatedAt":false,"keep":true}`)
		if it["version"] != json.Number("1") || it["createdAt"] == "x" || it["keep"] != true {
			t.Errorf("got %v", it)
		}
	})
	bad := map[string]string{
		"malformed":       `{"a":`,
		"not an object":   `[1,2]`,
		"string":          `"x"`,
		"null":            `null`,
		"empty":           ` `,
		"trailing":        `{} {}`,
		"duplicate names": `{"a":1,"a":2}`,
		"bad id":          `{"id":"-x"}`,
		"id too long":     `{"id":"` + strings.Repeat("a", 129) + `"}`,
		"id not a string": `{"id":7}`,
		"empty name":      `{"":1}`,
		"39 digits":       `{"n":123456789012345678901234567890123456789}`,
		"out of range":    `{"n":1e126}`,
		"bad utf-8":       "{\"a\":\"\xff\"}",
		"too deep":        `{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`,
	}
	for name, body := range bad {
		t.Run("ErrInvalid/"+name, func(t *testing.T) {
			e.do("POST", "/items", body).wantError(t, 400, "invalid")
		})
	}
}

func TestNumbersExact(t *testing.T) {
	crud(t)
	e := newEnv(t)
	it := e.do("POST", "/items", `{"big":12345678901234567890,"dec":1.10,"exp":1.5e3,"neg":-0.0010,"max":99999999999999999999999999999999999999,"tiny":1e-130}`).want(t, 201)
	for _, r := range []*resp{it, e.do("GET", "/items/"+it.obj(t)["id"].(string), "").want(t, 200)} {
		want := `"big":12345678901234567890,"dec":1.1,"exp":1500,"max":99999999999999999999999999999999999999,"neg":-0.001,"tiny":0.` + strings.Repeat("0", 129) + `1}`
		if !strings.HasSuffix(string(r.body), want) {
			t.Errorf("got %s, want ...%s", r.body, want)
		}
	}
	// Through every way in: PUT, PATCH, batch and the dispatcher.
	id := it.obj(t)["id"].(string)
	if r := e.do("PUT", "/items/"+id, `{"big":12345678901234567890}`).want(t, 200); !strings.HasSuffix(string(r.body), `"big":12345678901234567890}`) {
		t.Errorf("PUT: got %s", r.body)
	}
	if !subsetCRUD() {
		if r := e.do("PATCH", "/items/"+id, `{"dec":1.10}`).want(t, 200); !strings.HasSuffix(string(r.body), `"big":12345678901234567890,"dec":1.1}`) {
			t.Errorf("PATCH: got %s", r.body)
		}
	} else {
		e.do("PUT", "/items/"+id, `{"big":12345678901234567890,"dec":1.10}`).want(t, 200)
	}
	r := e.do("POST", "/ops", `{"operation":"read","payload":{"Key":{"id":"`+id+`"}}}`).want(t, 200)
	if !strings.HasSuffix(string(r.body), `"big": 12345678901234567890, "dec": 1.1}}`) {
		t.Errorf("ops read: got %s", r.body)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	count := func() int {
		return len(e.do("GET", "/items?limit=1000", "").want(t, 200).obj(t)["items"].([]any))
	}
	t.Run("Replay", func(t *testing.T) {
		n := count()
		first := e.do("POST", "/items", `{"name":"a","n":1.10}`, "Idempotency-Key", "key-1").want(t, 201)
		// The same body with other whitespace, member spacing and number text.
		again := e.do("POST", "/items", "{ \"name\" : \"a\",\n \"n\": 1.1 }", "Idempotency-Key", "key-1").want(t, 201)
		if string(again.body) != string(first.body) {
			t.Errorf("replay body %s, want %s", again.body, first.body)
		}
		for _, h := range []string{"ETag", "Location", "Content-Type"} {
			if again.header.Get(h) != first.header.Get(h) {
				t.Errorf("replay %s %q, want %q", h, again.header.Get(h), first.header.Get(h))
			}
		}
		if got := count(); got != n+1 {
			t.Errorf("got %d items, want %d: a replay created another", got, n+1)
		}
	})
	t.Run("ClientID", func(t *testing.T) {
		first := e.do("POST", "/items", `{"id":"idem-1","a":1}`, "Idempotency-Key", "key-2").want(t, 201)
		again := e.do("POST", "/items", `{"a":1,"id":"idem-1"}`, "Idempotency-Key", "key-2").want(t, 201)
		if string(again.body) != string(first.body) {
			t.Errorf("replay body %s, want %s", again.body, first.body)
		}
		// The same attributes without the id are another body.
		e.do("POST", "/items", `{"a":1}`, "Idempotency-Key", "key-2").wantError(t, 409, "conflict")
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e.do("POST", "/items", `{"v":1}`, "Idempotency-Key", "key-3").want(t, 201)
		e.do("POST", "/items", `{"v":2}`, "Idempotency-Key", "key-3").wantError(t, 409, "conflict")
	})
	t.Run("PerTenant", func(t *testing.T) {
		a := e.do("POST", "/items", `{"v":1}`, "Idempotency-Key", "key-4", tenantHeader, "ta").want(t, 201).obj(t)
		b := e.do("POST", "/items", `{"v":2}`, "Idempotency-Key", "key-4", tenantHeader, "tb").want(t, 201).obj(t)
		if a["id"] == b["id"] {
			t.Error("two tenants share an idempotency key")
		}
	})
	t.Run("KeyOf255", func(t *testing.T) {
		e.do("POST", "/items", `{}`, "Idempotency-Key", strings.Repeat("~", 255)).want(t, 201)
	})
	for name, key := range map[string]string{
		"too long":   strings.Repeat("k", 256),
		"space":      "a b",
		"non-ascii":  "clé",
		"tab":        "a\tb",
		"two values": "",
	} {
		t.Run("ErrInvalid/"+name, func(t *testing.T) {
			hdrs := []string{"Idempotency-Key", key}
			if name == "two values" {
				hdrs = []string{"Idempotency-Key", "a", "Idempotency-Key", "b"}
			}
			req, _ := http.NewRequest("POST", e.url+"/items", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i < len(hdrs); i += 2 {
				req.Header[hdrs[i]] = append(req.Header[hdrs[i]], hdrs[i+1])
			}
			e.send(req).wantError(t, 400, "invalid")
		})
	}
	t.Run("ErrInvalid/empty", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.url+"/items", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header["Idempotency-Key"] = []string{""}
		e.send(req).wantError(t, 400, "invalid")
	})
}

func TestGet(t *testing.T) {
	crud(t)
	e := newEnv(t)
	it := e.do("POST", "/items", `{"id":"g1","a":1}`).want(t, 201)
	etag := it.header.Get("ETag")
	t.Run("OK", func(t *testing.T) {
		r := e.do("GET", "/items/g1", "").want(t, 200)
		wantItemHeaders(t, r)
		if got := r.header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("got Cache-Control %q, want no-cache", got)
		}
		if r.header.Get("ETag") != etag {
			t.Errorf("got ETag %s, want %s", r.header.Get("ETag"), etag)
		}
		if string(r.body) != string(it.body) {
			t.Errorf("got %s, want %s", r.body, it.body)
		}
	})
	t.Run("CacheControlOption", func(t *testing.T) {
		e2 := newEnv(t, itemsapi.CacheControl("private, max-age=60"))
		e2.do("POST", "/items", `{"id":"c"}`).want(t, 201)
		if got := e2.do("GET", "/items/c", "").want(t, 200).header.Get("Cache-Control"); got != "private, max-age=60" {
			t.Errorf("got Cache-Control %q", got)
		}
	})
	t.Run("Head", func(t *testing.T) {
		r := e.do("HEAD", "/items/g1", "").want(t, 200)
		if len(r.body) != 0 {
			t.Errorf("got a body %q for HEAD", r.body)
		}
		if r.header.Get("ETag") != etag || r.header.Get("Content-Length") != fmt.Sprint(len(it.body)) {
			t.Errorf("got headers %v", r.header)
		}
	})
	notModified := map[string]string{
		"exact":     etag,
		"weak":      "W/" + etag,
		"list":      `"nope", ` + etag + `, W/"other"`,
		"star":      "*",
		"no spaces": `"x",` + etag,
	}
	for name, inm := range notModified {
		t.Run("NotModified/"+name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				r := e.do(method, "/items/g1", "", "If-None-Match", inm).want(t, 304)
				if len(r.body) != 0 {
					t.Errorf("got a body %q with 304", r.body)
				}
				if r.header.Get("ETag") != etag {
					t.Errorf("got ETag %q with 304, want %s", r.header.Get("ETag"), etag)
				}
				if r.header.Get("Cache-Control") != "no-cache" {
					t.Errorf("got Cache-Control %q with 304", r.header.Get("Cache-Control"))
				}
			}
		})
	}
	for name, inm := range map[string]string{"other": `"other"`, "malformed": strings.Trim(etag, `"`), "unclosed": `"` + strings.Trim(etag, `"`)} {
		t.Run("Modified/"+name, func(t *testing.T) {
			e.do("GET", "/items/g1", "", "If-None-Match", inm).want(t, 200)
		})
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		e.do("GET", "/items/nope", "").wantError(t, 404, "not_found")
		e.do("GET", "/items/nope", "", "If-None-Match", "*").wantError(t, 404, "not_found")
		if r := e.do("HEAD", "/items/nope", "").want(t, 404); len(r.body) != 0 {
			t.Errorf("got a body for HEAD")
		}
	})
	for name, path := range map[string]string{
		"leading dot":  "/items/.x",
		"bad char":     "/items/a%20b",
		"too long":     "/items/" + strings.Repeat("x", 129),
		"encoded dash": "/items/%2Dx",
	} {
		t.Run("ErrInvalid/"+name, func(t *testing.T) {
			e.do("GET", path, "").wantError(t, 400, "invalid")
		})
	}
	t.Run("LongestID", func(t *testing.T) {
		id := strings.Repeat("z", 128)
		e.do("POST", "/items", `{"id":"`+id+`"}`).want(t, 201)
		e.do("GET", "/items/"+id, "").want(t, 200)
	})
}

func TestPut(t *testing.T) {
	crud(t)
	e := newEnv(t)
	created := e.do("POST", "/items", `{"id":"p1","a":1,"b":2}`).want(t, 201)
	etag := created.header.Get("ETag")
	t.Run("OK", func(t *testing.T) {
		time.Sleep(2 * time.Millisecond)
		r := e.do("PUT", "/items/p1", `{"c":3}`).want(t, 200)
		wantItemHeaders(t, r)
		it, old := r.obj(t), created.obj(t)
		if it["version"] != json.Number("2") {
			t.Errorf("got version %v, want 2", it["version"])
		}
		if it["createdAt"] != old["createdAt"] || it["updatedAt"] == old["updatedAt"] {
			t.Errorf("got createdAt %v updatedAt %v, from %v %v", it["createdAt"], it["updatedAt"], old["createdAt"], old["updatedAt"])
		}
		if _, ok := it["a"]; ok || it["c"] != json.Number("3") {
			t.Errorf("got %s, want the attributes replaced", r.body)
		}
		if r.header.Get("ETag") == etag {
			t.Error("the ETag did not change")
		}
		if r.header.Get("Location") != "" || r.header.Get("Cache-Control") != "" {
			t.Errorf("got headers %v", r.header)
		}
		etag = r.header.Get("ETag")
	})
	t.Run("SameID", func(t *testing.T) {
		r := e.do("PUT", "/items/p1", `{"id":"p1","d":4}`).want(t, 200)
		etag = r.header.Get("ETag")
	})
	t.Run("ErrInvalid/OtherID", func(t *testing.T) {
		e.do("PUT", "/items/p1", `{"id":"p2"}`).wantError(t, 400, "invalid")
	})
	t.Run("ErrInvalid/Body", func(t *testing.T) {
		e.do("PUT", "/items/p1", `[]`).wantError(t, 400, "invalid")
		e.do("PUT", "/items/p1", `{"a":`).wantError(t, 400, "invalid")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e.do("PUT", "/items/absent", `{"a":1}`).wantError(t, 404, "not_found")
		// A condition does not turn a 404 into a 412 (RFC 9110, 13.2.1).
		e.do("PUT", "/items/absent", `{"a":1}`, "If-Match", "*").wantError(t, 404, "not_found")
		e.do("PUT", "/items/absent", `{"a":1}`, "If-Match", `"x"`).wantError(t, 404, "not_found")
		e.do("PUT", "/items/absent", `{"a":1}`, "If-Match", `"x", "y"`).wantError(t, 404, "not_found")
	})
	t.Run("IfMatch", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			header func() string
			status int
		}{
			{"current", func() string { return etag }, 200},
			{"star", func() string { return "*" }, 200},
			{"list", func() string { return `"a", ` + etag }, 200},
			{"stale", func() string { return created.header.Get("ETag") }, 412},
			{"weak", func() string { return "W/" + etag }, 412},
			{"other list", func() string { return `"a", "b"` }, 412},
			{"malformed", func() string { return strings.Trim(etag, `"`) }, 412},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.do("GET", "/items/p1", "").want(t, 200)
				r := e.do("PUT", "/items/p1", `{"tc":"`+tc.name+`"}`, "If-Match", tc.header())
				if tc.status == 412 {
					r.wantError(t, 412, "precondition_failed")
					if after := e.do("GET", "/items/p1", "").want(t, 200); string(after.body) != string(before.body) {
						t.Errorf("a refused PUT changed the item: %s", after.body)
					}
					return
				}
				r.want(t, tc.status)
				etag = r.header.Get("ETag")
			})
		}
	})
}

func TestPatch(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/items", `{"id":"m1","a":1,"b":{"x":1,"y":2},"c":[1,2],"d":"keep"}`).want(t, 201)
	t.Run("OK", func(t *testing.T) {
		r := e.do("PATCH", "/items/m1", `{"a":null,"b":{"y":null,"z":3},"c":[3],"e":1.50}`, "Content-Type", "application/merge-patch+json").want(t, 200)
		wantItemHeaders(t, r)
		if want := `"b":{"x":1,"z":3},"c":[3],"d":"keep","e":1.5}`; !strings.HasSuffix(string(r.body), want) {
			t.Errorf("got %s, want ...%s", r.body, want)
		}
		if v := r.obj(t)["version"]; v != json.Number("2") {
			t.Errorf("got version %v, want 2", v)
		}
	})
	t.Run("ApplicationJSON", func(t *testing.T) {
		e.do("PATCH", "/items/m1", `{"f":true}`, "Content-Type", "application/json; charset=utf-8").want(t, 200)
	})
	t.Run("IDIgnored", func(t *testing.T) {
		r := e.do("PATCH", "/items/m1", `{"id":"other","version":1}`, "Content-Type", "application/merge-patch+json").want(t, 200)
		if it := r.obj(t); it["id"] != "m1" || it["version"] == json.Number("1") {
			t.Errorf("got %s", r.body)
		}
	})
	t.Run("IfMatch", func(t *testing.T) {
		etag := e.do("GET", "/items/m1", "").want(t, 200).header.Get("ETag")
		r := e.do("PATCH", "/items/m1", `{"g":1}`, "If-Match", etag, "Content-Type", "application/merge-patch+json").want(t, 200)
		e.do("PATCH", "/items/m1", `{"g":2}`, "If-Match", etag, "Content-Type", "application/merge-patch+json").wantError(t, 412, "precondition_failed")
		e.do("PATCH", "/items/m1", `{"g":3}`, "If-Match", `"x", `+r.header.Get("ETag"), "Content-Type", "application/merge-patch+json").want(t, 200)
		e.do("PATCH", "/items/m1", `{"g":4}`, "If-Match", "*", "Content-Type", "application/merge-patch+json").want(t, 200)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e.do("PATCH", "/items/absent", `{"a":1}`, "Content-Type", "application/merge-patch+json").wantError(t, 404, "not_found")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, body := range []string{`[]`, `"x"`, `{"a":`, `null`, `{"id":1}`} {
			e.do("PATCH", "/items/m1", body, "Content-Type", "application/merge-patch+json").wantError(t, 400, "invalid")
		}
		e.do("PATCH", "/items/-bad", `{}`, "Content-Type", "application/merge-patch+json").wantError(t, 400, "invalid")
	})
	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		for _, ct := range []string{"application/json-patch+json", "text/plain", "application/merge-patch+json; charset=latin1"} {
			e.do("PATCH", "/items/m1", `{"a":1}`, "Content-Type", ct).wantError(t, 415, "unsupported_media_type")
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		big := `{"big":"` + strings.Repeat("x", items.MaxItemSize) + `"}`
		e.do("PATCH", "/items/m1", big, "Content-Type", "application/merge-patch+json").wantError(t, 413, "too_large")
	})
}

// TestConcurrentPatches shows that concurrent merge patches without
// If-Match never lose one another's updates.
func TestConcurrentPatches(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/items", `{"id":"race"}`).want(t, 201)
	const writers, each = 6, 5
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				body := fmt.Sprintf(`{"w%d_%d":%d}`, w, i, i)
				e.do("PATCH", "/items/race", body, "Content-Type", "application/merge-patch+json").want(t, 200)
			}
		}()
	}
	wg.Wait()
	it := e.do("GET", "/items/race", "").want(t, 200).obj(t)
	if it["version"] != json.Number(fmt.Sprint(1+writers*each)) {
		t.Errorf("got version %v, want %d", it["version"], 1+writers*each)
	}
	for w := range writers {
		for i := range each {
			if _, ok := it[fmt.Sprintf("w%d_%d", w, i)]; !ok {
				t.Errorf("lost update w%d_%d", w, i)
			}
		}
	}
}

// TestConcurrentConditionalWrites shows that of two concurrent writes with
// the same If-Match exactly one wins.
func TestConcurrentConditionalWrites(t *testing.T) {
	crud(t)
	e := newEnv(t)
	for _, method := range []string{"PUT", "PATCH"} {
		t.Run(method, func(t *testing.T) {
			if method == "PATCH" {
				beyondCRUD(t, "PATCH")
			}
			id := "cw-" + strings.ToLower(method)
			etag := e.do("POST", "/items", `{"id":"`+id+`"}`).want(t, 201).header.Get("ETag")
			ct := "application/json"
			if method == "PATCH" {
				ct = "application/merge-patch+json"
			}
			for round := range 10 {
				var wg sync.WaitGroup
				statuses := make([]int, 2)
				etags := make([]string, 2)
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r := e.do(method, "/items/"+id, fmt.Sprintf(`{"writer":%d,"round":%d}`, i, round), "If-Match", etag, "Content-Type", ct)
						statuses[i], etags[i] = r.status, r.header.Get("ETag")
					}()
				}
				wg.Wait()
				ok := 0
				for i, s := range statuses {
					switch s {
					case 200:
						ok++
						etag = etags[i]
					case 412:
					default:
						t.Fatalf("round %d: got status %d", round, s)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: got statuses %v, want one 200 and one 412", round, statuses)
				}
			}
			if v := e.do("GET", "/items/"+id, "").want(t, 200).obj(t)["version"]; v != json.Number("11") {
				t.Errorf("got version %v, want 11", v)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	crud(t)
	e := newEnv(t)
	t.Run("OK", func(t *testing.T) {
		e.do("POST", "/items", `{"id":"d1"}`).want(t, 201)
		r := e.do("DELETE", "/items/d1", "").want(t, 204)
		if len(r.body) != 0 {
			t.Errorf("got body %q", r.body)
		}
		e.do("GET", "/items/d1", "").wantError(t, 404, "not_found")
		e.do("DELETE", "/items/d1", "").wantError(t, 404, "not_found")
	})
	t.Run("IfMatch", func(t *testing.T) {
		etag := e.do("POST", "/items", `{"id":"d2"}`).want(t, 201).header.Get("ETag")
		e.do("DELETE", "/items/d2", "", "If-Match", `"stale"`).wantError(t, 412, "precondition_failed")
		e.do("DELETE", "/items/d2", "", "If-Match", `"a", "b"`).wantError(t, 412, "precondition_failed")
		e.do("DELETE", "/items/d2", "", "If-Match", "W/"+etag).wantError(t, 412, "precondition_failed")
		e.do("GET", "/items/d2", "").want(t, 200)
		e.do("DELETE", "/items/d2", "", "If-Match", `"a", `+etag).want(t, 204)
		e.do("DELETE", "/items/d2", "", "If-Match", etag).wantError(t, 404, "not_found")
		etag = e.do("POST", "/items", `{"id":"d2"}`).want(t, 201).header.Get("ETag")
		e.do("DELETE", "/items/d2", "", "If-Match", etag).want(t, 204)
		e.do("POST", "/items", `{"id":"d2"}`).want(t, 201)
		e.do("DELETE", "/items/d2", "", "If-Match", "*").want(t, 204)
	})
	t.Run("ETagChangesOnRecreate", func(t *testing.T) {
		a := e.do("POST", "/items", `{"id":"d3","same":1}`).want(t, 201)
		e.do("DELETE", "/items/d3", "").want(t, 204)
		b := e.do("POST", "/items", `{"id":"d3","same":1}`).want(t, 201)
		if a.header.Get("ETag") == b.header.Get("ETag") {
			t.Error("an item deleted and created again kept its ETag")
		}
		e.do("GET", "/items/d3", "", "If-None-Match", a.header.Get("ETag")).want(t, 200)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e.do("DELETE", "/items/_x", "").wantError(t, 400, "invalid")
	})
}

func TestList(t *testing.T) {
	crud(t)
	e := newEnv(t)
	var ids []string
	for i := range 7 {
		ids = append(ids, fmt.Sprintf("l%02d", 6-i)) // created out of order
		e.do("POST", "/items", fmt.Sprintf(`{"id":"l%02d","i":%d}`, 6-i, i)).want(t, 201)
	}
	page := func(query string) ([]string, string, bool) {
		t.Helper()
		r := e.do("GET", "/items"+query, "").want(t, 200)
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("got Content-Type %q", ct)
		}
		var body struct {
			Items []struct{ ID string }
			Next  *string
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range body.Items {
			got = append(got, it.ID)
		}
		if body.Next == nil {
			return got, "", false
		}
		return got, *body.Next, true
	}
	t.Run("Pages", func(t *testing.T) {
		var all []string
		cursor := ""
		for n := 0; ; n++ {
			got, next, more := page("?limit=3&cursor=" + cursor)
			all = append(all, got...)
			if !more {
				if n != 2 || len(got) != 1 {
					t.Errorf("last page %d has %d items, want page 2 with 1", n, len(got))
				}
				break
			}
			if len(got) != 3 || n > 3 {
				t.Fatalf("page %d: got %v", n, got)
			}
			cursor = next
		}
		want := "l00,l01,l02,l03,l04,l05,l06"
		if strings.Join(all, ",") != want {
			t.Errorf("got %v, want %s", all, want)
		}
	})
	t.Run("Default", func(t *testing.T) {
		got, _, more := page("")
		if len(got) != 7 || more {
			t.Errorf("got %v %v", got, more)
		}
		r := e.do("GET", "/items", "").want(t, 200)
		if strings.Contains(string(r.body), `"next"`) {
			t.Errorf("the last page has next: %s", r.body)
		}
	})
	t.Run("StableUnderChanges", func(t *testing.T) {
		got, next, _ := page("?limit=2")
		e.do("DELETE", "/items/"+got[1], "").want(t, 204) // the cursor's own item
		e.do("POST", "/items", `{"id":"l00a"}`).want(t, 201)
		e.do("POST", "/items", `{"id":"l02a"}`).want(t, 201)
		rest, _, _ := page("?limit=100&cursor=" + next)
		if strings.Join(rest, ",") != "l02,l02a,l03,l04,l05,l06" {
			t.Errorf("got %v", rest)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		r := e.do("GET", "/items", "", tenantHeader, "nobody").want(t, 200)
		if string(r.body) != `{"items":[]}` {
			t.Errorf("got %s", r.body)
		}
	})
	t.Run("DefaultLimit50", func(t *testing.T) {
		for i := range 55 {
			e.do("POST", "/items", fmt.Sprintf(`{"id":"x%03d"}`, i), tenantHeader, "many").want(t, 201)
		}
		r := e.do("GET", "/items", "", tenantHeader, "many").want(t, 200).obj(t)
		if n := len(r["items"].([]any)); n != 50 || r["next"] == nil {
			t.Errorf("got %d items, next %v; want 50 and a next", n, r["next"])
		}
		r = e.do("GET", "/items?limit=1000", "", tenantHeader, "many").want(t, 200).obj(t)
		if n := len(r["items"].([]any)); n != 55 || r["next"] != nil {
			t.Errorf("got %d items, next %v", n, r["next"])
		}
	})
	t.Run("PageStopsAt1MB", func(t *testing.T) {
		big := strings.Repeat("b", 300_000)
		for i := range 5 {
			e.do("POST", "/items", fmt.Sprintf(`{"id":"big%d","b":"%s"}`, i, big), tenantHeader, "big").want(t, 201)
		}
		r := e.do("GET", "/items?limit=10", "", tenantHeader, "big").want(t, 200)
		var body struct {
			Items []json.RawMessage
			Next  string
		}
		json.Unmarshal(r.body, &body)
		if len(body.Items) != 3 || body.Next == "" {
			t.Errorf("got %d items (%d bytes), next %q; want 3 and a next", len(body.Items), len(r.body), body.Next)
		}
	})
	t.Run("Head", func(t *testing.T) {
		r := e.do("HEAD", "/items", "").want(t, 200)
		if len(r.body) != 0 || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("got %v %q", r.header, r.body)
		}
	})
	for name, q := range map[string]string{
		"zero":          "?limit=0",
		"over":          "?limit=1001",
		"negative":      "?limit=-1",
		"not a number":  "?limit=ten",
		"fraction":      "?limit=1.5",
		"empty":         "?limit=",
		"twice":         "?limit=1&limit=2",
		"huge":          "?limit=99999999999999999999999",
		"bad cursor":    "?cursor=nope",
		"forged cursor": "?cursor=" + "YzE6LXg", // "c1:-x": the right prefix, a bad id
		"bad escape":    "?limit=%zz",
		"two cursors":   "?cursor=a&cursor=b",
	} {
		t.Run("ErrInvalid/"+name, func(t *testing.T) {
			e.do("GET", "/items"+q, "").wantError(t, 400, "invalid")
		})
	}
	t.Run("Limits", func(t *testing.T) {
		got, _, _ := page("?limit=1")
		if len(got) != 1 {
			t.Errorf("got %v", got)
		}
		page("?limit=1000")
	})
	_ = ids
}

func TestTenants(t *testing.T) {
	crud(t)
	e := newEnv(t)
	e.do("POST", "/items", `{"id":"secret","owner":"a"}`, tenantHeader, "a").want(t, 201)
	b := []string{tenantHeader, "b"}
	e.do("GET", "/items/secret", "", b...).wantError(t, 404, "not_found")
	e.do("PUT", "/items/secret", `{}`, b...).wantError(t, 404, "not_found")
	if !subsetCRUD() {
		e.do("PATCH", "/items/secret", `{}`, b...).wantError(t, 404, "not_found")
	}
	e.do("DELETE", "/items/secret", "", b...).wantError(t, 404, "not_found")
	if r := e.do("GET", "/items", "", b...).want(t, 200); string(r.body) != `{"items":[]}` {
		t.Errorf("tenant b lists %s", r.body)
	}
	if r := e.do("POST", "/ops", `{"operation":"read","payload":{"Key":{"id":"secret"}}}`, b...).want(t, 200); string(r.body) != `{}` {
		t.Errorf("tenant b reads %s through /ops", r.body)
	}
	// The same id is free for tenant b, and a create there is not a 409.
	e.do("POST", "/items", `{"id":"secret","owner":"b"}`, b...).want(t, 201)
	if r := e.do("GET", "/items/secret", "", tenantHeader, "a").want(t, 200).obj(t); r["owner"] != "a" {
		t.Errorf("tenant a's item became %v", r)
	}
	// Without a tenant, the default one.
	if r := e.do("GET", "/items", "").want(t, 200); string(r.body) != `{"items":[]}` {
		t.Errorf("the default tenant lists %s", r.body)
	}
}
