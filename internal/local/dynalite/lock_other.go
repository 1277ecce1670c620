//go:build !unix

package dynalite

import "os"

// lockFile does nothing where flock is missing: two installs at once
// then both run npm ci, which is slower but not wrong.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
