package main

import (
	"bytes"
	"sync"
	"time"
)

// syncBuffer is a log destination that tests may read while a process
// writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
