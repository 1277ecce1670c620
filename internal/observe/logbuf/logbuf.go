// Package logbuf is the log output of a busy server: a buffered writer
// flushed on a timer, at once for warnings and errors, and on Close, and
// the slog logger over it.
package logbuf

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer buffers log output so that a busy server does not pay a
// write(2) per request: lines are flushed every FlushEvery, at once for
// records at Warn and above (through NewLogger's handler), and on Close.
// A kill -9 can lose at most the last FlushEvery of Info lines.
type Writer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// FlushEvery is how often a Writer flushes.
const FlushEvery = 200 * time.Millisecond

// NewWriter returns a Writer over w; Close it to stop its flusher.
func NewWriter(w io.Writer) *Writer {
	lw := &Writer{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(lw.done)
		t := time.NewTicker(FlushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				lw.Flush()
			case <-lw.stop:
				return
			}
		}
	}()
	return lw
}

// Write implements io.Writer.
func (lw *Writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// Flush writes out what is buffered.
func (lw *Writer) Flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_ = lw.w.Flush()
}

// Close stops the flusher and flushes; it is safe to call more than once.
func (lw *Writer) Close() {
	select {
	case <-lw.stop:
	default:
		close(lw.stop)
		<-lw.done
	}
	lw.Flush()
}

// NewLogger returns a logger writing to w through a Writer, in JSON or
// text, at level and above; call the returned function before exiting to
// flush it.
func NewLogger(w io.Writer, json bool, level slog.Level) (*slog.Logger, func()) {
	opts := &slog.HandlerOptions{Level: level}
	lw := NewWriter(w)
	var h slog.Handler
	if json {
		h = slog.NewJSONHandler(lw, opts)
	} else {
		h = slog.NewTextHandler(lw, opts)
	}
	return slog.New(flushingHandler{Handler: h, w: lw, text: !json}), lw.Close
}

// flushingHandler flushes the Writer after every record at Warn or
// above, so that warnings and errors are never held back.
// Its text handler writes the records it can itself (see appendText),
// byte for byte as slog's TextHandler would, and leaves the others to
// slog's.
type flushingHandler struct {
	slog.Handler
	w *Writer
	// text is set on the text handler that NewLogger made, before any
	// WithAttrs or WithGroup: records it handles are written by
	// appendText where their attributes allow.
	text bool
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if b, ok := h.appendRecord(r); ok {
		_, err = h.w.Write(*b)
		putBuf(b)
	} else {
		err = h.Handler.Handle(ctx, r)
	}
	if r.Level >= slog.LevelWarn {
		h.w.Flush()
	}
	return err
}

func (h flushingHandler) appendRecord(r slog.Record) (*[]byte, bool) {
	if !h.text {
		return nil, false
	}
	b := getBuf()
	var ok bool
	if *b, ok = appendText(*b, r); !ok {
		putBuf(b)
		return nil, false
	}
	return b, true
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(attrs), w: h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), w: h.w}
}
