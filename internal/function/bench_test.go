package function

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// BenchmarkInvokeList is one invocation of GET /items?limit=10 (a REST API
// event) on the function over a memory store of 50 items, as the runtime
// hands it the payload: what an instance does per request beside the
// Runtime API's exchange, in time and in memory (an instance held to a
// small CPU share pays for its garbage collections).
func BenchmarkInvokeList(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		f, _ := newTestFunction(b, map[string]string{"SURGE_LOG_LEVEL": "info"})
		benchInvokeList(b, f)
	})
	b.Run("sqlite", func(b *testing.B) {
		cfg, err := LoadConfig(func(string) string { return "" })
		if err != nil {
			b.Fatal(err)
		}
		s, err := sqlite.Open(filepath.Join(b.TempDir(), "items.db"), sqlite.WithReadConns(1), sqlite.WithWriterOnFirstWrite())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		benchInvokeList(b, New(cfg, s, NewLogger(io.Discard, slog.LevelInfo)))
	})
}

func benchInvokeList(b *testing.B, f *Function) {
	for i := range 50 {
		body := strings.NewReader(`{"name":"item","price":1.5,"i":` + strconv.Itoa(i) + `}`)
		ev, _ := awsevent.NewV1Event(httptest.NewRequest("POST", "/items", body), awsevent.EventOptions{})
		p, _ := json.Marshal(ev)
		if _, err := f.Invoke(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
	ev, _ := awsevent.NewV1Event(httptest.NewRequest("GET", "/items?limit=10", nil), awsevent.EventOptions{})
	payload, _ := json.Marshal(ev)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "r"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}
