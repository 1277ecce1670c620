package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/store/remote"
)

// HTTPConfig are the timeouts and header limits of every HTTP listener of
// a Server: the API, the admin listener, Lambda's Invoke API and Runtime
// API, the read cache shared with the function instances, and the table's
// front of the DynamoDB API. Each listener adds its own body limit (see
// the README's "Reliability").
type HTTPConfig struct {
	// ReadHeaderTimeout bounds the reading of a request's headers
	// (--http-read-header-timeout).
	ReadHeaderTimeout time.Duration `flag:"http-read-header-timeout" help:"every listener: how long a client may take to send a request's headers"`
	// ReadTimeout bounds the reading of a whole request, body included
	// (--http-read-timeout).
	ReadTimeout time.Duration `flag:"http-read-timeout" help:"every listener: how long a client may take to send a whole request, body included"`
	// WriteTimeout bounds the time from a request's headers to the end of
	// its answer (--http-write-timeout); the Invoke API waits longer when
	// the function's timeout is longer, the Runtime API's long poll not at
	// all.
	WriteTimeout time.Duration `flag:"http-write-timeout" help:"every listener: how long from a request's headers to the end of its answer"`
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request (--http-idle-timeout).
	IdleTimeout time.Duration `flag:"http-idle-timeout" help:"every listener: how long an idle kept-alive connection is kept"`
	// MaxHeaderBytes bounds a request's line and headers
	// (--http-max-header-bytes); over it, 431.
	MaxHeaderBytes int `flag:"http-max-header-bytes" help:"every listener: the most bytes of a request's line and headers (over it: 431)"`
	// MaxHeaders bounds a request's header fields (--http-max-headers);
	// over it, 431.
	MaxHeaders int `flag:"http-max-headers" help:"every listener: the most header fields of a request (over it: 431)"`
	// MaxConns bounds the API listener's connections open at once
	// (--http-max-conns; 0: no bound): one over it is answered 503 with
	// X-Limit-Source: connections and closed (listen.Shed). Each
	// connection holds a goroutine and its buffers whether its request is
	// served or waits, so this bounds the memory that clients opening ever
	// more connections to an overloaded service would take.
	MaxConns int `flag:"http-max-conns" help:"the API listener: the most connections open at once; one over it is answered 503 (X-Limit-Source: connections) and closed; 0 for no bound; by default 1024 per CPU"`
}

// DefaultHTTPConfig returns the listeners' defaults.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxHeaders:        100,
		MaxConns:          1024 * runtime.GOMAXPROCS(0),
	}
}

// Body limits of the listeners other than the API's (whose routes have
// the contract's: itemsapi.BodyLimit).
const (
	// AdminMaxBody bounds a request body of the admin listener, which
	// serves GETs (and pprof's symbol lookups).
	AdminMaxBody = 64 << 10

	// FrontMaxBody bounds a request body of the table's front, which
	// function instances reach DynamoDB through: DynamoDB's own bound on
	// a request (16 MB, a BatchWriteItem's).
	FrontMaxBody = 16 << 20
)

func (c HTTPConfig) limits(maxBody int64) listen.Limits {
	return listen.Limits{ReadHeaderTimeout: c.ReadHeaderTimeout, ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout,
		IdleTimeout: c.IdleTimeout, MaxHeaderBytes: c.MaxHeaderBytes, MaxHeaders: c.MaxHeaders, MaxBodyBytes: maxBody}
}

// apiLimits: the largest body any route takes; each route's own limit is
// gateway.BodyLimit's.
func (c HTTPConfig) apiLimits() listen.Limits { return c.limits(itemsapi.MaxBatchBody) }

func (c HTTPConfig) adminLimits() listen.Limits { return c.limits(AdminMaxBody) }

// invokeLimits: Lambda's payload limit, and a write timeout past the
// function's own timeout, which a synchronous invocation may take.
func (c HTTPConfig) invokeLimits(fnTimeout time.Duration) listen.Limits {
	l := c.limits(lambda.MaxPayload)
	if l.WriteTimeout > 0 {
		l.WriteTimeout = max(l.WriteTimeout, fnTimeout+10*time.Second)
	}
	return l
}

// frontLimits: the table front's, DynamoDB's request bound.
func (c HTTPConfig) frontLimits() listen.Limits { return c.limits(FrontMaxBody) }

// daxLimits: one operation's request.
func (c HTTPConfig) daxLimits() listen.Limits { return c.limits(remote.MaxRequestBytes) }

// runtimeLimits: the Runtime API's; the pool sets its write and idle
// timeouts by the function's.
func (c HTTPConfig) runtimeLimits() listen.Limits {
	return c.limits(lambda.DefaultRuntimeAPILimits.MaxBodyBytes)
}

// What each listener other than the API trusts, for the warning logged
// when one is told to listen beyond loopback (and the README's threat
// model).
const (
	adminTrusts  = "anyone who reaches it: metrics and pprof, no credentials"
	invokeTrusts = "the run's token (bearer, or SigV4 with it as the secret key)"
)

// newToken returns a new secret of the run: 32 random bytes in hex.
func newToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	return hex.EncodeToString(b[:])
}

// minTokenLen is the shortest Invoke API token a file may hold.
const minTokenLen = 16

// invokeToken returns the Invoke API's token: the content of
// Functions.InvokeTokenFile, else a new one written to
// <Data>/invoke-token (mode 0600) for the run's clients to read.
func (s *Server) invokeToken() (token, file string, err error) {
	c := &s.cfg
	if f := c.Functions.InvokeTokenFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", "", fmt.Errorf("read the Invoke API token: %w", err)
		}
		token = string(bytes.TrimSpace(b))
		if len(token) < minTokenLen {
			return "", "", fmt.Errorf("the Invoke API token in %s is under %d bytes", f, minTokenLen)
		}
		return token, f, nil
	}
	token = newToken()
	if err := os.MkdirAll(c.Data, 0o755); err != nil {
		return "", "", fmt.Errorf("write the Invoke API token: %w", err)
	}
	file = filepath.Join(c.Data, "invoke-token")
	// A new file each run, readable by its owner only.
	_ = os.Remove(file)
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write the Invoke API token: %w", err)
	}
	return token, file, nil
}

// serveInvoke starts Lambda's Invoke API on its own listener, behind the
// run's token.
func (s *Server) serveInvoke() error {
	cfg := &s.cfg
	token, file, err := s.invokeToken()
	if err != nil {
		return err
	}
	if s.iln, err = listen.Listen(cfg.Functions.InvokeAddr); err != nil {
		return fmt.Errorf("listen on the Invoke API address %s: %w", cfg.Functions.InvokeAddr, err)
	}
	listen.WarnUnlessLoopback(s.log, "the Invoke API", cfg.Functions.InvokeAddr, invokeTrusts)
	s.invokeTok = token
	s.invoke = cfg.HTTP.invokeLimits(cfg.Functions.Timeout).Server(lambda.InvokeAuth(token, s.fns.invoke), s.log)
	s.log.Info("invoke API", "addr", s.iln.Addr().String(), "token_file", file)
	return nil
}

// serve runs srv on ln until it is closed, and reports why it stopped.
func serve(srv *http.Server, ln net.Listener, errc chan<- error) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errc <- err
	}
}

// listening are the log attributes of the listeners' addresses.
func (s *Server) listening() []any {
	attrs := []any{"addr", s.Addr()}
	if s.admin != nil {
		attrs = append(attrs, "admin_addr", s.AdminAddr())
	}
	if s.invoke != nil {
		attrs = append(attrs, "invoke_addr", s.InvokeAddr())
	}
	return attrs
}
