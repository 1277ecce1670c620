// Package syncbuf has a bytes.Buffer that one goroutine may write while
// others read it: the log of a server or process that a test reads as it
// is written.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is safe for concurrent Write and String. The zero value is an
// empty Buffer that keeps everything.
type Buffer struct {
	// Max, when above 0, is about how many bytes the Buffer keeps: once it
	// holds more, later writes are dropped (and reported written).
	Max int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Max > 0 && s.b.Len() > s.Max {
		return len(p), nil
	}
	return s.b.Write(p)
}

// String returns what the Buffer holds.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
