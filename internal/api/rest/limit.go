package rest

import (
	"net/http"
	"strings"
)

// LimitSourceHeader names the limit that produced a 429 or 503: every
// such answer that a limit of surge (its admission control, the local
// API Gateway's throttling, the local Lambda's concurrency, a shutdown)
// produced carries it, with one of the Limit* values, so that a load
// tester can count refusals by their source. A 429 or 503 without it
// came from elsewhere (the store, or the function's own answer).
const LimitSourceHeader = "X-Limit-Source"

// The values of LimitSourceHeader: one vocabulary for every part.
const (
	// LimitAdmission is surge's admission control: more requests in
	// service and waiting than it admits (503).
	LimitAdmission = "admission"
	// LimitConnections is the API listener's bound on open connections
	// (503; package listen's Shed).
	LimitConnections = "connections"
	// LimitGatewayStage is the gateway's stage throttle (429).
	LimitGatewayStage = "gateway.stage"
	// LimitGatewayAccount is the gateway's account throttle (429).
	LimitGatewayAccount = "gateway.account"
	// LimitGatewayRoute is the gateway's method (route) throttle (429).
	LimitGatewayRoute = "gateway.route"
	// LimitGatewayKey is a usage plan's rate, per API key (429).
	LimitGatewayKey = "gateway.key"
	// LimitGatewayQuota is a usage plan's daily quota, per API key (429).
	LimitGatewayQuota = "gateway.quota"
	// LimitLambdaConcurrency is the function's reserved concurrency or the
	// account's concurrency limit (429, or 500 with
	// --function-throttle-status 500).
	LimitLambdaConcurrency = "lambda.concurrency"
	// LimitLambdaStartRate is the function's start-rate bucket: no new
	// instance may start yet (429, or 500 likewise).
	LimitLambdaStartRate = "lambda.start-rate"
	// LimitTableRead and LimitTableWrite are a table's provisioned read
	// and write capacity, exceeded once the store's retries are spent (503).
	LimitTableRead  = "table.read"
	LimitTableWrite = "table.write"
	// LimitShutdown is a request refused because surge, or the part that
	// would serve it, is shutting down (503).
	LimitShutdown = "shutdown"
)

// LimitSources returns every value of LimitSourceHeader, in the order of
// the documentation.
func LimitSources() []string {
	return []string{LimitAdmission, LimitConnections, LimitGatewayStage, LimitGatewayAccount, LimitGatewayRoute,
		LimitGatewayKey, LimitGatewayQuota, LimitLambdaConcurrency, LimitLambdaStartRate,
		LimitTableRead, LimitTableWrite, LimitShutdown}
}

// SetLimitSource marks a response as refused by the limit source; call it
// before the response's header is written.
func SetLimitSource(h http.Header, source string) {
	h[LimitSourceHeader] = []string{source}
}

// WriteLimited writes err (a 429 or 503) as WriteError does, marked with
// the limit source that refused the request.
func WriteLimited(w http.ResponseWriter, source string, err error) {
	SetLimitSource(w.Header(), source)
	WriteError(w, err)
}

// LimitSource returns the limit source of a response's header, "" when it
// has none; a value outside the vocabulary is returned as it is.
func LimitSource(h http.Header) string {
	return strings.TrimSpace(h.Get(LimitSourceHeader))
}
