package sqlite

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ncruces/go-sqlite3"

	"github.com/surgehq/surge/internal/items"
)

// sqliteHeader is how every SQLite database file begins.
const sqliteHeader = "SQLite format 3\x00"

// checkFile looks at the database file before SQLite does, so that a
// file surge cannot use stops the start with a message that says why:
// SQLite opens a file it may only read read-only and fails only at the
// first write, and says no more of a file that is not a database than
// "file is not a database". A missing file is fine: it is created.
func checkFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("the database file %s cannot be opened for reading and writing: permission denied (surge needs both, on the file and on its directory)", path)
	case errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("the database path %s is a directory, not a database file", path)
	case err != nil:
		return fmt.Errorf("the database file %s cannot be opened: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	if n == 0 && (err == io.EOF || err == nil) {
		return nil // an empty file is a new database to SQLite
	}
	if string(head[:n]) != sqliteHeader {
		return fmt.Errorf("%s is not an SQLite database (it does not begin with SQLite's header); move it away, or point --data or --store at another file", path)
	}
	return nil
}

// openError explains an error of opening the database that SQLite itself
// reports tersely.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, sqlite3.NOTADB):
		return fmt.Errorf("%s is not an SQLite database (or is damaged beyond its header): %w", path, err)
	case errors.Is(err, sqlite3.CANTOPEN), errors.Is(err, sqlite3.READONLY):
		return fmt.Errorf("the database %s cannot be opened for writing; check the permissions of the file, of its -wal and -shm files and of its directory: %w", path, err)
	case isFull(err, path):
		return fmt.Errorf("the file system of %s is full: %w", path, err)
	}
	return err
}

// errFull answers a write that found the file system full: nothing of it
// was written, and it may succeed once space returns.
var errFull = &items.Error{Code: items.EUNAVAILABLE, Message: "The store has no space left to write; retry later.", RetryAfter: 5}

// writeError is storeError for a write, which may also have found the
// file system full: that is EUNAVAILABLE (retry once space returns),
// logged as such.
func (s *Store) writeError(what string, err error) error {
	if err != nil && isFull(err, s.path) {
		return fmt.Errorf("%s: the file system is full: %w: %w", what, errFull, err)
	}
	return storeError(nil, what, err)
}

// lowSpace is the free space under which a write's I/O error is taken
// for a full file system.
const lowSpace = 4 << 20

// isFull reports whether err is a write that found the file system of
// path full: SQLite's SQLITE_FULL, or an I/O error while the file system
// has (next to) no space left. The driver reports a write that failed
// with ENOSPC as a bare SQLITE_IOERR_WRITE, so the free space says which
// it was.
func isFull(err error, path string) bool {
	if errors.Is(err, sqlite3.FULL) || errors.Is(err, syscall.ENOSPC) {
		return true
	}
	if !errors.Is(err, sqlite3.IOERR) {
		return false
	}
	free, ok := freeSpace(filepath.Dir(path))
	return ok && free < lowSpace
}
