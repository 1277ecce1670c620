package lambda

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// LogSink receives a function's log as Lambda sends it to CloudWatch
// Logs: every line an instance writes (standard output and error), and
// the START, END and REPORT lines of each invocation, in the order of the
// instance's log stream. An instance's lines come from one goroutine, in
// order; lines of several instances may interleave. Line must not keep
// line, nor block for long.
type LogSink interface {
	Line(function, instance string, line []byte)
}

// ConsoleLog is a LogSink that writes each line to a writer, prefixed by
// its function's name ("items | START RequestId: ..."), a whole line per
// write, as `sam local` and compose tools print their containers' logs.
// It is safe for concurrent use.
type ConsoleLog struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewConsoleLog returns a ConsoleLog writing to w.
func NewConsoleLog(w io.Writer) *ConsoleLog { return &ConsoleLog{w: w} }

// Line implements LogSink.
func (c *ConsoleLog) Line(function, _ string, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(append(append(append(c.buf[:0], function...), " | "...), line...), '\n')
	_, _ = c.w.Write(c.buf)
}

// Why the log lines of an instance are in the order Lambda writes them:
// the START line of an invocation must come before what the function
// prints while it runs, and END and REPORT after all of it, although the
// function's output arrives through a pipe that the pool reads on a
// goroutine of its own, later than the Runtime API's requests that
// bracket it. So the pool writes markers into the same pipe (it keeps its
// write end), at the event's delivery and at the function's answer; the
// pipe keeps the order of everything written to it, and the reader writes
// START, END and REPORT where it meets them. Markers are written only
// where someone reads the log (Config.Logs, or an invocation with
// InvokeOptions.Tail), so that a pool without either pays nothing.

// logMagic begins a marker in an instance's output pipe: bytes no line of
// text holds. A marker is "<magic><seq>\n", one write of far less than
// PIPE_BUF, which the kernel keeps whole even among a function's writes.
const logMagic = "\x00\x1esurge-log:"

// logMark is what a marker stands for: an invocation's START, or its END
// and REPORT (with the lines Lambda writes before them for a timeout or
// a crash).
type logMark struct {
	start  bool
	id     string
	before []string // lines before END (an error's)
	report string
	// out is the instance's output offset where the reader met the
	// marker, for Tail; done is closed then.
	out  int64
	done chan struct{}
	once sync.Once
}

// logsOn reports whether inv's log lines are wanted.
func (p *Pool) logsOn(inv *invocation) bool { return p.cfg.Logs != nil || inv.tail }

// mark writes a marker for m into in's output pipe. Where the pipe is
// closed (the process has ended and its output has been read), the lines
// go to the sink at once, there being nothing left to order them behind.
func (in *instance) mark(m *logMark) {
	in.logMu.Lock()
	in.markSeq++
	seq := in.markSeq
	if in.marks == nil {
		in.marks = map[uint64]*logMark{}
	}
	in.marks[seq] = m
	pw := in.pw
	in.logMu.Unlock()
	var b [64]byte
	line := strconv.AppendUint(append(b[:0], logMagic...), seq, 10)
	line = append(line, '\n')
	// Not under logMu: the write may wait for the reader, which takes it.
	if pw != nil {
		if _, err := pw.Write(line); err == nil {
			return
		}
	}
	in.logMu.Lock()
	delete(in.marks, seq)
	in.logMu.Unlock()
	in.markLines(m)
}

// markStart marks inv's START, before its event is delivered.
func (in *instance) markStart(inv *invocation) {
	m := &logMark{start: true, id: inv.id, done: make(chan struct{})}
	inv.startMark = m
	in.mark(m)
}

// markEnd marks inv's END and REPORT, with the lines Lambda writes before
// them for a failed invocation.
func (in *instance) markEnd(inv *invocation, res *Result, before ...string) {
	m := &logMark{id: inv.id, before: before, report: in.report(inv, res), done: make(chan struct{})}
	inv.endMark = m
	in.mark(m)
}

// failLog writes the log of an invocation its instance failed (an exit,
// an init that failed): START where it was never dispatched, Lambda's
// lines of the error, END and REPORT. The instance's output has been
// read by then, so they follow it.
func (in *instance) failLog(inv *invocation, res *Result, lines ...string) {
	if !in.p.logsOn(inv) {
		return
	}
	if inv.startMark == nil {
		in.markStart(inv)
	}
	in.endLog(inv, res, lines...)
}

// markLines writes m's lines to the sink, and tells whoever waits for it.
func (in *instance) markLines(m *logMark) {
	m.once.Do(func() {
		m.out = in.out.written()
		if sink := in.p.cfg.Logs; sink != nil {
			for _, l := range m.lines() {
				sink.Line(in.p.cfg.Name, in.name, []byte(l))
			}
		}
		close(m.done)
	})
}

// lines are the log lines m stands for.
func (m *logMark) lines() []string {
	if m.start {
		return []string{"START RequestId: " + m.id + " Version: " + Latest}
	}
	return append(append([]string(nil), m.before...), "END RequestId: "+m.id, m.report)
}

