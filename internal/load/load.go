// Package load is surge's load engine: an open-model (arrival rate) load
// generator that times every request from its intended send time, so that a
// stalled server cannot hide its stall by slowing the generator down
// (coordinated omission), with a closed model (virtual users) as an option.
//
// A run is planned before it starts: a Scenario names the target, the shape
// of the load (stages ramped linearly, or a preset), the mix of CRUD
// operations and the payloads; NewSchedule turns the stages into the
// intended send time of every request, a pure function. Run then drives the
// target and returns a Result, which holds everything a report needs.
package load
