package logbuf_test

import (
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/observe/logbuf"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

func TestLogger(t *testing.T) {
	out := &syncbuf.Buffer{}
	log, flush := logbuf.NewLogger(out, true, 0)
	log.Info("held")
	if out.String() != "" {
		t.Fatalf("an Info line went out at once: %q", out)
	}
	// A warning flushes what is held, itself included.
	log.Warn("urgent")
	if s := out.String(); !strings.Contains(s, `"msg":"held"`) || !strings.Contains(s, `"msg":"urgent"`) {
		t.Fatalf("after a warning: got %q", s)
	}
	// Info lines go out on the timer.
	log.Info("later")
	for deadline := time.Now().Add(10 * logbuf.FlushEvery); !strings.Contains(out.String(), "later"); {
		if time.Now().After(deadline) {
			t.Fatalf("the timer did not flush: %q", out)
		}
		time.Sleep(logbuf.FlushEvery / 4)
	}
	// And on close, which is safe twice.
	log.With("k", "v").Info("last")
	flush()
	flush()
	if s := out.String(); !strings.Contains(s, `"msg":"last","k":"v"`) {
		t.Errorf("after close: got %q", s)
	}
	log.Debug("below the level")
	if strings.Contains(out.String(), "below the level") {
		t.Error("a Debug line was logged at Info level")
	}
}
