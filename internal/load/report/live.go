package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/surgehq/surge/internal/load"
)

// Live shows a run's progress: on a terminal one status line redrawn in
// place after every interval; elsewhere (a log, a CI job) a plain line
// every Every, so that the output stays readable and small.
type Live struct {
	w     io.Writer
	tty   bool
	every time.Duration

	mu      sync.Mutex
	last    time.Duration
	started bool
}

// NewLive returns a progress display writing to w. On a terminal (tty) it
// redraws one line; otherwise it prints a line at most once per every.
func NewLive(w io.Writer, tty bool, every time.Duration) *Live {
	if every <= 0 {
		every = 10 * time.Second
	}
	return &Live{w: w, tty: tty, every: every}
}

// Update shows p; it is safe to call from the engine's collector.
func (l *Live) Update(p load.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tty {
		// \r and erase-line: rewrite the status line in place.
		fmt.Fprintf(l.w, "\r\x1b[K%s", Line(p, true))
		l.started = true
		return
	}
	// Updates come about once per interval, a little late or early: a
	// tenth of slack keeps a line per period.
	if l.started && p.Elapsed-l.last < l.every-l.every/10 {
		return
	}
	l.started, l.last = true, p.Elapsed
	fmt.Fprintln(l.w, Line(p, false))
}

// IsTerminal reports whether w is a terminal, where a Live redraws its
// line in place.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// Done ends the display, leaving the terminal's cursor on a fresh line.
func (l *Live) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tty && l.started {
		fmt.Fprint(l.w, "\r\x1b[K")
	}
}

// Line renders one progress line: elapsed of total (with a bar on a
// terminal), offered and achieved rate, the last interval's p99, errors,
// in flight, late and dropped.
func Line(p load.Progress, bar bool) string {
	var b strings.Builder
	el := p.Elapsed.Round(100 * time.Millisecond)
	if p.Planned > 0 {
		fmt.Fprintf(&b, "%7s/%s", el, p.Planned.Round(100*time.Millisecond))
		if bar {
			const width = 20
			f := min(1, max(0, p.Elapsed.Seconds()/p.Planned.Seconds()))
			n := int(f * width)
			b.WriteString(" [" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]")
		}
	} else {
		fmt.Fprintf(&b, "%7s", el)
	}
	if p.Model == load.ModelOpen {
		fmt.Fprintf(&b, "  offered %s", rate(p.Last.Offered))
	}
	fmt.Fprintf(&b, "  achieved %s  p99 %sms", rate(p.Last.Rate), msec(p.Last.P99))
	errRate := 0.0
	if p.Done > 0 {
		errRate = float64(p.Errors) / float64(p.Done)
	}
	fmt.Fprintf(&b, "  errors %d (%s)  in flight %d", p.Errors, pct(errRate), p.Last.InFlight)
	if p.Model == load.ModelOpen {
		fmt.Fprintf(&b, "  late %d  dropped %d", p.Late, p.Dropped)
	}
	return b.String()
}