// readOutput reads the instance's standard output and error, line by
// line, into its log and the pool's sink (and, at debug level, surge's
// log), handling the markers among them. It returns at the end of the
// output, or when r is closed.
func (in *instance) readOutput(r io.Reader) {
	defer close(in.readDone)
	log := in.p.cfg.Log
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	sink := in.p.cfg.Logs
	emit := func(line []byte) {
		in.out.write(line)
		if sink != nil {
			sink.Line(in.p.cfg.Name, in.name, line)
		}
		if debug {
			log.Debug("function output", "function", in.p.cfg.Name, "instance", in.name, "line", string(line))
		}
	}
	marker := func(seq uint64) {
		in.logMu.Lock()
		m := in.marks[seq]
		delete(in.marks, seq)
		in.logMu.Unlock()
		if m != nil {
			in.markLines(m)
		}
	}
	var sp lineSplitter
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		sp.feed(buf[:n], emit, marker)
		if err != nil {
			sp.end(emit)
			return
		}
	}
}

// lineSplitter cuts an instance's output into lines, and finds the
// markers among them (see mark). A marker may land inside a line the
// function was writing, whose two parts then join again.
type lineSplitter struct {
	part []byte // a line begun and not ended
}

// feed splits data, giving each whole line (without its newline) to line
// and each marker's sequence number to marker. A line longer than maxLine
// is cut there.
func (s *lineSplitter) feed(data []byte, line func([]byte), marker func(uint64)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			s.part = append(s.part, data...)
			for len(s.part) >= maxLine {
				line(s.part[:maxLine])
				s.part = append(s.part[:0], s.part[maxLine:]...)
			}
			return
		}
		l := data[:i]
		data = data[i+1:]
		if len(s.part) > 0 {
			s.part = append(s.part, l...)
			l = s.part
		}
		k := bytes.Index(l, []byte(logMagic))
		if k < 0 {
			for len(l) > maxLine {
				line(l[:maxLine])
				l = l[maxLine:]
			}
			line(l)
			s.part = s.part[:0]
			continue
		}
		seq, err := strconv.ParseUint(string(l[k+len(logMagic):]), 10, 64)
		if err == nil {
			marker(seq)
		}
		s.part = append(s.part[:0], l[:k]...)
	}
}

// end gives the last line, unended, to line.
func (s *lineSplitter) end(line func([]byte)) {
	if len(s.part) > 0 {
		line(s.part)
		s.part = s.part[:0]
	}
}

// maxLine is the longest line kept whole; a longer one is cut, as
// CloudWatch Logs cuts events of 256 KB.
const maxLine = 256 << 10

// waitMark waits until the reader has met m (or the output has ended),
// for at most d.
func (in *instance) waitMark(m *logMark, d time.Duration) {
	if m == nil {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.done:
	case <-in.readDone:
	case <-t.C:
	}
}

// closeOutput ends the instance's output once its process has exited:
// the pool's write end is closed, the reader reads what is left up to the
// end (at most a few seconds, for a process that left a child holding
// the pipe), and the lines of markers it never met are written.
func (in *instance) closeOutput(r *os.File) {
	in.logMu.Lock()
	pw := in.pw
	in.pw = nil
	in.logMu.Unlock()
	if pw != nil {
		_ = pw.Close()
	}
	t := time.NewTimer(3 * time.Second)
	select {
	case <-in.readDone:
	case <-t.C:
	}
	t.Stop()
	_ = r.Close()
	<-in.readDone
	in.logMu.Lock()
	left := make([]*logMark, 0, len(in.marks))
	for seq, m := range in.marks {
		left = append(left, m)
		delete(in.marks, seq)
	}
	in.logMu.Unlock()
	for _, m := range left {
		in.markLines(m)
	}
}

// report is Lambda's REPORT line for a finished invocation. Since August
// 2025 Lambda bills a cold start's init with the invocation for every
// runtime ("AWS Lambda standardizes billing for INIT Phase", AWS Compute
// Blog): Billed Duration is Duration plus Init Duration, rounded up to
// the millisecond.
func (in *instance) report(inv *invocation, res *Result) string {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	s := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		inv.id, ms(res.Duration), res.BilledDuration().Milliseconds(), in.p.cfg.MemoryMB, res.MaxMemory>>20)
	if res.Cold {
		s += fmt.Sprintf("Init Duration: %.2f ms\t", ms(res.InitDuration))
	}
	if res.ErrorType == "Sandbox.Timedout" {
		s += "Status: timeout"
	} else if res.ErrorType == "Runtime.ExitError" {
		s += "Status: error\tError Type: Runtime.ExitError"
	}
	return s
}

// BilledDuration is what Lambda bills for the invocation: its Duration,
// and a cold start's Init Duration (see instance.report), rounded up to
// the millisecond.
func (r *Result) BilledDuration() time.Duration {
	d := r.Duration
	if r.Cold {
		d += r.InitDuration
	}
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// memoryEvery is how often an instance's peak memory is read again: the
// peak only grows, and reading it costs a file read per invocation.
const memoryEvery = 100 * time.Millisecond

// peakMemory returns the most memory the instance used so far, in bytes
// (its cgroup's peak, else its process's peak RSS), read at most every
// memoryEvery.
func (in *instance) peakMemory() int64 {
	now := time.Now()
	in.memMu.Lock()
	defer in.memMu.Unlock()
	if !in.memAt.IsZero() && now.Sub(in.memAt) < memoryEvery {
		return in.memPeak
	}
	if n := in.maxMemory(); n > in.memPeak {
		in.memPeak = n
	}
	in.memAt = now
	return in.memPeak
}
