//go:build linux || darwin

package sqlite

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// walIndex is a read-only view of the first page of a database's
// WAL-index (its -shm file), which every connection of every process maps
// while it has the database open: the driver maps the file itself on
// these systems, so this view sees the same bytes.
type walIndex struct {
	mem []byte
}

// openWALIndex maps path's WAL-index, or returns nil when it cannot (no
// -shm file yet, or a file system that does not map it).
func openWALIndex(dbPath string) *walIndex {
	f, err := os.Open(dbPath + "-shm")
	if err != nil {
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() < walIndexMapSize {
		return nil
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, walIndexMapSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	return &walIndex{mem: mem}
}

// walIndexMapSize is what is mapped: the header's two copies are its
// first 96 bytes.
const walIndexMapSize = 4096

// stamp reads the WAL-index header as SQLite's readers do: the first copy,
// then the second, which a writer updates in the other order; a header
// whose copies differ is being written, and one not initialised is
// being rebuilt: both report false.
func (w *walIndex) stamp() (walStamp, bool) {
	var a, b walStamp
	p := (*[2 * len(walStamp{})]uint32)(unsafe.Pointer(&w.mem[0]))
	for i := range a {
		a[i] = atomic.LoadUint32(&p[i])
	}
	for i := range b {
		b[i] = atomic.LoadUint32(&p[len(a)+i])
	}
	// isInit is the byte at offset 12, the low byte of word 3 in the
	// file's (native) byte order.
	isInit := (*[4]byte)(unsafe.Pointer(&a[3]))[0]
	return a, a == b && isInit != 0
}

func (w *walIndex) close() {
	if w != nil {
		_ = unix.Munmap(w.mem)
	}
}
