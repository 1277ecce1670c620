//go:build !(linux || darwin)

package sqlite

// walIndex is not mapped on these systems, where the driver keeps the
// WAL-index in a way this package does not read: the item cache is off.
type walIndex struct{}

func openWALIndex(string) *walIndex { return nil }

func (w *walIndex) stamp() (walStamp, bool) { return walStamp{}, false }

func (w *walIndex) close() {}
