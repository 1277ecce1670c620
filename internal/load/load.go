// Package load is surge's load engine: an open-model (arrival rate) load
// generator that times every request from its intended send time, so that a
// stalled server cannot hide its stall by slowing the generator down
// (coordinated omission), with a closed model (virtual users) as an option.
//
// A run is planned before it starts. A Scenario is plain data: the target,
// the shape of the load (stages ramped linearly, or a preset), the mix of
// CRUD operations, the payloads and the thresholds. It is read from YAML
// (DecodeScenario), and a Field sets one of its fields from text, such as a
// flag; its stages, mixes, payload classes and thresholds have text forms
// that the file and the flags share, parsed once where the text comes in,
// every error reported. NewSchedule turns the stages into the intended send
// time of every request, a pure function.
//
// Run then drives the target: workers (worker.go) take their turns from a
// pacer, take their requests from the run's workload (workload.go), send
// them over a transport, and record into shards that a collector
// (collect.go) drains into a Result. The workload is the CRUD mix of the
// API's shape (request.go), with ids chained from the run's own creates
// (pool.go) and bodies of the payload classes (payload.go); or the
// requests of a Postman collection (collection.go, read by package
// postman), iterated in order by each virtual user as Postman's runner
// does, or sent as an open-model mix chained through what their responses
// captured (chain.go, entries.go), their checks judging each response.
// The API's shape may come from an OpenAPI document (ApplyOpenAPI), and
// Compose builds a command's scenario. A Result holds everything a report
// needs, and reads back from its JSON form; package report renders it.
//
// A plan can be split between generators (Split, shard.go): shard k of N
// sends the plan's requests k, k+N, ..., from one agreed wall-clock start,
// in segments of the time line where a generator's life is bounded; Run
// with WithPart runs one part. Merge (merge.go) adds the parts' results
// exactly, histograms and counts, into the plan's result, and says which
// parts are missing; clock.go measures a generator's clock against the
// coordinator's. Packages shard and distribute run the parts as Lambda
// functions or a Kubernetes Job.
package load
