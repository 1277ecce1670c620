package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Clock is a generator's clock against the coordinator's, as measured:
// the parts of a split plan start at one agreed wall-clock time, each by
// its own clock, so how far those clocks disagree is part of the result.
type Clock struct {
	// OffsetMs is the generator's clock minus the coordinator's, in
	// milliseconds; ErrorMs bounds the error of that figure: half the
	// network round trip of the exchange that measured it.
	OffsetMs float64 `json:"offsetMs"`
	ErrorMs  float64 `json:"errorMs"`
	// Via says how it was measured: ClockViaInvoke, ClockViaHTTP, or empty
	// when it was not.
	Via string `json:"via,omitempty"`
}

// How a clock offset was measured.
const (
	// ClockViaInvoke: from the four times of the invocation that ran the
	// part (the coordinator's send and receive, the generator's receipt
	// and reply).
	ClockViaInvoke = "invoke"
	// ClockViaHTTP: from exchanges with a clock URL that the coordinator
	// serves (ClockHandler).
	ClockViaHTTP = "http"
)

// ClockSample is one exchange of times between the coordinator and a
// generator, NTP's four timestamps, each by the clock of the side that
// took it.
type ClockSample struct {
	Sent     time.Time `json:"sent"`     // the coordinator sent its request
	Received time.Time `json:"received"` // the generator received it
	Replied  time.Time `json:"replied"`  // the generator replied
	Returned time.Time `json:"returned"` // the reply reached the coordinator
}

// Offset returns the generator's clock minus the coordinator's: the mean
// of the two one-way differences, exact when the way there takes as long
// as the way back.
func (c ClockSample) Offset() time.Duration {
	return (c.Received.Sub(c.Sent) + c.Replied.Sub(c.Returned)) / 2
}

// Delay returns the exchange's time on the network: the round trip less
// the generator's time between receipt and reply. The offset is within
// half of it.
func (c ClockSample) Delay() time.Duration {
	return max(0, c.Returned.Sub(c.Sent)-c.Replied.Sub(c.Received))
}

// Clock returns the sample as a Clock measured via via.
func (c ClockSample) Clock(via string) Clock {
	return Clock{OffsetMs: durMs(c.Offset()), ErrorMs: durMs(c.Delay() / 2), Via: via}
}

// clockReply is a clock URL's answer: when it received the request and
// when it replied, by its clock.
type clockReply struct {
	Received time.Time `json:"received"`
	Replied  time.Time `json:"replied"`
}

// ClockHandler serves the coordinator's clock to generators that measure
// their offset against it (MeasureClock): any request is answered with
// the times of its receipt and reply by now, as JSON.
func ClockHandler(now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := now()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		b, _ := json.Marshal(clockReply{Received: rec, Replied: now()})
		_, _ = w.Write(b)
	})
}

// clockRounds is how many exchanges MeasureClock makes; it keeps the one
// with the shortest delay, whose offset has the smallest error.
const clockRounds = 5

// MeasureClock measures this generator's clock (now) against the one a
// ClockHandler serves at url, as NTP does: several exchanges, keeping the
// one with the shortest round trip. The result says the offset of the
// clock URL's side minus this side's turned round, so that it reads as
// this generator's clock minus the coordinator's.
func MeasureClock(ctx context.Context, hc *http.Client, url string, now func() time.Time) (Clock, error) {
	var best ClockSample
	found := false
	var errs []error
	for range clockRounds {
		s, err := clockExchange(ctx, hc, url, now)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if !found || s.Delay() < best.Delay() {
			best, found = s, true
		}
	}
	if !found {
		return Clock{}, fmt.Errorf("measure clock at %s: %w", url, errors.Join(errs...))
	}
	// Here this generator asked and the coordinator answered: the sample's
	// offset is the coordinator's clock minus this one's.
	c := best.Clock(ClockViaHTTP)
	c.OffsetMs = -c.OffsetMs
	return c, nil
}

func clockExchange(ctx context.Context, hc *http.Client, url string, now func() time.Time) (ClockSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ClockSample{}, err
	}
	s := ClockSample{Sent: now()}
	resp, err := hc.Do(req)
	if err != nil {
		return ClockSample{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	s.Returned = now()
	if err != nil {
		return ClockSample{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return ClockSample{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	rep, err := parseClockReply(body)
	if err != nil {
		return ClockSample{}, err
	}
	s.Received, s.Replied = rep.Received, rep.Replied
	return s, nil
}

// parseClockReply reads a clock URL's answer.
func parseClockReply(body []byte) (clockReply, error) {
	var rep clockReply
	if err := json.Unmarshal(body, &rep); err != nil {
		return rep, fmt.Errorf("clock reply: %w", err)
	}
	if rep.Received.IsZero() || rep.Replied.Before(rep.Received) {
		return rep, errors.New("clock reply: times missing or out of order")
	}
	return rep, nil
}
