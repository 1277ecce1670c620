package gateway

import (
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
)

func TestParseItemStamp(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
	it := &items.Item{Key: items.Key{ID: "a-1"}, Version: 42, CreatedAt: created, UpdatedAt: created, Attrs: items.Attributes(`{"n":1}`)}
	got := parseItemStamp(it.AppendJSON(nil))
	if want := (itemStamp{createdAt: "2030-01-02T03:04:05.006Z", version: 42, ok: true}); got != want {
		t.Fatalf("an item answer: got %+v, want %+v", got, want)
	}
	for _, body := range []string{``, `{}`, `{"items":[]}`, `{"id":"a","version":x,"createdAt":"t"}`,
		`{"id":"a","version":1}`, `{"id":"a","version":1,"createdAt":"t`, `{"id":"a`} {
		if s := parseItemStamp([]byte(body)); s.ok {
			t.Errorf("%q: got %+v, want no stamp", body, s)
		}
	}
}

func FuzzParseItemStamp(f *testing.F) {
	f.Add([]byte(`{"id":"a","version":3,"createdAt":"2030-01-02T03:04:05.006Z","updatedAt":"x"}`))
	f.Add([]byte(`{"id":"`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if s := parseItemStamp(body); s.ok && s.version < 0 && len(body) < 20 {
			t.Fatalf("%q: %+v", body, s)
		}
	})
}

func TestCompareAnswers(t *testing.T) {
	at := func(created string, version int64, etag string) *cachedResponse {
		return &cachedResponse{etag: etag, stamp: itemStamp{createdAt: created, version: version, ok: true}}
	}
	page := &cachedResponse{etag: `"p"`}
	for _, c := range []struct {
		name string
		a, b *cachedResponse
		want order
	}{
		{"LaterVersion", at("T1", 3, `"c"`), at("T1", 2, `"b"`), newer},
		{"EarlierVersion", at("T1", 2, `"b"`), at("T1", 3, `"c"`), older},
		{"Same", at("T1", 2, `"b"`), at("T1", 2, `"b"`), same},
		{"CreatedAgain", at("T2", 1, `"x"`), at("T1", 7, `"b"`), newer},
		{"DeletedIncarnation", at("T1", 7, `"b"`), at("T2", 1, `"x"`), older},
		{"OneMillisecond", at("T1", 1, `"x"`), at("T1", 1, `"y"`), unordered},
		{"Pages", page, &cachedResponse{etag: `"q"`}, newer},
		{"UntaggedPages", &cachedResponse{}, &cachedResponse{}, newer},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := compareAnswers(c.a, c.b); got != c.want {
				t.Fatalf("got %d, want %d", got, c.want)
			}
		})
	}
}
