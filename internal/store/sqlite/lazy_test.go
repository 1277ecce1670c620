package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// TestWriterOnFirstWrite: with the option, a store on a file with the
// current schema opens while another connection holds the write lock (it
// takes none), reads, and writes once the lock is gone; a new file is
// made as without the option.
func TestWriterOnFirstWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.db")
	// A new file: the option cannot defer the schema.
	s, err := sqlite.Open(path, sqlite.WithWriterOnFirstWrite())
	if err != nil {
		t.Fatal(err)
	}
	key := items.Key{Tenant: "t", ID: "a"}
	if _, err := s.Create(ctx, key, items.Attributes(`{"name":"a"}`), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Another process holds the write lock.
	lock, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := lock.Exec("BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	short := sqlite.WithBusyTimeout(200 * time.Millisecond)
	if s, err := sqlite.Open(path, short); err == nil {
		s.Close()
		t.Fatal("opened without the option while another connection held the write lock; the check is void")
	}
	s, err = sqlite.Open(path, short, sqlite.WithWriterOnFirstWrite())
	if err != nil {
		t.Fatalf("open with the option while the write lock is held: %v", err)
	}
	defer s.Close()
	if it, err := s.Get(ctx, key, items.ReadOptions{}); err != nil || it.Attrs.String() != `{"name":"a"}` {
		t.Fatalf("get: %v %v", it, err)
	}
	// The first write waits for the lock like any write, and fails when
	// it outlasts the busy timeout.
	if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "b"}, items.Attributes(`{"name":"b"}`), nil); err == nil {
		t.Fatal("a write went through while another connection held the write lock")
	}
	if err := lock.Exec("ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "b"}, items.Attributes(`{"name":"b"}`), nil); err != nil {
		t.Fatalf("the first write after the lock: %v", err)
	}
	if it, err := s.Get(ctx, items.Key{Tenant: "t", ID: "b"}, items.ReadOptions{}); err != nil || it.Version != 1 {
		t.Fatalf("get b: %v %v", it, err)
	}
}
