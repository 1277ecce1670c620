//go:build !unix

package load

// maxRSS is unknown on this system.
func maxRSS() int64 { return 0 }
