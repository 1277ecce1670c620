// Package examples holds surge's example configuration files, embedded so
// that the binary can offer them as presets (`surge serve --optimized`)
// with the very bytes a person reads here.
package examples

import _ "embed"

// Optimized is optimized.yaml: the seed article's optimizations (response
// cache, stage throttling, read cache) as a `surge serve` config file.
//
//go:embed optimized.yaml
var Optimized []byte
