// Package htmlreport writes what surge load measured as one HTML file that
// people open from disk and paste into a ticket: the verdict, the key
// figures, a sortable table per operation, and charts of the run over time
// and of its latency distributions, for one run (Run), for a baseline
// against a change (Compare, every chart overlaying both and each
// operation's difference tested), or for a document of several sections
// with tables of findings (Document, as the lab writes).
//
// The file is self-contained: its styles, its scripts (the charting
// library uPlot, vendored into third_party/uplot at a pinned version by
// scripts/vendor-chartlib, and a small drawer of its own) and its data are
// inline, it uses the reader's system fonts, and its Content-Security-Policy
// forbids every fetch, so opening it makes no request of any kind. The data
// is compact: each histogram is embedded as its percentile curve and each
// time series as one array per quantity, not as the result's encodings, so
// a ten-minute run with eight operations stays well under a megabyte.
//
// # Optional data
//
// Some charts need data that load.Result does not carry yet. Extra holds
// it; its JSON form is the shape those members take inside a result file,
// so that the load tester adds them to load.Result (and load.Point and
// load.OpResult) under the same names and the report draws them, read from
// the result's own JSON, with no change here:
//
//	{
//	  "series": [{                  // beside load.Point's members, matched by "t"
//	    "t": 12,
//	    "statuses": {"200": 950, "429": 12},            // status codes over time
//	    "statusSources": {"429": {"gateway": 9, "function": 3}, "503": {"pool": 1}},
//	    "coldStarts": 2,            // cold starts over time
//	    "dropped": 0,               // dropped requests over time
//	    "cacheHits": 610, "cacheMisses": 40,            // response cache
//	    "invocations": 340,         // function invocations
//	    "concurrency": 17           // the target's concurrent executions
//	  }],
//	  "ops": [{                     // beside load.OpResult's members, matched by "name"
//	    "name": "read",
//	    "coldLatencyHist": "HISTF...", "warmLatencyHist": "HISTF..."   // load.EncodeHist
//	  }],
//	  "payloadLatency": [{"op": "create", "size": 4096, "latencyHist": "HISTF..."}],
//	  "knee": {"rate": 310, "p99Ms": 48, "note": "p99 doubles past it"},
//	  "cost": {"currency": "USD", "total": 0.0123, "perMillion": 4.1,
//	           "parts": [{"name": "Lambda", "amount": 0.008}]},
//	  "partial": true               // the file stops before the run's end
//	}
//
// Counts in "series" are of the interval; the charts divide them by its
// length. A chart whose data is absent is replaced by a sentence that says
// so and names the member it would read.
//
// # Comparisons
//
// The per-operation table of a comparison flags a difference as
// significant only when a Mann-Whitney U test on the two runs' recorded
// latency histograms (all their requests, bucket by bucket) gives a
// two-sided p-value below Alpha (0.01), and shows the effect size A12, the
// probability that a request of the change is slower than one of the
// baseline.
package htmlreport
