//go:build unix

package sqlite

import (
	"os"

	"golang.org/x/sys/unix"
)

// freeSpace returns the bytes this process may still write in the file
// system of dir (root may use the blocks kept for it).
func freeSpace(dir string) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	blocks := st.Bavail
	if os.Geteuid() == 0 {
		blocks = st.Bfree
	}
	return int64(blocks) * int64(st.Bsize), true
}
