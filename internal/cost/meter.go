package cost

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Services, as a Bill names them.
const (
	Lambda     = "Lambda"
	APIGateway = "API Gateway"
	DynamoDB   = "DynamoDB"
	DAX        = "DAX"
)

// Capacity modes of a DynamoDB table, in `surge table create --billing`'s
// words.
const (
	OnDemand    = "on-demand"
	Provisioned = "provisioned"
)

// Usage is what a run used.
type Usage struct {
	// Requests are the client requests of the run, for the cost per
	// million requests.
	Requests int64 `json:"requests"`
	// Lambda is the functions' use, one entry per memory size and
	// architecture.
	Lambda []LambdaUsage `json:"lambda,omitempty"`
	// APIGateway is the REST API's use.
	APIGateway APIGatewayUsage `json:"apiGateway"`
	// DynamoDB is the tables' use, one entry per table.
	DynamoDB []DynamoDBUsage `json:"dynamodb,omitempty"`
	// DAX is the clusters' use, one entry per node type.
	DAX []DAXUsage `json:"dax,omitempty"`
}

// LambdaUsage is one function configuration's use.
type LambdaUsage struct {
	// Architecture is X86 or ARM.
	Architecture string `json:"architecture"`
	// MemoryMB is the function's memory.
	MemoryMB int `json:"memoryMB"`
	// Invocations are its requests.
	Invocations int64 `json:"invocations"`
	// Duration is the billed duration of the invocations on on-demand
	// instances, summed.
	Duration time.Duration `json:"durationNs"`
	// Provisioned is the provisioned concurrency configured over the run:
	// instances times the time they were configured (5 instances for an
	// hour are 5 hours), as scheduled actions and target tracking set it.
	Provisioned time.Duration `json:"provisionedNs"`
	// ProvisionedDuration is the billed duration of the invocations
	// provisioned instances served, summed.
	ProvisionedDuration time.Duration `json:"provisionedDurationNs"`
}

// GBSeconds returns a duration at memoryMB in GB-seconds (Lambda counts a
// GB as 1,024 MB).
func GBSeconds(memoryMB int, d time.Duration) float64 {
	return float64(memoryMB) / 1024 * d.Seconds()
}

// APIGatewayUsage is a REST API's use.
type APIGatewayUsage struct {
	// Requests are the API's requests.
	Requests int64 `json:"requests"`
	// CacheGB is the stage cache's size (0.5, 1.6, ...; 0 for none).
	CacheGB float64 `json:"cacheGB,omitempty"`
	// CacheHours is how long the cache was on.
	CacheHours float64 `json:"cacheHours,omitempty"`
}

// DynamoDBUsage is one table's use.
type DynamoDBUsage struct {
	// Table names it in the bill.
	Table string `json:"table"`
	// Mode is OnDemand or Provisioned: an on-demand table is billed its
	// request units, a provisioned one its capacity hours.
	Mode string `json:"mode"`
	// ReadRequestUnits and WriteRequestUnits are what the table consumed
	// (an eventually consistent read of up to 4 KB is half a unit).
	ReadRequestUnits  float64 `json:"readRequestUnits"`
	WriteRequestUnits float64 `json:"writeRequestUnits"`
	// RCUHours and WCUHours are the provisioned capacity over the run.
	RCUHours float64 `json:"rcuHours,omitempty"`
	WCUHours float64 `json:"wcuHours,omitempty"`
	// Timeline adds capacity hours from spans of constant capacity, as
	// auto scaling set them.
	Timeline []CapacitySpan `json:"timeline,omitempty"`
}

// CapacitySpan is a span of time at a provisioned capacity.
type CapacitySpan struct {
	Duration time.Duration `json:"durationNs"`
	RCU      int           `json:"rcu"`
	WCU      int           `json:"wcu"`
}

// DAXUsage is one cluster's use.
type DAXUsage struct {
	NodeType string  `json:"nodeType"`
	Nodes    int     `json:"nodes"`
	Hours    float64 `json:"hours"`
}

// Bill is the cost of a run.
type Bill struct {
	// Lines are the costs item by item.
	Lines []Line
	// ByService sums the lines by service.
	ByService map[string]float64
	// Total sums them all.
	Total float64
	// Requests and PerMillion are the run's requests and its cost per
	// million of them (0 without requests).
	Requests   int64
	PerMillion float64
	// PricesDate and Region say which prices were used.
	PricesDate, Region, Currency string
}

