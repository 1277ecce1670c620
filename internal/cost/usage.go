package cost

// Sub returns the usage between two readings of a running service's
// cumulative usage, u taken after prev: every count and duration is the
// difference, entry by entry (a Lambda entry by architecture and memory,
// a table by name, a DAX cluster by node type; one that prev lacks
// counts whole). A table's mode, and a cache's size, are u's. Capacity
// timelines are not subtracted: u's are kept.
func (u Usage) Sub(prev Usage) Usage {
	out := Usage{Requests: u.Requests - prev.Requests}
	for _, l := range u.Lambda {
		for _, p := range prev.Lambda {
			if p.Architecture == l.Architecture && p.MemoryMB == l.MemoryMB {
				l.Invocations -= p.Invocations
				l.Duration -= p.Duration
				l.Provisioned -= p.Provisioned
				l.ProvisionedDuration -= p.ProvisionedDuration
			}
		}
		out.Lambda = append(out.Lambda, l)
	}
	out.APIGateway = u.APIGateway
	out.APIGateway.Requests -= prev.APIGateway.Requests
	out.APIGateway.CacheHours -= prev.APIGateway.CacheHours
	for _, d := range u.DynamoDB {
		for _, p := range prev.DynamoDB {
			if p.Table == d.Table {
				d.ReadRequestUnits -= p.ReadRequestUnits
				d.WriteRequestUnits -= p.WriteRequestUnits
				d.RCUHours -= p.RCUHours
				d.WCUHours -= p.WCUHours
			}
		}
		out.DynamoDB = append(out.DynamoDB, d)
	}
	for _, x := range u.DAX {
		for _, p := range prev.DAX {
			if p.NodeType == x.NodeType {
				x.Hours -= p.Hours
			}
		}
		out.DAX = append(out.DAX, x)
	}
	return out
}

// Report is a bill in the form a load result and the HTML report carry
// it (the result's "cost" member): the total, per million requests, and
// the cost by service, with the bill's lines and which prices were used.
type Report struct {
	Currency   string  `json:"currency"`
	Total      float64 `json:"total"`
	PerMillion float64 `json:"perMillion"`
	Requests   int64   `json:"requests"`
	// Parts are the services' costs, in name order.
	Parts      []Part `json:"parts"`
	Lines      []Line `json:"lines,omitempty"`
	PricesDate string `json:"pricesDate"`
	Region     string `json:"region"`
}

// Part is one service's cost.
type Part struct {
	Name   string  `json:"name"`
	Amount float64 `json:"amount"`
}

// Report returns the bill as a Report.
func (b Bill) Report() *Report {
	r := &Report{Currency: b.Currency, Total: b.Total, PerMillion: b.PerMillion, Requests: b.Requests,
		Lines: b.Lines, PricesDate: b.PricesDate, Region: b.Region, Parts: []Part{}}
	for _, s := range sortedKeys(b.ByService) {
		r.Parts = append(r.Parts, Part{Name: s, Amount: b.ByService[s]})
	}
	return r
}

// CacheSize returns the API Gateway cache size, in GB as AWS sells them,
// of a cache of mb megabytes: the smallest size that holds it (0.5 GB
// at least).
func (p *Prices) CacheSize(mb int) float64 {
	sizes := p.CacheSizes()
	for _, s := range sizes {
		if s*1024 >= float64(mb) {
			return s
		}
	}
	if len(sizes) == 0 {
		return 0
	}
	return sizes[len(sizes)-1]
}
