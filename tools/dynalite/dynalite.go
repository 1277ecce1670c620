// Package dynalite holds the files of surge's pinned dynalite, a
// DynamoDB-API engine on Node.js: serve.js, which runs it with what surge
// adds, and the npm manifest and lock file that pin it. Package
// internal/local/dynalite launches it; this package embeds the files so
// that a surge binary outside its checkout can install and run the same
// engine.
package dynalite

import "embed"

// Files are serve.js, package.json and package-lock.json.
//
//go:embed serve.js package.json package-lock.json
var Files embed.FS