// Line is one item of a bill.
type Line struct {
	Service  string  `json:"service"`
	Item     string  `json:"item"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	Cost     float64 `json:"cost"`
}

// Price returns the cost of u at prices p. It fails on usage p has no
// price for (an architecture, a cache size or a DAX node type it does not
// list, a table mode it does not know).
func (p *Prices) Price(u Usage) (Bill, error) {
	b := Bill{ByService: map[string]float64{}, Requests: u.Requests, PricesDate: p.Date, Region: p.Region, Currency: p.Currency}
	add := func(service, item string, q float64, unit string, cost float64) {
		if q == 0 && cost == 0 {
			return
		}
		b.Lines = append(b.Lines, Line{Service: service, Item: item, Quantity: q, Unit: unit, Cost: cost})
		b.ByService[service] += cost
		b.Total += cost
	}
	var errs []error

	// Lambda: requests; duration tiered per architecture over the run's
	// GB-seconds of it, and shared among its memory sizes by their
	// GB-seconds; provisioned concurrency.
	var invocations int64
	gbs := map[string]float64{}
	for _, l := range u.Lambda {
		if _, ok := p.Lambda.Architectures[l.Architecture]; !ok {
			errs = append(errs, fmt.Errorf("lambda: no prices for architecture %q", l.Architecture))
			continue
		}
		invocations += l.Invocations
		gbs[l.Architecture] += GBSeconds(l.MemoryMB, l.Duration)
	}
	add(Lambda, "requests", float64(invocations), "requests", float64(invocations)/1e6*p.Lambda.RequestsPerMillion)
	for _, l := range u.Lambda {
		lp, ok := p.Lambda.Architectures[l.Architecture]
		if !ok {
			continue
		}
		name := fmt.Sprintf("%s %d MB", l.Architecture, l.MemoryMB)
		if d := GBSeconds(l.MemoryMB, l.Duration); d > 0 {
			add(Lambda, "duration "+name, d, "GB-s", tiered(lp.DurationTiers, gbs[l.Architecture])*d/gbs[l.Architecture])
		}
		pc := GBSeconds(l.MemoryMB, l.Provisioned)
		add(Lambda, "provisioned concurrency "+name, pc, "GB-s", pc*lp.ProvisionedConcurrencyGBSecond)
		pd := GBSeconds(l.MemoryMB, l.ProvisionedDuration)
		add(Lambda, "duration on provisioned concurrency "+name, pd, "GB-s", pd*lp.ProvisionedDurationGBSecond)
	}

	// API Gateway: requests tiered per million; the cache by the hour.
	ag := u.APIGateway
	m := float64(ag.Requests) / 1e6
	add(APIGateway, "REST API requests", float64(ag.Requests), "requests", tiered(scaleTiers(p.APIGateway.RESTRequestTiers, 1e-6), m))
	if ag.CacheGB > 0 && ag.CacheHours > 0 {
		if h, ok := p.cacheHourly(ag.CacheGB); ok {
			add(APIGateway, "cache "+strconv.FormatFloat(ag.CacheGB, 'f', -1, 64)+" GB", ag.CacheHours, "hours", ag.CacheHours*h)
		} else {
			errs = append(errs, fmt.Errorf("api gateway: no price for a cache of %v GB (sizes: %v)", ag.CacheGB, p.CacheSizes()))
		}
	}

	// DynamoDB: request units on demand, capacity hours provisioned.
	for _, d := range u.DynamoDB {
		switch d.Mode {
		case OnDemand:
			od := p.DynamoDB.OnDemand
			add(DynamoDB, d.Table+" read request units", d.ReadRequestUnits, "RRU", d.ReadRequestUnits/1e6*od.ReadRequestUnitsPerMillion)
			add(DynamoDB, d.Table+" write request units", d.WriteRequestUnits, "WRU", d.WriteRequestUnits/1e6*od.WriteRequestUnitsPerMillion)
		case Provisioned:
			rh, wh := d.RCUHours, d.WCUHours
			for _, s := range d.Timeline {
				rh += float64(s.RCU) * s.Duration.Hours()
				wh += float64(s.WCU) * s.Duration.Hours()
			}
			pp := p.DynamoDB.Provisioned
			add(DynamoDB, d.Table+" read capacity", rh, "RCU-hours", rh*pp.RCUHour)
			add(DynamoDB, d.Table+" write capacity", wh, "WCU-hours", wh*pp.WCUHour)
		default:
			errs = append(errs, fmt.Errorf("dynamodb: table %s: mode %q is neither %s nor %s", d.Table, d.Mode, OnDemand, Provisioned))
		}
	}

	// DAX: node hours.
	for _, x := range u.DAX {
		h, ok := p.DAX.NodeHourly[x.NodeType]
		if !ok {
			errs = append(errs, fmt.Errorf("dax: no price for node type %q (add it to the prices file)", x.NodeType))
			continue
		}
		nh := float64(x.Nodes) * x.Hours
		add(DAX, x.NodeType+" nodes", nh, "node-hours", nh*h)
	}

	if u.Requests > 0 {
		b.PerMillion = b.Total / float64(u.Requests) * 1e6
	}
	if len(errs) > 0 {
		return Bill{}, fmt.Errorf("cost: %w", errors.Join(errs...))
	}
	return b, nil
}

// scaleTiers returns ts with their ends multiplied by f (tiers of requests
// to tiers of millions of requests).
func scaleTiers(ts []Tier, f float64) []Tier {
	out := slices.Clone(ts)
	for i := range out {
		out[i].UpTo *= f
	}
	return out
}

// WriteText writes the bill as a table: a line per item, the total by
// service, the total and the cost per million requests.
func (b Bill) WriteText(w io.Writer) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "cost at %s prices of %s (%s)\n", b.Region, b.PricesDate, b.Currency)
	for _, l := range b.Lines {
		fmt.Fprintf(&sb, "  %-12s %-48s %16s %-10s %12.6f\n", l.Service, l.Item, strconv.FormatFloat(l.Quantity, 'f', -1, 64), l.Unit, l.Cost)
	}
	for _, s := range sortedKeys(b.ByService) {
		fmt.Fprintf(&sb, "  %-12s %12.6f\n", s, b.ByService[s])
	}
	fmt.Fprintf(&sb, "  %-12s %12.6f\n", "total", b.Total)
	if b.Requests > 0 {
		fmt.Fprintf(&sb, "  %-12s %12.6f for %d requests\n", "per million", b.PerMillion, b.Requests)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// Saving returns how much less other costs than b, as a fraction of b's
// total (0.3: 30% less).
func (b Bill) Saving(other Bill) float64 {
	if b.Total == 0 {
		return 0
	}
	return (b.Total - other.Total) / b.Total
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
