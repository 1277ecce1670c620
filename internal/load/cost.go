package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/surgehq/surge/internal/cost"
)

// usageReport is the target's usage report, as surge serve's admin
// listener gives it (server.UsageReport).
type usageReport struct {
	Service string     `json:"service"`
	Usage   cost.Usage `json:"usage"`
}

// meter prices a run from the target's usage before and after it.
type meter struct {
	url    string
	prices string
	before *cost.Usage
	err    error
}

// startMeter reads the target's usage before the run, when the scenario
// names its report.
func startMeter(ctx context.Context, s *Scenario) *meter {
	m := &meter{url: s.Usage, prices: s.Prices}
	if m.url == "" {
		return m
	}
	m.before, m.err = fetchUsage(ctx, m.url)
	return m
}

// price reads the usage after the run and puts the cost of the
// difference in res, for the run's requests.
func (m *meter) price(ctx context.Context, res *Result) {
	if m.url == "" {
		return
	}
	if m.err != nil {
		res.CostError = m.err.Error()
		return
	}
	after, err := fetchUsage(context.WithoutCancel(ctx), m.url)
	if err != nil {
		res.CostError = err.Error()
		return
	}
	p, err := cost.Load(m.prices)
	if err != nil {
		res.CostError = err.Error()
		return
	}
	u := after.Sub(*m.before)
	u.Requests = res.Total.Count
	bill, err := p.Price(u)
	if err != nil {
		res.CostError = err.Error()
		return
	}
	res.Cost = bill.Report()
}

// fetchUsage reads a usage report.
func fetchUsage(ctx context.Context, url string) (*cost.Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("usage %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("usage %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("usage %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("usage %s: %s", url, resp.Status)
	}
	var r usageReport
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("usage %s: %w", url, err)
	}
	if r.Service != "surge" {
		return nil, errors.New("usage " + url + ": not a usage report of surge's")
	}
	return &r.Usage, nil
}
