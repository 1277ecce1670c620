package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/store/readcache"
)

// ReadCache exports a read cache's counters to Prometheus, read at scrape
// time so that the cache's hot path pays for atomic counters only.
type ReadCache struct {
	c                                         *readcache.Cache
	lookups, evictions, entries, bytes, ratio *prometheus.Desc
}

// NewReadCache returns the collector of c's counters; register it with a
// prometheus.Registerer.
func NewReadCache(c *readcache.Cache) *ReadCache {
	labels := []string{"cache"}
	return &ReadCache{
		c: c,
		lookups: prometheus.NewDesc("surge_readcache_lookups_total",
			"Read-cache lookups, by cache (item or query) and result: hit, miss (read from the store and cached) or bypass (a consistent read).",
			[]string{"cache", "result"}, nil),
		evictions: prometheus.NewDesc("surge_readcache_evictions_total",
			"Read-cache entries evicted to respect the LRU bounds, by cache.", labels, nil),
		entries: prometheus.NewDesc("surge_readcache_entries",
			"Read-cache entries held, by cache.", labels, nil),
		bytes: prometheus.NewDesc("surge_readcache_bytes",
			"Read-cache bytes held (data plus a per-entry overhead), by cache.", labels, nil),
		ratio: prometheus.NewDesc("surge_readcache_hit_ratio",
			"Read-cache hits over hits and misses since start, by cache (0 before any lookup).", labels, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *ReadCache) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.lookups
	ch <- m.evictions
	ch <- m.entries
	ch <- m.bytes
	ch <- m.ratio
}

// Collect implements prometheus.Collector.
func (m *ReadCache) Collect(ch chan<- prometheus.Metric) {
	for _, k := range []struct {
		name string
		s    readcache.Stats
	}{{"item", m.c.ItemStats()}, {"query", m.c.QueryStats()}} {
		ch <- prometheus.MustNewConstMetric(m.lookups, prometheus.CounterValue, float64(k.s.Hits), k.name, "hit")
		ch <- prometheus.MustNewConstMetric(m.lookups, prometheus.CounterValue, float64(k.s.Misses), k.name, "miss")
		ch <- prometheus.MustNewConstMetric(m.lookups, prometheus.CounterValue, float64(k.s.Bypasses), k.name, "bypass")
		ch <- prometheus.MustNewConstMetric(m.evictions, prometheus.CounterValue, float64(k.s.Evictions), k.name)
		ch <- prometheus.MustNewConstMetric(m.entries, prometheus.GaugeValue, float64(k.s.Entries), k.name)
		ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.GaugeValue, float64(k.s.Bytes), k.name)
		ratio := 0.0
		if n := k.s.Hits + k.s.Misses; n > 0 {
			ratio = float64(k.s.Hits) / float64(n)
		}
		ch <- prometheus.MustNewConstMetric(m.ratio, prometheus.GaugeValue, ratio, k.name)
	}
}
