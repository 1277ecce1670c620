package function

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
)

// Config is the function's configuration, read once at init from the
// environment by LoadConfig; Environ is its inverse, the environment a
// function instance is given (by `surge serve --functions`). Each field's
// comment names its variable.
type Config struct {
	// Store is SURGE_STORE: the store URL for an Opener that understands
	// several kinds (the surge binary's: sqlite:PATH, dynamodb://TABLE...).
	// The Lambda build ignores it and always opens Table in DynamoDB.
	Store string
	// StoreToken is SURGE_STORE_TOKEN: the token the store named by Store
	// requires (the read cache that `surge serve` shares with its
	// instances, dax://; see package remote). It is a secret of the run,
	// never logged.
	StoreToken string
	// Sync is SURGE_SYNC: a SQLite store's durability, normal or full
	// (default "": the store's own, normal).
	Sync string
	// Table is SURGE_TABLE: the DynamoDB table of the items, and the only
	// tableName the /ops dispatcher accepts (default "items").
	Table string
	// Endpoint is SURGE_DYNAMODB_ENDPOINT: a DynamoDB API endpoint to use
	// instead of AWS's (DynamoDB Local, dynalite); empty on AWS.
	Endpoint string
	// Region is SURGE_REGION, else AWS_REGION, which Lambda sets.
	Region string
	// ConsistentReads is SURGE_CONSISTENT_READS: strongly consistent reads
	// for every read (default false: DynamoDB's eventually consistent
	// reads, half the read capacity).
	ConsistentReads bool
	// MaxAttempts is SURGE_DYNAMODB_MAX_ATTEMPTS: how many times a
	// throttled DynamoDB call is tried before the request is answered 503
	// (default 0: the store's own, dynamo.DefaultMaxAttempts).
	MaxAttempts int
	// LogLevel is SURGE_LOG_LEVEL, else AWS_LAMBDA_LOG_LEVEL (set by
	// Lambda's advanced logging controls): debug, info, warn or error
	// (default info).
	LogLevel slog.Level
	// CacheControl is SURGE_CACHE_CONTROL: the Cache-Control header of
	// GET /items/{id} (default itemsapi.DefaultCacheControl).
	CacheControl string
	// APIKeyTenant is SURGE_TENANT_FROM_API_KEY: when the authorizer gives
	// no tenant, a REST API request is the tenant of the API key that API
	// Gateway validated (its key id). Turn it on only where every method
	// requires an API key (deploy/aws/template.yaml does).
	APIKeyTenant bool
	// DirectTenant is SURGE_DIRECT_TENANT: the tenant of direct
	// invocations with the original function's event (default "default").
	// A direct invocation is authorized by IAM, which names no tenant.
	DirectTenant string
	// DAXEndpoint is SURGE_DAX_ENDPOINT, which the template sets when it
	// creates a DAX cluster. DAX speaks its own protocol and this build
	// has no DAX client, so it is only reported at init.
	DAXEndpoint string
	// Provisioned is true when Lambda initialised this instance for
	// provisioned concurrency (AWS_LAMBDA_INITIALIZATION_TYPE), whose
	// first invocation is not a cold start.
	Provisioned bool
}

// LoadConfig reads the configuration through getenv (os.Getenv).
func LoadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{
		Table:        itemsapi.DefaultTable,
		CacheControl: itemsapi.DefaultCacheControl,
		DirectTenant: items.DefaultTenant,
		LogLevel:     slog.LevelInfo,
	}
	c.Store = getenv("SURGE_STORE")
	c.StoreToken = getenv("SURGE_STORE_TOKEN")
	c.Sync = getenv("SURGE_SYNC")
	if v := getenv("SURGE_TABLE"); v != "" {
		c.Table = v
	}
	c.Endpoint = getenv("SURGE_DYNAMODB_ENDPOINT")
	c.Region = getenv("SURGE_REGION")
	if c.Region == "" {
		c.Region = getenv("AWS_REGION")
	}
	var err error
	if c.ConsistentReads, err = boolEnv(getenv, "SURGE_CONSISTENT_READS"); err != nil {
		return nil, err
	}
	if c.APIKeyTenant, err = boolEnv(getenv, "SURGE_TENANT_FROM_API_KEY"); err != nil {
		return nil, err
	}
	if v := getenv("SURGE_DYNAMODB_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, fmt.Errorf("SURGE_DYNAMODB_MAX_ATTEMPTS=%q: want a whole number from 1 to 100", v)
		}
		c.MaxAttempts = n
	}
	level := getenv("SURGE_LOG_LEVEL")
	if level == "" {
		level = getenv("AWS_LAMBDA_LOG_LEVEL")
	}
	if level != "" {
		// Lambda's levels include TRACE and FATAL, which slog has not.
		switch strings.ToUpper(level) {
		case "TRACE":
			level = "debug"
		case "FATAL":
			level = "error"
		}
		if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
		}
	}
	if v := getenv("SURGE_CACHE_CONTROL"); v != "" {
		c.CacheControl = v
	}
	if v := getenv("SURGE_DIRECT_TENANT"); v != "" {
		if err := items.ValidateTenant(v); err != nil {
			return nil, fmt.Errorf("SURGE_DIRECT_TENANT: %s", items.ErrorMessage(err))
		}
		c.DirectTenant = v
	}
	c.DAXEndpoint = getenv("SURGE_DAX_ENDPOINT")
	c.Provisioned = getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency"
	return c, nil
}

func boolEnv(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

// Environ returns the environment that LoadConfig reads back as c, as
// KEY=VALUE strings: the inverse of LoadConfig. Every variable is set,
// even to its default, so that nothing is taken from elsewhere; the
// initialization type is Lambda's to set, and left out unless
// Provisioned.
func (c *Config) Environ() []string {
	env := []string{
		"SURGE_STORE=" + c.Store,
		"SURGE_STORE_TOKEN=" + c.StoreToken,
		"SURGE_SYNC=" + c.Sync,
		"SURGE_TABLE=" + c.Table,
		"SURGE_DYNAMODB_ENDPOINT=" + c.Endpoint,
		"SURGE_REGION=" + c.Region,
		"SURGE_CONSISTENT_READS=" + strconv.FormatBool(c.ConsistentReads),
		"SURGE_LOG_LEVEL=" + strings.ToLower(c.LogLevel.String()),
		"SURGE_CACHE_CONTROL=" + c.CacheControl,
		"SURGE_TENANT_FROM_API_KEY=" + strconv.FormatBool(c.APIKeyTenant),
		"SURGE_DIRECT_TENANT=" + c.DirectTenant,
		"SURGE_DAX_ENDPOINT=" + c.DAXEndpoint,
	}
	if c.MaxAttempts > 0 {
		env = append(env, "SURGE_DYNAMODB_MAX_ATTEMPTS="+strconv.Itoa(c.MaxAttempts))
	}
	if c.Provisioned {
		env = append(env, "AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency")
	}
	return env
}

// DefaultConfig returns the configuration of an empty environment.
func DefaultConfig() *Config {
	c, _ := LoadConfig(func(string) string { return "" })
	return c
}
