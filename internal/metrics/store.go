// Package metrics feeds Prometheus from the parts that must not import it:
// a store wrapper that times every operation, and observers for backends.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/items"
)

// StoreMetrics are the collectors of Store.
type StoreMetrics struct {
	duration *prometheus.HistogramVec
}

// NewStoreMetrics makes the store collectors and registers them with reg.
func NewStoreMetrics(reg prometheus.Registerer) *StoreMetrics {
	m := &StoreMetrics{
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

// Store wraps s so that every operation is timed into m.
func (m *StoreMetrics) Store(s items.Store) items.Store {
	return &store{Store: s, m: m}
}

type store struct {
	items.Store
	m *StoreMetrics
}

// observe records an operation that began at start and ended with err.
// Expected outcomes (not found, conflict, ...) are labelled by their code.
func (s *store) observe(op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = items.ErrorCode(err)
	}
	s.m.duration.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

func (s *store) Get(ctx context.Context, key items.Key, opt items.ReadOptions) (*items.Item, error) {
	start := time.Now()
	it, err := s.Store.Get(ctx, key, opt)
	s.observe("get", start, err)
	return it, err
}

func (s *store) Create(ctx context.Context, key items.Key, attrs items.Attributes, idem *items.Idempotency) (*items.Created, error) {
	start := time.Now()
	c, err := s.Store.Create(ctx, key, attrs, idem)
	s.observe("create", start, err)
	return c, err
}

func (s *store) Replace(ctx context.Context, key items.Key, attrs items.Attributes, cond items.Condition) (*items.Item, error) {
	start := time.Now()
	it, err := s.Store.Replace(ctx, key, attrs, cond)
	s.observe("replace", start, err)
	return it, err
}

func (s *store) Delete(ctx context.Context, key items.Key, cond items.Condition) error {
	start := time.Now()
	err := s.Store.Delete(ctx, key, cond)
	s.observe("delete", start, err)
	return err
}

func (s *store) List(ctx context.Context, tenant string, q items.ListQuery) (*items.Page, error) {
	start := time.Now()
	p, err := s.Store.List(ctx, tenant, q)
	s.observe("list", start, err)
	return p, err
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
