package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/dynamo"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/memstore"
	"github.com/surgehq/surge/internal/metrics"
	"github.com/surgehq/surge/internal/sqlite"
)

// openStore opens the store that c names: --store's URL, or by default the
// SQLite database in --data.
//
//	sqlite:PATH or sqlite://PATH    a SQLite file (created if missing)
//	mem:                            memory only (lost at exit)
//	dynamodb://TABLE?endpoint=URL&region=R&consistent=true
//	                                a DynamoDB table, on AWS or any engine that speaks its API
func openStore(ctx context.Context, c *serveConfig, log *slog.Logger, reg prometheus.Registerer) (items.Store, error) {
	u := c.store
	switch {
	case u == "":
		return openSQLite(filepath.Join(c.data, "items.db"), c.sync, log, reg)
	case strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("store %q: no path", u)
		}
		return openSQLite(path, c.sync, log, reg)
	case u == "mem:" || u == "mem://":
		log.Warn("the memory store keeps nothing after exit")
		return memstore.New(), nil
	case strings.HasPrefix(u, "dynamodb://"):
		s, err := dynamo.OpenURL(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("open store %q: %w", u, err)
		}
		log.Info("store", "kind", "dynamodb", "url", u)
		return s, nil
	default:
		return nil, fmt.Errorf("store %q: unknown kind; want sqlite:PATH, mem: or dynamodb://TABLE", u)
	}
}

func openSQLite(path, sync string, log *slog.Logger, reg prometheus.Registerer) (items.Store, error) {
	s, err := sqlite.Open(path, sqlite.WithSync(sync), sqlite.WithObserver(metrics.NewBatchMetrics(reg)))
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	log.Info("store", "kind", "sqlite", "path", path, "sync", sync)
	return s, nil
}
