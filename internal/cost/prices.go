// Package cost is surge's cost meter: what a run would cost on AWS, by
// service, from AWS's published prices kept in a dated data file that the
// user can edit (prices.yaml, embedded as the default; Load reads another
// by path). One region, both Lambda architectures: Lambda requests and
// GB-seconds by memory size, provisioned concurrency, API Gateway REST
// requests (tiered) and cache hours by cache size, DynamoDB on-demand
// request units or provisioned capacity hours (as auto scaling set them
// over the run), and DAX node hours by node type.
//
// A run is priced as if it were the month's only usage: tiers apply to
// its own totals and free tiers are left out.
package cost

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

//go:embed prices.yaml
var defaultPrices []byte

// Architectures of Lambda functions.
const (
	X86 = "x86_64"
	ARM = "arm64"
)

// Prices are the prices of one region, as prices.yaml holds them.
type Prices struct {
	// Date is when the prices were looked up (YYYY-MM-DD).
	Date string `yaml:"date"`
	// Region is the AWS region they are of.
	Region string `yaml:"region"`
	// Currency is their currency (USD).
	Currency string `yaml:"currency"`
	// Sources are the pages they were taken from.
	Sources []string `yaml:"sources"`

	Lambda struct {
		RequestsPerMillion float64 `yaml:"requests_per_million"`
		// Architectures holds X86 and ARM.
		Architectures map[string]LambdaPrices `yaml:"architectures"`
	} `yaml:"lambda"`
	APIGateway struct {
		// RESTRequestTiers are per million requests.
		RESTRequestTiers []Tier `yaml:"rest_request_tiers"`
		// CacheHourly is by cache size in GB, as AWS writes it ("0.5").
		CacheHourly map[string]float64 `yaml:"cache_hourly"`
	} `yaml:"api_gateway"`
	DynamoDB struct {
		OnDemand struct {
			WriteRequestUnitsPerMillion float64 `yaml:"write_request_units_per_million"`
			ReadRequestUnitsPerMillion  float64 `yaml:"read_request_units_per_million"`
		} `yaml:"on_demand"`
		Provisioned struct {
			WCUHour float64 `yaml:"wcu_hour"`
			RCUHour float64 `yaml:"rcu_hour"`
		} `yaml:"provisioned"`
	} `yaml:"dynamodb"`
	DAX struct {
		// NodeHourly is by node type (dax.r5.large).
		NodeHourly map[string]float64 `yaml:"node_hourly"`
	} `yaml:"dax"`
}

// LambdaPrices are the duration prices of one architecture, per GB-second.
type LambdaPrices struct {
	DurationTiers                  []Tier  `yaml:"duration_tiers"`
	ProvisionedConcurrencyGBSecond float64 `yaml:"provisioned_concurrency_gb_second"`
	ProvisionedDurationGBSecond    float64 `yaml:"provisioned_duration_gb_second"`
}

// Tier is one step of a tiered price: Price applies to the quantity up to
// UpTo (counted from 0 over the whole usage), or to all the rest when
// UpTo is 0.
type Tier struct {
	UpTo  float64 `yaml:"up_to"`
	Price float64 `yaml:"price"`
}

// Load reads prices from a YAML file like prices.yaml; an empty path
// gives the embedded default.
func Load(path string) (*Prices, error) {
	if path == "" {
		return parse(defaultPrices)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cost: read prices: %w", err)
	}
	p, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("cost: prices %s: %w", path, err)
	}
	return p, nil
}

func parse(b []byte) (*Prices, error) {
	var p Prices
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("cost: prices: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate reports what is missing or wrong in p.
func (p *Prices) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.Date == "" || p.Region == "" || len(p.Sources) == 0 {
		add("prices need a date, a region and their sources")
	}
	nonNeg := func(name string, v float64) {
		if !(v >= 0) || math.IsInf(v, 1) {
			add("%s: price %v", name, v)
		}
	}
	nonNeg("lambda requests", p.Lambda.RequestsPerMillion)
	for _, arch := range []string{X86, ARM} {
		lp, ok := p.Lambda.Architectures[arch]
		if !ok {
			add("lambda: no prices for %s", arch)
			continue
		}
		if err := checkTiers(lp.DurationTiers); err != nil {
			add("lambda %s duration: %v", arch, err)
		}
		nonNeg("lambda "+arch+" provisioned concurrency", lp.ProvisionedConcurrencyGBSecond)
		nonNeg("lambda "+arch+" provisioned duration", lp.ProvisionedDurationGBSecond)
	}
	if err := checkTiers(p.APIGateway.RESTRequestTiers); err != nil {
		add("api gateway requests: %v", err)
	}
	for size, v := range p.APIGateway.CacheHourly {
		if _, err := strconv.ParseFloat(size, 64); err != nil {
			add("api gateway cache size %q: want GB", size)
		}
		nonNeg("api gateway cache "+size, v)
	}
	nonNeg("dynamodb write request units", p.DynamoDB.OnDemand.WriteRequestUnitsPerMillion)
	nonNeg("dynamodb read request units", p.DynamoDB.OnDemand.ReadRequestUnitsPerMillion)
	nonNeg("dynamodb wcu hour", p.DynamoDB.Provisioned.WCUHour)
	nonNeg("dynamodb rcu hour", p.DynamoDB.Provisioned.RCUHour)
	for typ, v := range p.DAX.NodeHourly {
		nonNeg("dax "+typ, v)
	}
	if len(errs) > 0 {
		return fmt.Errorf("cost: prices: %w", errors.Join(errs...))
	}
	return nil
}

// checkTiers wants tiers in order, the last without an end.
func checkTiers(ts []Tier) error {
	if len(ts) == 0 {
		return errors.New("no tiers")
	}
	for i, t := range ts {
		if !(t.Price >= 0) || math.IsInf(t.Price, 1) {
			return fmt.Errorf("tier %d: price %v", i+1, t.Price)
		}
		last := i == len(ts)-1
		if last != (t.UpTo == 0) {
			return errors.New("want every tier but the last to end (up_to), and the last not to")
		}
		if !last && (t.UpTo < 0 || (i > 0 && t.UpTo <= ts[i-1].UpTo)) {
			return fmt.Errorf("tier %d: ends at %v, not after the one before", i+1, t.UpTo)
		}
	}
	return nil
}

// tiered prices quantity q over tiers (prices per unit of q).
func tiered(ts []Tier, q float64) float64 {
	cost, from := 0.0, 0.0
	for _, t := range ts {
		to := t.UpTo
		if to == 0 || q < to {
			to = q
		}
		if to > from {
			cost += (to - from) * t.Price
			from = to
		}
		if from >= q {
			break
		}
	}
	return cost
}

// CacheSizes returns the API Gateway cache sizes priced, in GB, smallest
// first.
func (p *Prices) CacheSizes() []float64 {
	var out []float64
	for s := range p.APIGateway.CacheHourly {
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// cacheHourly returns the hourly price of a cache of gb GB.
func (p *Prices) cacheHourly(gb float64) (float64, bool) {
	for s, v := range p.APIGateway.CacheHourly {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == gb {
			return v, true
		}
	}
	return 0, false
}
