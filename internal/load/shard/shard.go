// Package shard runs one part of a split load plan as a function: the
// event a coordinator sends a generator (the scenario and the part), the
// handler that runs the part and answers with its result, and the bucket
// where a result too large for the answer goes. cmd/loadgen serves the
// handler on AWS Lambda; package distribute is the coordinator's side.
//
// The answer carries the result whole, its histograms compressed, when
// it fits in Lambda's 6 MB response; a larger one (a long segment of a
// mix of many operations keeps a histogram per operation per second) is
// written, gzipped, to the results bucket (cmd/loadgen's Store, with
// aws-sdk-go-v2's S3 client), and the answer says where, with a presigned
// URL that the coordinator fetches over plain HTTPS (Fetch): it needs no
// S3 client and no permission on the bucket.
// The answer also carries the generator's clock at the event's receipt
// and at its reply: with the coordinator's send and receive times, NTP's
// four timestamps, from which the coordinator measures the generator's
// clock offset (load.ClockSample).
package shard

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// Event is what a coordinator sends a generator: the scenario, with its
// header values (credentials such as x-api-key), and the part to run.
type Event struct {
	Scenario load.Scenario `json:"scenario"`
	Part     load.Part     `json:"part"`
	// SentAt is the coordinator's clock when it sent the event.
	SentAt time.Time `json:"sentAt"`
}

// Response is a generator's answer: its result, or where it stored a
// result too large to answer with, and its clock's readings.
type Response struct {
	// Result is the part's result (load.Result's JSON form).
	Result json.RawMessage `json:"result,omitempty"`
	// Stored says where the result went instead, gzipped JSON.
	Stored *Stored `json:"stored,omitempty"`
	// Received and Replied are the generator's clock when the event came
	// in and when the answer went out.
	Received time.Time `json:"received"`
	Replied  time.Time `json:"replied"`
}

// Stored is a result written to a bucket.
type Stored struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Size is the stored object's size in bytes.
	Size int64 `json:"size"`
	// URL reads the object for a while (an S3 presigned GET).
	URL string `json:"url"`
}

// Store keeps results too large to answer with.
type Store interface {
	// Put writes body under key and says where it went, with a URL that
	// reads it back.
	Put(ctx context.Context, key string, body []byte) (*Stored, error)
}

// MaxResponse is Lambda's limit on a synchronous invocation's response:
// 6 MB.
const MaxResponse = 6 << 20

// envelope is room kept in a response for the fields around the result.
const envelope = 4 << 10

// Handler runs the parts that events ask for.
type Handler struct {
	// Store takes results too large to answer with; without one, such a
	// part fails, saying so.
	Store Store
	// InlineMax is the largest result answered in the response (default
	// MaxResponse less room for the envelope).
	InlineMax int
	// Now is the generator's wall clock (default time.Now).
	Now func() time.Time
	// Log receives a line per part (default: discarded).
	Log *slog.Logger
}

// finishMargin is the time a part keeps, after its last request may end,
// to encode and return (or store) its result.
const finishMargin = 10 * time.Second

// Handle runs the part that ev asks for and answers with its result. It
// refuses at once a part that could not end before ctx's deadline (the
// function's timeout): a segment of the plan, the wait for its start, the
// grace and the last request's timeout must all fit.
func (h *Handler) Handle(ctx context.Context, ev Event) (*Response, error) {
	now := h.Now
	if now == nil {
		now = time.Now
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	resp := &Response{Received: now()}
	p := ev.Part
	if dl, ok := ctx.Deadline(); ok && !p.Split.StartAt.IsZero() {
		end := p.Split.StartAt.Add(p.To + ev.Scenario.Grace + ev.Scenario.Timeout + finishMargin)
		if left := time.Until(dl); end.Sub(resp.Received) > left {
			return nil, fmt.Errorf("%s: it ends %s from now (its start, its segment, the grace, a request's timeout and %s to answer), but the function has %s left: give it a longer timeout or the run shorter segments",
				p, end.Sub(resp.Received).Round(time.Second), finishMargin, left.Round(time.Second))
		}
	}
	res, err := load.Run(ctx, ev.Scenario, load.WithPart(p), load.WithWallClock(now))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	body, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("%s: encode result: %w", p, err)
	}
	log.Info("part done", "part", p.String(), "plan", p.PlanID, "sent", res.Sent, "done", res.Total.Count,
		"stop", res.Stop, "result_bytes", len(body))
	limit := h.InlineMax
	if limit <= 0 {
		limit = MaxResponse - envelope
	}
	if len(body) <= limit {
		resp.Result = body
	} else {
		if h.Store == nil {
			return nil, fmt.Errorf("%s: its result is %d bytes, over the %d a response holds, and no results bucket is configured (SURGE_RESULTS_BUCKET)", p, len(body), limit)
		}
		gz, err := gzipBytes(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if resp.Stored, err = h.Store.Put(ctx, Key(p), gz); err != nil {
			return nil, fmt.Errorf("%s: store result: %w", p, err)
		}
	}
	resp.Replied = now()
	return resp, nil
}

// Key is where a part's result goes in the results bucket.
func Key(p load.Part) string {
	return fmt.Sprintf("surge-load/%s/shard-%d-segment-%d.json.gz", p.PlanID, p.Shard, p.Segment)
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compress result: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress result: %w", err)
	}
	return buf.Bytes(), nil
}

// maxStored bounds a stored result read back: a day-long segment of every
// operation is tens of megabytes.
const maxStored = 256 << 20

// ReadStored reads a result that a generator stored, gzipped JSON.
func ReadStored(r io.Reader) (*load.Result, error) {
	zr, err := gzip.NewReader(io.LimitReader(r, maxStored))
	if err != nil {
		return nil, fmt.Errorf("read stored result: %w", err)
	}
	res, err := load.ReadResult(zr)
	if err != nil {
		return nil, fmt.Errorf("read stored result: %w", err)
	}
	return res, nil
}

// Fetch reads a stored result from its URL.
func Fetch(ctx context.Context, hc *http.Client, st *Stored) (*load.Result, error) {
	where := "s3://" + st.Bucket + "/" + st.Key
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", where, err)
	}
	// The gzipped bytes as stored, never decompressed on the way.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("fetch %s: status %d: %s", where, resp.StatusCode, bytes.TrimSpace(b))
	}
	res, err := ReadStored(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return res, nil
}

// ParseResponse reads a generator's answer: its result, read and checked
// as load.ReadResult does, or where it was stored.
func ParseResponse(b []byte) (*Response, *load.Result, error) {
	var resp Response
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, nil, fmt.Errorf("generator response: %w", err)
	}
	switch {
	case len(resp.Result) > 0 && resp.Stored != nil:
		return nil, nil, errors.New("generator response: both a result and a stored one")
	case resp.Stored != nil:
		if u, err := url.Parse(resp.Stored.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, nil, errors.New("generator response: a stored result without a URL to read it")
		}
		return &resp, nil, nil
	case len(resp.Result) == 0:
		return nil, nil, errors.New("generator response: no result")
	}
	res, err := load.ReadResult(bytes.NewReader(resp.Result))
	if err != nil {
		return nil, nil, fmt.Errorf("generator response: %w", err)
	}
	if res.Part == nil {
		return nil, nil, errors.New("generator response: the result is not a part's")
	}
	return &resp, res, nil
}
