// Package lab holds the profiles of `surge lab` (see README.md), embedded
// so that the binary runs the article's experiment with the very files a
// person reads and edits here.
package lab

import "embed"

// Files holds the profiles, by file name (baseline.yaml, optimized.yaml).
//
//go:embed *.yaml
var Files embed.FS

// Default are the profiles `surge lab` compares when none is given, the
// baseline first.
var Default = []string{"baseline.yaml", "optimized.yaml"}
