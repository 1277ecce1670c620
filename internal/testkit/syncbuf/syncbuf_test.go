package syncbuf_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

func TestConcurrentWriteAndRead(t *testing.T) {
	var b syncbuf.Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			b.Write([]byte("x"))
		}
	})
	for range 100 {
		_ = b.String()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 1000) {
		t.Fatalf("got %d bytes, want 1000", len(got))
	}
}

func TestMax(t *testing.T) {
	b := syncbuf.Buffer{Max: 4}
	for _, s := range []string{"abc", "de", "fg"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "abcde" {
		t.Fatalf("got %q, want the writes until more than 4 bytes were held", got)
	}
}
