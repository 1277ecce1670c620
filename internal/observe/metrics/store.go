// Package metrics feeds Prometheus from the parts that must not import it:
// each type here implements the observer interface of one part (a
// store.Hook, sqlite and dynamo observers, the gateway's request, auth,
// throttle and cache observers, the local Lambda's pool observer, the
// table's capacity observers) or
// collects a part's counters at scrape time (the read cache). Only the
// composition root (package server) and the admin listener use it, so
// that the Lambda binary links no Prometheus.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
)

// Store times the operations of a store into Prometheus: a store.Hook.
// Ping is not timed.
type Store struct {
	duration *prometheus.HistogramVec
}

// NewStore makes the store collectors and registers them with reg.
func NewStore(reg prometheus.Registerer) *Store {
	m := &Store{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "surge_store_operation_duration_seconds",
			Help: "Time of a store operation, by operation and outcome (ok or the error code).",
			// From 10 µs to about 5 s.
			Buckets: prometheus.ExponentialBuckets(10e-6, 2.5, 15),
		}, []string{"op", "outcome"}),
	}
	reg.MustRegister(m.duration)
	return m
}

// Before implements store.Hook.
func (m *Store) Before(ctx context.Context, _ store.Op) context.Context { return ctx }

// After implements store.Hook: it records the operation's time, labelled
// by its outcome, "ok" or the error code (not found, conflict, ...).
func (m *Store) After(_ context.Context, op store.Op, err error) error {
	if op.Name == store.OpPing {
		return err
	}
	outcome := "ok"
	if err != nil {
		outcome = items.ErrorCode(err)
	}
	m.duration.WithLabelValues(op.Name, outcome).Observe(time.Since(op.Start).Seconds())
	return err
}

// BatchMetrics observe a group-committing backend's batches.
type BatchMetrics struct {
	size     prometheus.Histogram
	duration prometheus.Histogram
}

// NewBatchMetrics makes the batch collectors and registers them with reg.
func NewBatchMetrics(reg prometheus.Registerer) *BatchMetrics {
	m := &BatchMetrics{
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "surge_store_commit_batch_size",
			Help:    "Writes committed together in one group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "surge_store_commit_batch_duration_seconds",
			Help:    "Time of one group-commit transaction, from begin to commit.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 2.5, 15),
		}),
	}
	reg.MustRegister(m.size, m.duration)
	return m
}

// OnBatch records one committed batch of size writes that took d.
func (m *BatchMetrics) OnBatch(size int, d time.Duration) {
	m.size.Observe(float64(size))
	m.duration.Observe(d.Seconds())
}
