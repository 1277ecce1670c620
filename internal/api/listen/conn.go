package listen

import (
	"net"
	"sync/atomic"
)

// conn is a connection whose bytes are watched, as net/http reads them,
// for a header block that has both a Content-Length and a
// Transfer-Encoding field. net/http parses requests; this only looks at
// lines: a header block is a run of non-empty lines (the request line and
// its fields), ended by an empty line, so every request's fields are seen
// together. A body may hold lines that look like fields; at worst that
// marks the sender's own connection, which is then closed after its next
// answer. Once marked, a connection stays marked.
type conn struct {
	net.Conn
	// smuggling is set once a header block had both fields.
	smuggling atomic.Bool
	scan      lineScanner
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.scan.feed(b[:n]) {
		c.smuggling.Store(true)
	}
	return n, err
}

// prefixLen is the length of the longest field name looked for, with its
// colon: "transfer-encoding:".
const prefixLen = len("transfer-encoding:")

// lineScanner finds header blocks with both Content-Length and
// Transfer-Encoding in a byte stream fed to it in pieces.
type lineScanner struct {
	// line holds the current line's first bytes, lower-cased; n counts
	// its bytes (up to prefixLen+1).
	line [prefixLen]byte
	n    int
	// cl and te are set when the current block had the field.
	cl, te bool
}

// feed scans b and reports whether a block with both fields was seen.
func (s *lineScanner) feed(b []byte) bool {
	found := false
	for _, c := range b {
		if c != '\n' {
			if s.n < prefixLen {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				s.line[s.n] = c
			}
			if s.n <= prefixLen {
				s.n++
			}
			continue
		}
		// The end of a line (a bare LF ends one too, as net/http reads).
		switch line := s.line[:min(s.n, prefixLen)]; {
		case s.n == 0 || (s.n == 1 && line[0] == '\r'):
			s.cl, s.te = false, false // an empty line ends the block
		case hasPrefix(line, "content-length:"):
			s.cl = true
		case hasPrefix(line, "transfer-encoding:"):
			s.te = true
		}
		if s.cl && s.te {
			found = true
		}
		s.n = 0
	}
	return found
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}
