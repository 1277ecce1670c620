// Package servertiming records where a request spends its time and reports it
// in a Server-Timing response header (W3C Server Timing):
//
//	Server-Timing: store;dur=0.41, total;dur=0.93
//
// Middleware puts a Recorder in the request's context; code below it adds
// durations by name with Add or Since, and the header is set when the
// response header is written. Without a Recorder in the context, Add and
// Since do nothing, so libraries may call them unconditionally.
//
// The names surge records: "store" (package itemsapi's store hook),
// "cache" (the gateway's response cache), "readcache" (the read cache),
// "function", "init", "lambda" and "pool" (the local Lambda's
// integration), and "total".
//
// Besides durations, a Recorder sums values that are not times (AddValue),
// reported with a desc parameter and no dur, so that tools that chart
// durations pass them by:
//
//	Server-Timing: store;dur=0.41, rcu;desc=0.5, wcu;desc=1, total;dur=0.93
//
// surge reports so the DynamoDB capacity units a request consumed: "rcu"
// (read units) and "wcu" (write units), as DynamoDB counts them.
package servertiming

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// HeaderName is the response header the Middleware sets.
const HeaderName = "Server-Timing"

// TotalName is the metric that carries the time since the Recorder began.
const TotalName = "total"

// metric is one named sum of durations.
type metric struct {
	name string
	dur  time.Duration
}

// Recorder sums durations by name for one request. It is safe for
// concurrent use. The zero value is not usable; get one from NewContext
// or Middleware.
type Recorder struct {
	start time.Time

	mu sync.Mutex
	// inline holds the first few metrics so that a request that records
	// one or two names (the usual "store") does not allocate for them.
	inline [4]metric
	n      int
	more   []metric
	values []value
}

// value is one named sum of a quantity that is not a time.
type value struct {
	name string
	v    float64
}

// AddValue adds v to the value called name, which the header reports as
// name;desc=V after the durations.
func (r *Recorder) AddValue(name string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.values {
		if r.values[i].name == name {
			r.values[i].v += v
			return
		}
	}
	r.values = append(r.values, value{name, v})
}

// Value returns the sum of the value called name, and whether there is
// one.
func (r *Recorder) Value(name string) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		if v.name == name {
			return v.v, true
		}
	}
	return 0, false
}

// Start returns when the Recorder began.
func (r *Recorder) Start() time.Time { return r.start }

// Add adds d to the metric called name. Names should be tokens (letters,
// digits, '-', '_', '.'), as the header's grammar wants.
func (r *Recorder) Add(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < r.n; i++ {
		if r.inline[i].name == name {
			r.inline[i].dur += d
			return
		}
	}
	for i := range r.more {
		if r.more[i].name == name {
			r.more[i].dur += d
			return
		}
	}
	if r.n < len(r.inline) {
		r.inline[r.n] = metric{name, d}
		r.n++
		return
	}
	r.more = append(r.more, metric{name, d})
}

// Get returns the sum recorded under name, and whether there is one.
func (r *Recorder) Get(name string) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < r.n; i++ {
		if r.inline[i].name == name {
			return r.inline[i].dur, true
		}
	}
	for _, m := range r.more {
		if m.name == name {
			return m.dur, true
		}
	}
	return 0, false
}

// AppendHeader appends the Server-Timing value to dst: every recorded
// duration in the order first recorded, in milliseconds with two
// decimals, then every value (name;desc=V), then "total" with the time
// from the Recorder's start to now.
func (r *Recorder) AppendHeader(dst []byte, now time.Time) []byte {
	r.mu.Lock()
	for i := 0; i < r.n; i++ {
		dst = appendMetric(dst, r.inline[i].name, r.inline[i].dur)
		dst = append(dst, ", "...)
	}
	for _, m := range r.more {
		dst = appendMetric(dst, m.name, m.dur)
		dst = append(dst, ", "...)
	}
	for _, v := range r.values {
		dst = append(dst, v.name...)
		dst = append(dst, ";desc="...)
		dst = strconv.AppendFloat(dst, v.v, 'f', -1, 64)
		dst = append(dst, ", "...)
	}
	r.mu.Unlock()
	return appendMetric(dst, TotalName, now.Sub(r.start))
}

