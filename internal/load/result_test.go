package load_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

func TestReadResultErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{`, "read result"},
		{`{"schema":"surge.load.result/v0"}`, "schema"},
		{`{"schema":"surge.load.result/v1","lagHist":"nope"}`, "lag"},
		{`{"schema":"surge.load.result/v1","ops":[{"name":"read","latencyHist":"HISTFAAAAAA="}]}`, "read latency"},
	} {
		_, err := load.ReadResult(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadResult(%q) = %v, want an error mentioning %q", tt.in, err, tt.want)
		}
	}
}

func FuzzReadResult(f *testing.F) {
	f.Add([]byte(`{"schema":"surge.load.result/v1"}`))
	f.Add([]byte(`{"schema":"surge.load.result/v1","total":{"latencyHist":"HISTFAAAACl42pJpmSzMwMDAzMDAwAilGaBshmuTlzDYf4AIfGaOAAQAAP//YjIF2Q=="}}`))
	f.Add([]byte(`{"schema":"surge.load.result/v1","ops":[{"name":"read","statuses":{"200":3}}],"thresholds":[{"threshold":"errors<1%"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := load.ReadResult(bytes.NewReader(data))
		if err != nil {
			return
		}
		// A result that reads back writes and reads again.
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := load.ReadResult(&buf); err != nil {
			t.Fatalf("rewritten result does not read: %v", err)
		}
		ts, err := load.ParseThresholds("read.p99.99<1s,errors<1%")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = ts.Eval(r)
	})
}

func FuzzDecodeHist(f *testing.F) {
	f.Add("HISTFAAAACl42pJpmSzMwMDAzMDAwAilGaBshmuTlzDYf4AIfGaOAAQAAP//YjIF2Q==")
	f.Add("HISTFAAAAB")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := load.DecodeHist(s)
		if err != nil {
			return
		}
		_ = h.ValueAtQuantile(99)
		if _, err := load.EncodeHist(h); err != nil {
			t.Fatal(err)
		}
	})
}
