// Package localstore opens the store of a local function instance, one
// that `surge serve --functions` starts: SQLite, memory or the read cache
// that surge serve shares (SURGE_STORE), or else the DynamoDB table, which
// is all the Lambda build (cmd/bootstrap) opens. Both programs that run
// local instances use it: `surge function` and cmd/surge-function.
package localstore

import (
	"context"

	"github.com/surgehq/surge/internal/function"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/memstore"
	"github.com/surgehq/surge/internal/store/remote"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// Open opens the store cfg names: SURGE_STORE, else the DynamoDB table as
// cmd/bootstrap does. An instance serves one request at a time, so SQLite
// gets one read connection, and opens its writer at the first write: an
// instance that only reads starts with one connection, and takes no write
// lock to start.
func Open(ctx context.Context, cfg *function.Config) (items.Store, error) {
	if cfg.Store == "" {
		return function.OpenDynamo(ctx, cfg)
	}
	sync := cfg.Sync
	if sync == "" {
		sync = sqlite.DefaultSync
	}
	return store.Open(ctx, cfg.Store, sqlite.Backend(sqlite.WithSync(sync), sqlite.WithReadConns(1), sqlite.WithWriterOnFirstWrite()),
		function.DynamoDB(cfg), memstore.Backend(), remote.Backend(remote.WithToken(cfg.StoreToken)))
}
