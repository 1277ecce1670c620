package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/surgehq/surge/internal/api/rest"
)

// InvokePrefix is the path prefix of Lambda's Invoke API:
// POST /2015-03-31/functions/{FunctionName}/invocations.
const InvokePrefix = "/2015-03-31/functions/"

// Asynchronous invocation's retries, as Lambda's defaults: a function
// error is retried twice, after a minute and then two; a throttled event
// is retried with backoff (1 s doubling to 5 minutes) until it is 6 hours
// old (MaximumEventAgeInSeconds).
var (
	eventRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}
	eventMaxAge      = 6 * time.Hour
	eventMaxBackoff  = 5 * time.Minute
)

// InvokeAPI serves Lambda's Invoke API for a set of functions: the
// RequestResponse, Event and DryRun invocation types, LogType Tail, the
// Qualifier $LATEST, and the errors and headers AWS answers with. Each
// synchronous invocation runs on its own instance, as on Lambda.
type InvokeAPI struct {
	pools map[string]*Pool
}

// NewInvokeAPI returns the Invoke API of pools.
func NewInvokeAPI(pools ...*Pool) *InvokeAPI {
	a := &InvokeAPI{pools: map[string]*Pool{}}
	for _, p := range pools {
		a.pools[p.cfg.Name] = p
	}
	return a
}

// ServeHTTP implements http.Handler for paths under InvokePrefix.
func (a *InvokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tail, ok := strings.CutPrefix(r.URL.Path, InvokePrefix)
	fname, ok2 := strings.CutSuffix(tail, "/invocations")
	if !ok || !ok2 || fname == "" || strings.Contains(fname, "/") {
		apiError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation", nil)
		return
	}
	if r.Method != http.MethodPost {
		apiError(w, http.StatusMethodNotAllowed, "UnknownOperationException", "Unknown operation", nil)
		return
	}
	name, qualifier, err := parseFunctionName(fname)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException", err.Error(), nil)
		return
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		if qualifier != "" && qualifier != q {
			apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
				"The derived qualifier from the function name does not match the specified qualifier.", nil)
			return
		}
		qualifier = q
	}
	p := a.pools[name]
	if p == nil || (qualifier != "" && qualifier != Latest) {
		arn := "arn:aws:lambda:" + DefaultRegion + ":" + DefaultAccountID + ":function:" + name
		if p != nil {
			arn = p.arn
		}
		if qualifier != "" {
			arn += ":" + qualifier
		}
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn, nil)
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	limit := MaxPayload
	switch {
	case typ != "RequestResponse" && typ != "Event" && typ != "DryRun":
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"1 validation error detected: Value '"+clip(typ)+"' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", nil)
		return
	case logType != "" && logType != "None" && logType != "Tail":
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"1 validation error detected: Value '"+clip(logType)+"' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", nil)
		return
	case typ == "Event":
		limit = MaxEventPayload
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read the request body.", nil)
		return
	}
	if len(payload) > limit {
		apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than "+strconv.Itoa(limit)+" bytes for the Invoke operation", nil)
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException",
			"Could not parse request body into json: the payload is not valid JSON", nil)
		return
	}
	opt := InvokeOptions{RequestID: uuid.NewString(), ClientContext: r.Header.Get("X-Amz-Client-Context"),
		Qualifier: qualifier, Tail: logType == "Tail", TraceID: r.Header.Get("X-Amzn-Trace-Id")}
	h := w.Header()
	h.Set("X-Amzn-Requestid", opt.RequestID)
	switch typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		if err := p.InvokeAsync(payload, opt); err != nil {
			rest.SetLimitSource(h, rest.LimitShutdown)
			apiError(w, http.StatusServiceUnavailable, "ServiceException", "The function is shutting down.", nil)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	res, err := p.Invoke(r.Context(), payload, opt)
	var throttle *ThrottleError
	switch {
	case errors.As(err, &throttle):
		h.Set("Retry-After", strconv.Itoa(max(1, int(throttle.RetryAfter/time.Second))))
		rest.SetLimitSource(h, throttle.LimitSource())
		apiError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.", map[string]string{"Reason": throttle.Reason})
		return
	case r.Context().Err() != nil:
		return
	case err != nil:
		rest.SetLimitSource(h, rest.LimitShutdown)
		apiError(w, http.StatusServiceUnavailable, "ServiceException", "The function is shutting down.", nil)
		return
	}
	h.Set("X-Amz-Executed-Version", Latest)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if opt.Tail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.Log))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(res.Payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// parseFunctionName reads a FunctionName as the Invoke API takes it: a
// name, a partial ARN (ACCOUNT:function:NAME) or a full ARN, each with an
// optional :QUALIFIER.
func parseFunctionName(s string) (name, qualifier string, err error) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 6 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		parts = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		parts = parts[2:]
	}
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, qualifier = parts[0], parts[1]
	default:
		return "", "", errors.New("1 validation error detected: Value '" + clip(s) + "' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern")
	}
	if !validName(name) || (len(parts) == 2 && qualifier == "") {
		return "", "", errors.New("1 validation error detected: Value '" + clip(s) + "' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern")
	}
	return name, qualifier, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// apiError writes an error of Lambda's API: the X-Amzn-Errortype header,