// Header returns the Server-Timing value as of now.
func (r *Recorder) Header() string {
	var buf [128]byte
	return string(r.AppendHeader(buf[:0], time.Now()))
}

func appendMetric(dst []byte, name string, d time.Duration) []byte {
	dst = append(dst, name...)
	dst = append(dst, ";dur="...)
	return strconv.AppendFloat(dst, float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

type recorderKey struct{}

// ctxRecorder is a context carrying a Recorder, allocated together with it
// (see Middleware) so that a request pays for one allocation, not three.
// Embedding the parent keeps cancellation and deadlines as they were: the
// context package sees through a type that delegates Done and Value.
type ctxRecorder struct {
	context.Context
	rec *Recorder
}

// Value implements context.Context.
func (c *ctxRecorder) Value(key any) any {
	if key == (recorderKey{}) {
		return c.rec
	}
	return c.Context.Value(key)
}

// NewContext returns a context that carries a new Recorder started now,
// for code that is not served through Middleware (a Lambda invocation).
func NewContext(parent context.Context) (context.Context, *Recorder) {
	c := &struct {
		ctx ctxRecorder
		rec Recorder
	}{}
	c.rec.start = time.Now()
	c.ctx = ctxRecorder{Context: parent, rec: &c.rec}
	return &c.ctx, &c.rec
}

// FromContext returns the Recorder in ctx, or nil.
func FromContext(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// Add adds d to the metric called name in ctx's Recorder, if it has one.
func Add(ctx context.Context, name string, d time.Duration) {
	if r := FromContext(ctx); r != nil {
		r.Add(name, d)
	}
}

// AddValue adds v to the value called name in ctx's Recorder, if it has
// one.
func AddValue(ctx context.Context, name string, v float64) {
	if r := FromContext(ctx); r != nil {
		r.AddValue(name, v)
	}
}

// Since adds the time since start to the metric called name in ctx's
// Recorder, if it has one. The usual form is
//
//	start := time.Now()
//	v, err := store.Get(ctx, key)
//	timing.Since(ctx, "store", start)
func Since(ctx context.Context, name string, start time.Time) {
	if r := FromContext(ctx); r != nil {
		r.Add(name, time.Since(start))
	}
}

// Middleware records the time of each request and sets the Server-Timing
// header when next writes the response header (or its first body byte).
// A request that already carries a Recorder (an outer Middleware) is
// passed through unchanged, so the outer one reports the whole time.
// The wrapped ResponseWriter keeps http.Flusher and unwraps for
// http.ResponseController.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if FromContext(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		// One allocation for the context, the Recorder and the writer.
		s := &struct {
			ctx ctxRecorder
			rec Recorder
			w   writer
		}{}
		s.rec.start = time.Now()
		s.ctx = ctxRecorder{Context: r.Context(), rec: &s.rec}
		s.w = writer{ResponseWriter: w, rec: &s.rec}
		next.ServeHTTP(&s.w, r.WithContext(&s.ctx))
		// A handler that wrote nothing gets net/http's implicit 200 once it
		// returns, from the header map as it is now.
		s.w.setHeader()
	})
}

// writer sets the Server-Timing header just before the response header
// is written.
type writer struct {
	http.ResponseWriter
	rec         *Recorder
	wroteHeader bool
	// value backs the header's value slice, saving an allocation.
	value [1]string
}

func (w *writer) setHeader() {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	var buf [128]byte
	w.value[0] = string(w.rec.AppendHeader(buf[:0], time.Now()))
	w.ResponseWriter.Header()[HeaderName] = w.value[:]
}

// WriteHeader implements http.ResponseWriter. Informational (1xx)
// responses pass through without the header: it belongs to the final one.
func (w *writer) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.setHeader()
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *writer) Write(p []byte) (int, error) {
	w.setHeader()
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher; it does nothing when the underlying
// writer cannot flush.
func (w *writer) Flush() {
	w.setHeader()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
