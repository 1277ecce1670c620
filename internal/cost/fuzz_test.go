package cost

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzParse feeds the prices file's reader: it refuses a file or gives
// prices that price any usage to a finite, non-negative cost.
func FuzzParse(f *testing.F) {
	f.Add(defaultPrices)
	f.Add([]byte("date: 2026-01-01\nregion: r\nsources: [s]\n"))
	f.Add([]byte("lambda: {architectures: {x86_64: {duration_tiers: [{up_to: 0, price: 1e308}]}}}"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parse(b)
		if err != nil {
			return
		}
		u := Usage{Requests: 1000,
			Lambda:     []LambdaUsage{{Architecture: X86, MemoryMB: 512, Invocations: 10, Duration: time.Second}, {Architecture: ARM, MemoryMB: 128, Provisioned: time.Hour}},
			APIGateway: APIGatewayUsage{Requests: 1000},
			DynamoDB:   []DynamoDBUsage{{Table: "t", Mode: OnDemand, ReadRequestUnits: 5, WriteRequestUnits: 5}, {Table: "u", Mode: Provisioned, RCUHours: 1, WCUHours: 1}},
		}
		bill, err := p.Price(u)
		if err != nil {
			t.Fatalf("valid prices refused a usage they price: %v", err)
		}
		if !(bill.Total >= 0) {
			t.Fatalf("total %v", bill.Total)
		}
	})
}

// FuzzUsage feeds what a usage report carries (two readings of a
// service's usage, as surge load reads them): decoding, subtracting and
// pricing never panic, and a bill that prices is finite.
func FuzzUsage(f *testing.F) {
	f.Add([]byte(`{"requests":10,"lambda":[{"architecture":"arm64","memoryMB":512,"invocations":10,"durationNs":1000000}],"apiGateway":{"requests":10},"dynamodb":[{"table":"items","mode":"on-demand","readRequestUnits":5,"writeRequestUnits":2}]}`),
		[]byte(`{"requests":30,"lambda":[{"architecture":"arm64","memoryMB":512,"invocations":30,"durationNs":3000000,"provisionedNs":3600000000000}],"apiGateway":{"requests":30,"cacheGB":0.5,"cacheHours":1},"dynamodb":[{"table":"items","mode":"provisioned","rcuHours":20,"wcuHours":10}],"dax":[{"nodeType":"dax.t3.small","nodes":1,"hours":1}]}`))
	f.Add([]byte(`{}`), []byte(`{"lambda":[{"architecture":"sparc"}]}`))
	f.Add([]byte(`null`), []byte(`{"requests":-5,"dynamodb":[{"mode":"x"}]}`))
	p, err := parse(defaultPrices)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, before, after []byte) {
		var a, b Usage
		if json.Unmarshal(before, &a) != nil || json.Unmarshal(after, &b) != nil {
			return
		}
		bill, err := p.Price(b.Sub(a))
		if err != nil {
			return
		}
		if math.IsNaN(bill.Total) || math.IsNaN(bill.PerMillion) {
			t.Fatalf("a bill of NaN: %+v", bill)
		}
		_ = bill.Report()
	})
}
