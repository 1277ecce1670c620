package htmlreport_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests open reports from disk in Debian's Chromium, headless,
// with every request but the file itself failed, and read what the page
// drew. One browser serves every test of the package (each test gets its
// own tab); TestMain closes it.

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserStop   []context.CancelFunc
	browserErr    error
	browserDir    string
	requireChrome = os.Getenv("SURGE_REQUIRE_CHROMIUM") == "1"
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, stop := range browserStop {
		stop()
	}
	for _, d := range []string{browserDir, binDir} {
		if d != "" {
			_ = os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// chromiumPath finds the browser: $SURGE_CHROMIUM, or Debian's chromium;
// "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("SURGE_CHROMIUM"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		return ""
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser returns the shared browser's context, starting it the first
// time; without Chromium the test skips, unless SURGE_REQUIRE_CHROMIUM=1.
func browser(tb testing.TB) context.Context {
	tb.Helper()
	path := chromiumPath()
	if path == "" {
		if requireChrome {
			tb.Fatal("chromium not found, and SURGE_REQUIRE_CHROMIUM=1: run scripts/setup, which installs Debian's chromium")
		}
		tb.Skip("chromium not found: skipping the browser tests (scripts/setup installs Debian's chromium; SURGE_REQUIRE_CHROMIUM=1 makes this a failure)")
	}
	browserOnce.Do(func() {
		browserDir, browserErr = os.MkdirTemp("", "surge-chromium-")
		if browserErr != nil {
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox, // as root, in CI
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-domain-reliability", true),
			chromedp.Flag("no-pings", true),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.Flag("font-render-hinting", "none"),
			chromedp.UserDataDir(browserDir),
			chromedp.WindowSize(1200, 900),
		)
		alloc, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, stopCtx := chromedp.NewContext(alloc)
		browserStop = append(browserStop, stopCtx, stopAlloc)
		// The first run starts the browser and lives as long as ctx.
		if browserErr = chromedp.Do(ctx); browserErr == nil {
			browserCtx = ctx
		}
	})
	if browserErr != nil {
		tb.Fatalf("start chromium (%s): %v", path, browserErr)
	}
	return browserCtx
}

// artifacts is where screenshots go: $SURGE_ARTIFACTS, else the test's
// temporary directory.
func artifacts(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("SURGE_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		return d
	}
	return tb.TempDir()
}

// tab is a report opened in a browser tab, with what the page asked for
// and what it complained about.
type tab struct {
	tb       testing.TB
	ctx      context.Context
	url      string
	mu       sync.Mutex
	requests []string // every URL the page asked for, the file's own included
	blocked  []string // requests that were failed
	problems []string // console errors and warnings, exceptions, log errors
}

// open writes page to a file and opens it in a new tab of width by
// height CSS pixels, with every request but the file failed, and waits
// until the page says its charts are drawn.
func open(tb testing.TB, page []byte, name string, width, height int64) *tab {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name+".html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(browser(tb))
	tb.Cleanup(cancel)
	t := &tab{tb: tb, ctx: ctx, url: "file://" + path}
	if err := chromedp.Listen(ctx, t.event); err != nil {
		tb.Fatal(err)
	}
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if ev.Request.URL == t.url {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			t.mu.Lock()
			t.blocked = append(t.blocked, ev.Request.URL)
			t.mu.Unlock()
			_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID,
				ErrorReason: network.ErrorReasonBlockedByClient})
		}
	}()
	step := func(what string, err error) {
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
	}
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	step("network.enable", err)
	_, err = chromedp.Call(ctx, cdplog.Enable, struct{}{})
	step("log.enable", err)
	_, err = chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}})
	step("fetch.enable", err)
	step("viewport", chromedp.Do(ctx, chromedp.EmulateViewport(width, height)))
	step("navigate", chromedp.Do(ctx, chromedp.Navigate(t.url)))
	t.waitDrawn()
	return t
}

func (t *tab) waitDrawn() {
	t.tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("window.surgeReport && window.surgeReport.drawn",
		chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.tb.Fatalf("the page never said its charts were drawn: %v; problems: %v", err, t.issues())
	}
}

func (t *tab) event(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		t.requests = append(t.requests, e.Request.URL)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range e.Args {
				args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			t.problems = append(t.problems, "console."+string(e.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		t.problems = append(t.problems, fmt.Sprintf("exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
			t.problems = append(t.problems, "log "+string(e.Entry.Level)+": "+e.Entry.Text+" "+e.Entry.URL)
		}
	}
}

func (t *tab) issues() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.problems...)
}

// eval evaluates a script in the page and decodes its value.
func eval[T any](t *tab, script string) T {
	t.tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.tb.Fatalf("evaluate %.60q: %v", script, err)
	}
	return v
}

// use does what a reader does: opens every data table, sorts each
// sortable table, and hovers every chart.
func (t *tab) use() {
	t.tb.Helper()
	opened := eval[int](t, `(() => {
		const ds = document.querySelectorAll("details.data");
		ds.forEach(d => { d.open = true; });
		document.querySelectorAll("table.sortable thead button").forEach(b => { b.click(); b.click(); });
		return ds.length;
	})()`)
	// The toggle events that build the tables run after the change.
	ctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`[...document.querySelectorAll("details.data")].every(d => d.querySelector("table"))`)); err != nil {
		t.tb.Fatalf("the %d data tables were not built: %v", opened, err)
	}
}

// offline asserts that the page asked for nothing but its own file and
// complained about nothing.
func (t *tab) offline() {
	t.tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range t.requests {
		if u != t.url {
			t.tb.Errorf("the page requested %s", u)
		}
	}
	if len(t.requests) == 0 {
		t.tb.Error("no request seen at all, not even the file's: the network log is not working")
	}
	for _, u := range t.blocked {
		t.tb.Errorf("the page tried %s (blocked)", u)
	}
	for _, p := range t.problems {
		t.tb.Errorf("page problem: %s", p)
	}
}

// screenshot saves the whole page as a PNG artefact.
func (t *tab) screenshot(name string) string {
	t.tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.tb.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifacts(t.tb), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.tb.Fatal(err)
	}
	t.tb.Logf("screenshot: %s (%d KiB)", path, len(png)>>10)
	return path
}

// chartState is what a chart's library state says it draws.
type chartState struct {
	ID     string
	Width  float64
	Series []struct {
		Label  string
		Show   bool
		Points int
	}
}

// charts reads every drawn chart from uPlot's own state: its series and
// how many finite values each one plots.
func (t *tab) charts() map[string]chartState {
	t.tb.Helper()
	list := eval[[]chartState](t, `Object.entries(window.surgeReport.charts).map(([id, u]) => ({
		ID: id, Width: u.width,
		Series: u.series.slice(1).map((s, i) => ({Label: s.label, Show: s.show,
			Points: u.data[i + 1].filter(v => v != null && Number.isFinite(v)).length}))
	}))`)
	out := map[string]chartState{}
	for _, c := range list {
		out[c.ID] = c
	}
	if errs := eval[[]string](t, `window.surgeReport.errors`); len(errs) > 0 {
		t.tb.Errorf("charts that failed: %v", errs)
	}
	return out
}
