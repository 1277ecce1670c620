package function

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// Opener opens the store that cfg names. It runs once, at init, and
// should send nothing over the network, so that a cold start pays for no
// round trip: a store is checked by its first request (or /readyz).
type Opener func(ctx context.Context, cfg *Config) (items.Store, error)

// OpenDynamo is the Opener of the DynamoDB store that cfg names (Table,
// Endpoint, Region, ConsistentReads, MaxAttempts), SURGE_STORE aside. It
// sends nothing to DynamoDB: the table is not checked until the first
// request (or /readyz) uses it.
func OpenDynamo(ctx context.Context, cfg *Config) (items.Store, error) {
	u := &store.URL{Scheme: store.SchemeDynamoDB, Table: cfg.Table, Endpoint: cfg.Endpoint, Region: cfg.Region,
		Consistent: cfg.ConsistentReads}
	s, err := store.OpenURL(ctx, u, DynamoDB(cfg))
	if err != nil {
		return nil, fmt.Errorf("open DynamoDB table %s: %w", cfg.Table, err)
	}
	return s, nil
}

// DynamoDB is the store.Backend of DynamoDB stores with cfg's settings
// (MaxAttempts).
func DynamoDB(cfg *Config) store.Backend {
	var opts []dynamo.Option
	if cfg.MaxAttempts > 0 {
		opts = append(opts, dynamo.WithMaxAttempts(cfg.MaxAttempts))
	}
	return dynamo.Backend(opts...)
}

// Init error types, reported to the Runtime API's init error path in the
// <category>.<reason> form the Runtime API asks for.
const (
	// ErrorTypeConfig is an environment that does not parse.
	ErrorTypeConfig = "Runtime.ConfigInvalid"
	// ErrorTypeStore is a store that does not open.
	ErrorTypeStore = "Function.StoreOpenFailed"
)

// Run is the main of a function program: it reads the configuration from
// the environment, opens the store with open, builds the function, and
// serves events through the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API
// until the process is ended: once the function is built it does not
// return. Everything that can be built before the first event is built
// here, once, outside the handler.
//
// An init failure is reported as a runtime reports one: the error goes to
// the Runtime API's /runtime/init/error (Lambda then answers the
// invocation that was waiting for this instance with it, as a function
// error), a line goes to the log, and Run returns the error, on which the
// program should exit with status 1 (which Lambda would report as
// Runtime.ExitError had the runtime not reported the error first).
func Run(open Opener) error {
	start := time.Now()
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, `{"level":"ERROR","msg":"configuration","err":%q}`+"\n", err.Error())
		ReportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), ErrorTypeConfig, err)
		return fmt.Errorf("configuration: %w", err)
	}
	log := NewLogger(os.Stdout, cfg.LogLevel)
	st, err := open(context.Background(), cfg)
	if err != nil {
		log.Error("init failed", "err", err)
		ReportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), ErrorTypeStore, err)
		return fmt.Errorf("init: %w", err)
	}
	fn := New(cfg, st, log)
	if cfg.DAXEndpoint != "" {
		log.Warn("SURGE_DAX_ENDPOINT is set, but this build has no DAX client: reads go to DynamoDB", "dax_endpoint", cfg.DAXEndpoint)
	}
	log.Info("init", "table", cfg.Table, "region", cfg.Region, "endpoint", cfg.Endpoint, "store", cfg.Store,
		"consistent_reads", cfg.ConsistentReads, "provisioned", cfg.Provisioned, "init_ms", ms(time.Since(start)))
	lambda.Start(fn)
	return nil
}

// NewLogger returns the function's logger: JSON lines at level and above.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// ReportInitError posts err to the init error path of the Runtime API at
// api (host:port), as {"errorMessage", "errorType"} with errorType also in
// the Lambda-Runtime-Function-Error-Type header. It gives up quietly after
// two seconds or on any failure: the process exits next either way, and
// an exit during init is an error Lambda reports by itself.
func ReportInitError(api, errorType string, err error) {
	if api == "" {
		return
	}
	body, _ := json.Marshal(struct {
		Message    string   `json:"errorMessage"`
		Type       string   `json:"errorType"`
		StackTrace []string `json:"stackTrace"`
	}{err.Error(), errorType, []string{}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
	resp, rerr := http.DefaultClient.Do(req)
	if rerr != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
