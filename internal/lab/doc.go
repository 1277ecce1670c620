// Package lab is the article's experiment, end to end: `surge lab` runs
// the seed article's load-testing method against two profiles in turn (its
// baseline and its optimizations, by default), on this machine, through
// the real local stand-ins, and sets each of the article's findings beside
// what it measured here.
//
// # Profiles
//
// A Profile (examples/lab/*.yaml) is a `surge serve` configuration, read
// as `surge serve --config` reads its file, and the article's limits at
// AWS's scale (the stage throttle), which the lab scales first. Settings a
// profile needs that surge cannot run yet are listed as pending, and the
// findings that depend on them are reported as not yet measurable, never
// estimated.
//
// # Stacks
//
// Every request goes through a whole local stack started in this process
// through server.New (internal/server): the gateway's chain, the local
// Lambda's function processes, the store. The lab reads the parts' own
// counters through the observers server.Config takes: the pool's
// invocations and cold starts (lambda.Observer), the response cache's hits
// (gateway.CacheObserver), and the pool's concurrent executions on every
// change of its state (lambda.Pool.Wait). The load itself is the load
// tester's (internal/load), which tells refusals apart by X-Limit-Source
// and cache hits by X-Cache.
//
// # The scale
//
// The article's figures are AWS's: a knee between 150 and 300 requests a
// second at about 80 concurrent executions, a stage limit of 1,000. The
// lab measures this machine first (a warm request's time at each
// profile's memory size; the stack's top rate with the load generator
// beside it), searches the first profile's knee, and sets every rate from
// it: the sustained phase at 70% of the knee, the spike at three times
// that, the stage throttle at 1.75 times the knee (between the two, so
// that the spike crosses it), the knee search's bound at 1.5 times the top
// rate. Scale says what it chose and why, and the reports print it.
//
// # Phases
//
// For each profile, in order: preseed (the data set, in batches), cold
// (idle gaps, each until the pool has stopped its idle on-demand
// instances, then requests from two users), ramp (load.FindKnee), sustained
// (the article's mix and payload sizes), spike (three times the sustained
// rate and back), reads (the dispatcher's reads, eventually then strongly
// consistent, on --dynamodb's engine when given), scans (full scans against
// key lookups as the table grows). Then once, memory: the first profile's
// function at 128, 256, 512 and 1,024 MB, each size a stack, in rounds.
// Against deployed stages (Config.Against), every phase but the memory
// sweep runs, and the cold phase waits Config.IdleGap instead of watching
// a pool.
//
// # Findings and outputs
//
// Findings sets a row per finding of the article, each with the article's
// figure, the figures measured for each profile, the mechanism that
// produced them here and a verdict: reproduced (the article's direction,
// and its size within a factor of two, or the range it states),
// direction only, not reproduced, not measurable here, or not yet
// measurable (a pending setting). A Result holds every phase's runs with
// their histograms (JSON, versioned by ResultSchema), so that `surge lab
// report` redraws the terminal report, the HTML report (a section per phase,
// internal/load/htmlreport's Document) and the Markdown summary.
package lab
