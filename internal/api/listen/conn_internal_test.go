package listen

import (
	"strings"
	"testing"
)

func TestLineScanner(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"POST / HTTP/1.1\r\nTRANSFER-ENCODING: chunked\r\nX: y\r\ncontent-length: 1\r\n\r\n", true},
		{"POST / HTTP/1.1\nContent-Length: 1\nTransfer-Encoding: chunked\n\n", true},
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nX-Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nContent-Length : 1\r\nTransfer-Encoding: chunked\r\n\r\n", false}, // net/http refuses it
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
	} {
		var s lineScanner
		if got := s.feed([]byte(c.in)); got != c.want {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
}

// FuzzLineScanner: whatever the stream and wherever it is split, the
// scanner finds the same as when fed the stream whole.
func FuzzLineScanner(f *testing.F) {
	f.Add("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 17)
	f.Add("GET / HTTP/1.1\r\n\r\n", 3)
	f.Fuzz(func(t *testing.T, stream string, cut int) {
		var whole lineScanner
		want := whole.feed([]byte(stream))
		if cut < 0 {
			cut = -cut
		}
		cut %= len(stream) + 1
		var parts lineScanner
		got := parts.feed([]byte(stream[:cut]))
		got = parts.feed([]byte(stream[cut:])) || got
		if got != want {
			t.Fatalf("split at %d: got %v, whole: %v", cut, got, want)
		}
		if want && !strings.Contains(strings.ToLower(stream), "transfer-encoding:") {
			t.Fatal("found without the field")
		}
	})
}