// and {"Type": "User", "message": ...} with extra members.
func apiError(w http.ResponseWriter, status int, typ, msg string, extra map[string]string) {
	body := map[string]string{"Type": "User", "message": msg}
	if status >= 500 {
		body["Type"] = "Service"
	}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("X-Amzn-Errortype", typ)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// InvokeAsync queues an asynchronous (Event) invocation and returns at
// once. It runs in the background with Lambda's retries: a throttled
// event is retried with backoff until it is 6 hours old, a function error
// twice, after 1 and 2 minutes. Outcomes go to the log. It fails only
// when the pool is closed or the payload is over MaxEventPayload.
func (p *Pool) InvokeAsync(payload []byte, opt InvokeOptions) error {
	if len(payload) > MaxEventPayload {
		return &TooLargeError{len(payload), MaxEventPayload}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.wg.Add(1)
	p.mu.Unlock()
	if opt.RequestID == "" {
		opt.RequestID = uuid.NewString()
	}
	go func() {
		defer p.wg.Done()
		p.runEvent(payload, opt)
	}()
	return nil
}

func (p *Pool) runEvent(payload []byte, opt InvokeOptions) {
	born := time.Now()
	backoff := time.Second
	retries := 0
	log := p.cfg.Log.With("function", p.cfg.Name, "request_id", opt.RequestID, "invocation_type", "Event")
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-p.done:
			log.Warn("asynchronous invocation dropped: the pool closed")
			return false
		}
	}
	for {
		res, err := p.Invoke(context.Background(), payload, opt)
		var throttle *ThrottleError
		switch {
		case errors.As(err, &throttle):
			if time.Since(born)+backoff > eventMaxAge {
				log.Warn("asynchronous invocation dropped: throttled past the maximum event age")
				return
			}
			if !wait(backoff) {
				return
			}
			backoff = min(2*backoff, eventMaxBackoff)
			continue
		case err != nil:
			log.Warn("asynchronous invocation dropped", "err", err)
			return
		case res.FunctionError != "" && retries < len(eventRetryDelays):
			log.Warn("asynchronous invocation failed; it will be retried", "error_type", res.ErrorType, "retry", retries+1)
			if !wait(eventRetryDelays[retries]) {
				return
			}
			retries++
			continue
		case res.FunctionError != "":
			log.Warn("asynchronous invocation failed after its retries", "error_type", res.ErrorType,
				"error", string(clipBytes(res.Payload, 512)))
			return
		}
		log.Debug("asynchronous invocation done", "duration", res.Duration)
		return
	}
}
