package dynamo

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/items"
)

// deep returns a JSON value nested n levels: arrays around an object.
func deep(n int) string {
	return strings.Repeat("[", n-1) + `{"x":1}` + strings.Repeat("]", n-1)
}

// storedSizeCases are items whose StoredSize must equal ItemSize of their
// DynamoDB form.
var storedSizeCases = []string{
	``,
	`{}`,
	`{"a":1}`,
	`{"name":"lamp","price":12.5}`,
	`{"name":"","n":0}`,
	`{"name":5,"n":-0.001}`,
	`{"name":{"x":"y"}}`,
	`{"name":"l\u00e4mp \"quoted\" \\ \n\t\u2028 \ud83d\ude00","z":null}`,
	`{"a":true,"b":false,"c":null,"d":[],"e":{}}`,
	`{"big":12345678901234567890,"e":1.5e120,"neg":-123.456e-10,"small":1e-130}`,
	`{"list":[1,"two",[3,[4]],{"five":5}],"map":{"a":{"b":{"c":"d"}}}}`,
	`{"r\u00e9sum\u00e9":"caf\u00e9","\u65e5\u672c":"\u8a9e"}`,
	`{"deep":` + deep(29) + `}`,
	`{"deep":` + deep(31) + `}`,
	`{"deep":` + deep(31) + `,"name":"x"}`,
	`{"data":"` + strings.Repeat("surge ", 700) + `","name":"surge-4KB-3","n":913}`,
	`{"aname":"x","namex":"y","nam":"z"}`,
}

func TestStoredSize(t *testing.T) {
	now := time.UnixMilli(1764633600123).UTC()
	for _, tenant := range []string{"default", "t", "a-tenant-with-a-longer-name-of-40-bytes.."} {
		for _, raw := range storedSizeCases {
			var attrs items.Attributes
			if raw != "" {
				var err error
				if attrs, err = items.Canonicalize([]byte(raw)); err != nil {
					t.Fatalf("canonicalize %s: %v", raw, err)
				}
			}
			for _, version := range []int64{1, 10, 99, 100, 123456789012} {
				it := &items.Item{Key: items.Key{Tenant: tenant, ID: "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"}, Version: version,
					CreatedAt: now, UpdatedAt: now.Add(time.Duration(version) * time.Millisecond), Rev: items.NewRev(), Attrs: attrs}
				av, err := encodeItem(it)
				if err != nil {
					t.Fatalf("encode %s: %v", raw, err)
				}
				if got, want := StoredSize(it), ItemSize(av); got != want {
					t.Errorf("tenant %q, version %d, %s: got StoredSize %d, want ItemSize %d", tenant, version, clip(raw), got, want)
				}
			}
		}
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// FuzzStoredSize checks StoredSize against ItemSize of the item's DynamoDB
// form for any attributes the contract accepts.
func FuzzStoredSize(f *testing.F) {
	for _, c := range storedSizeCases {
		f.Add(c, int64(3))
	}
	f.Fuzz(func(t *testing.T, raw string, version int64) {
		attrs, err := items.Canonicalize([]byte(raw))
		if err != nil || version < 1 {
			return
		}
		it := &items.Item{Key: items.Key{Tenant: "default", ID: "x"}, Version: version,
			CreatedAt: time.UnixMilli(1764633600000), UpdatedAt: time.UnixMilli(1764633600001), Rev: "0123456789abcdef", Attrs: attrs}
		av, err := encodeItem(it)
		if err != nil {
			return
		}
		if got, want := StoredSize(it), ItemSize(av); got != want {
			t.Fatalf("%s: got StoredSize %d, want ItemSize %d", raw, got, want)
		}
	})
}

func BenchmarkStoredSize(b *testing.B) {
	attrs, _ := items.Canonicalize([]byte(`{"name":"surge-256B-3","n":913277,"data":"` + strings.Repeat("alpha ", 35) + `"}`))
	it := &items.Item{Key: items.Key{Tenant: "default", ID: "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"}, Version: 3,
		CreatedAt: time.UnixMilli(1764633600000), UpdatedAt: time.UnixMilli(1764633600001), Rev: "0123456789abcdef", Attrs: attrs}
	b.ReportAllocs()
	for b.Loop() {
		StoredSize(it)
	}
}

func TestIntSize(t *testing.T) {
	for _, v := range []int64{1, 9, 10, 11, 99, 100, 101, 1000, 12345, 120000, 1764633600123, 1764633600000, 1 << 62, 9223372036854775807, 0, -5} {
		if got, want := intSize(v), NumberSize(strconv.FormatInt(v, 10)); got != want {
			t.Errorf("intSize(%d) = %d, want NumberSize's %d", v, got, want)
		}
	}
}
