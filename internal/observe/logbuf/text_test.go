package logbuf

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"
)

// slogText is what slog's own TextHandler writes for r.
func slogText(t testing.TB, r slog.Record) string {
	t.Helper()
	var buf bytes.Buffer
	if err := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.Level(-100)}).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestAppendTextIsSlogText(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 48, 46, 123456789, time.UTC)
	for _, c := range []struct {
		name  string
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{"access line", slog.LevelInfo, "request", []slog.Attr{
			slog.String("request_id", "0f3a"), slog.String("method", "GET"), slog.String("route", "GET /items/{id}"),
			slog.String("path", "/items/b1"), slog.Int("status", 200), slog.Int64("bytes", 123),
			slog.Duration("duration", 1234567*time.Nanosecond), slog.String("tenant", "t 1"),
		}},
		{"quoting", slog.LevelWarn + 2, "", []slog.Attr{
			slog.String("", "a=b"), slog.String("k k", `q"`), slog.String("ctl", "a\x01"), slog.String("bad", "\xff"),
			slog.String("nbsp", "a\u00a0b"), slog.String("del", "a\x7fb"), slog.String("uni", "héllo"), slog.String("bs", `a\b`),
		}},
		{"kinds", slog.LevelDebug, "m", []slog.Attr{
			slog.Uint64("u", math.MaxUint64), slog.Float64("f", 1e21), slog.Float64("nan", math.NaN()),
			slog.Bool("b", true), slog.Time("t", at.In(time.FixedZone("x", 3600))), slog.Duration("d", -time.Hour),
			{}, slog.Int("after_empty", 1),
		}},
	} {
		r := slog.NewRecord(at, c.level, c.msg, 0)
		r.AddAttrs(c.attrs...)
		b, ok := appendText(nil, r)
		if !ok {
			t.Fatalf("%s: not written", c.name)
		}
		if got, want := string(b), slogText(t, r); got != want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
		}
	}
}

// A record holding an attribute of a kind appendText leaves to slog is
// written by slog's handler, through the logger as through appendText.
func TestLoggerFallsBackToSlog(t *testing.T) {
	var out bytes.Buffer
	log, flush := NewLogger(&out, false, slog.LevelInfo)
	log.Info("request", "status", 200)
	log.Info("failed", "err", errors.New("disk full"), slog.Group("g", "a", 1))
	log.With("component", "store").Info("opened", "path", "/x y")
	flush()
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.Bytes())
	}
	for i, want := range []string{"msg=request status=200", `msg=failed err="disk full" g.a=1`, `msg=opened component=store path="/x y"`} {
		if !bytes.HasSuffix(lines[i], []byte(want)) {
			t.Errorf("line %d = %s, want it to end %s", i, lines[i], want)
		}
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)
	r.AddAttrs(slog.Any("err", errors.New("x")))
	if _, ok := appendText(nil, r); ok {
		t.Error("an error value was written by appendText, not left to slog")
	}
}

// FuzzAppendText holds appendText to slog's TextHandler, byte for byte,
// on any strings, numbers, durations and times.
func FuzzAppendText(f *testing.F) {
	f.Add("request", "request_id", "0f3a", int64(200), uint64(7), 1.5, int64(1234567), int64(1764758926123), 0, true)
	f.Add("", "", "a b", int64(-1), uint64(0), math.Inf(1), int64(-1), int64(-62135596800000), 4, false)
	f.Add("m=1", "k\"", "\xff\u00a0", int64(math.MinInt64), uint64(math.MaxUint64), 1e-7, int64(math.MaxInt64), int64(253402300799999), -4, true)
	f.Fuzz(func(t *testing.T, msg, key, s string, i int64, u uint64, fl float64, d int64, ms int64, level int, b bool) {
		at := time.UnixMilli(ms).Add(time.Duration(d % 1e6))
		r := slog.NewRecord(at, slog.Level(level), msg, 0)
		r.AddAttrs(slog.String(key, s), slog.Int64(s, i), slog.Uint64("u", u), slog.Float64(key, fl),
			slog.Duration("d", time.Duration(d)), slog.Time(key+"t", at.In(time.FixedZone("z", level*60))), slog.Bool("b", b))
		got, ok := appendText(nil, r)
		if !ok {
			t.Fatal("not written")
		}
		if want := slogText(t, r); string(got) != want {
			t.Fatalf("\n got %q\nwant %q", got, want)
		}
	})
}

func BenchmarkAccessLine(b *testing.B) {
	attrs := []slog.Attr{
		slog.String("request_id", "01JE5Z6N4V3K8Q2W7X9Y0ZABCD"), slog.String("method", "GET"), slog.String("route", "GET /items/{id}"),
		slog.String("path", "/items/b1"), slog.Int("status", 200), slog.Int64("bytes", 123),
		slog.Duration("duration", 1234567*time.Nanosecond), slog.String("tenant", "default"),
	}
	for _, c := range []struct {
		name string
		h    func(*Writer) slog.Handler
	}{
		{"slog", func(w *Writer) slog.Handler { return slog.NewTextHandler(w, nil) }},
		{"logbuf", func(w *Writer) slog.Handler {
			return flushingHandler{Handler: slog.NewTextHandler(w, nil), w: w, text: true}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := NewWriter(discard{})
			defer w.Close()
			log := slog.New(c.h(w))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Lines of one second reuse its text; another millisecond, zone or second
// is still written as slog writes it.
func TestAppendTextSameSecond(t *testing.T) {
	base := time.Date(2026, 12, 3, 10, 48, 46, 0, time.UTC)
	east := time.FixedZone("east", 5*3600+30*60)
	for _, at := range []time.Time{
		base, base.Add(7 * time.Millisecond), base.Add(999999999), base.In(east), base.Add(123456789).In(east),
		base.Add(time.Second), base.Add(time.Second + 5*time.Millisecond), base.AddDate(8000, 0, 0), base.AddDate(-3000, 0, 0),
		base.AddDate(8000, 0, 0).Add(time.Millisecond), base.In(time.Local),
	} {
		r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.Time("at", at))
		b, _ := appendText(nil, r)
		if got, want := string(b), slogText(t, r); got != want {
			t.Errorf("%v:\n got %q\nwant %q", at, got, want)
		}
	}
}
