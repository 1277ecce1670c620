package store

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// Schemes of store URLs.
const (
	// SchemeSQLite is a SQLite file: sqlite:PATH or sqlite://PATH.
	SchemeSQLite = "sqlite"
	// SchemeMem is memory only: mem: (or mem://).
	SchemeMem = "mem"
	// SchemeDynamoDB is a DynamoDB table, on AWS or any engine that speaks
	// its API: dynamodb://TABLE?endpoint=URL&region=R&consistent=true
	// (and, as any store, billing=provisioned&rcu=N&wcu=N).
	SchemeDynamoDB = "dynamodb"
	// SchemeDAX is the read cache that `surge serve --functions` shares
	// with its function instances, as Lambda functions share a DAX
	// cluster: dax://HOST:PORT (package remote).
	SchemeDAX = "dax"
)

// URL is a parsed store URL.
type URL struct {
	// Scheme is one of the Scheme... constants.
	Scheme string
	// Path is a SQLite store's file.
	Path string
	// Table, Endpoint, Region and Consistent are a DynamoDB store's table,
	// its API endpoint when not AWS's (DynamoDB Local, dynalite), its
	// region (default the SDK's, else us-east-1), and whether every read
	// is strongly consistent.
	Table, Endpoint, Region string
	Consistent              bool
	// Addr is the shared read cache's HOST:PORT.
	Addr string
	// Billing, RCU and WCU are the capacity of the table the store is,
	// as DynamoDB's capacity modes set it (package table charges it):
	// "on-demand" or "provisioned" with read and write capacity units a
	// second; "" leaves it to the server's settings. Any kind of store
	// takes them: sqlite:PATH?billing=provisioned&rcu=20&wcu=10.
	Billing  string
	RCU, WCU int
}

// Billing modes of a store URL's billing parameter.
const (
	BillingOnDemand    = "on-demand"
	BillingProvisioned = "provisioned"
)

// capacityParam reads a capacity parameter (billing, rcu, wcu) into u;
// ok is false for any other name.
func (u *URL) capacityParam(raw, name, v string) (ok bool, err error) {
	switch name {
	case "billing":
		if v != BillingOnDemand && v != BillingProvisioned {
			return true, fmt.Errorf("store %q: billing must be %s or %s", clip(raw), BillingOnDemand, BillingProvisioned)
		}
		u.Billing = v
	case "rcu", "wcu":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return true, fmt.Errorf("store %q: %s must be a whole number of at least 1", clip(raw), name)
		}
		if name == "rcu" {
			u.RCU = n
		} else {
			u.WCU = n
		}
	default:
		return false, nil
	}
	return true, nil
}

// checkCapacity checks that the capacity parameters fit together.
func (u *URL) checkCapacity(raw string) error {
	if (u.RCU != 0 || u.WCU != 0) && u.Billing != BillingProvisioned {
		return fmt.Errorf("store %q: rcu and wcu go with billing=%s", clip(raw), BillingProvisioned)
	}
	if u.Billing == BillingProvisioned && (u.RCU == 0 || u.WCU == 0) {
		return fmt.Errorf("store %q: billing=%s needs rcu and wcu", clip(raw), BillingProvisioned)
	}
	return nil
}

// splitCapacity takes a query of capacity parameters off the end of a
// SQLite or memory URL (sqlite:PATH?billing=provisioned&rcu=20&wcu=10).
// A "?" followed by anything else stays part of the path.
func splitCapacity(raw, rest string, u *URL) (string, error) {
	i := strings.LastIndexByte(rest, '?')
	if i < 0 {
		return rest, nil
	}
	q, err := url.ParseQuery(rest[i+1:])
	if err != nil || len(q) == 0 {
		return rest, nil
	}
	for name := range q {
		if name != "billing" && name != "rcu" && name != "wcu" {
			return rest, nil
		}
	}
	for name, vs := range q {
		if len(vs) != 1 {
			return "", fmt.Errorf("store %q: parameter %q given %d times", clip(raw), name, len(vs))
		}
		if _, err := u.capacityParam(raw, name, vs[0]); err != nil {
			return "", err
		}
	}
	return rest[:i], u.checkCapacity(raw)
}

// Parse parses a store URL of any kind. Unknown parameters are errors, so
// that a typo does not pass silently.
func Parse(raw string) (*URL, error) {
	switch {
	case strings.HasPrefix(raw, SchemeSQLite+":"):
		u := &URL{Scheme: SchemeSQLite}
		path, err := splitCapacity(raw, strings.TrimPrefix(strings.TrimPrefix(raw, SchemeSQLite+":"), "//"), u)
		if err != nil {
			return nil, err
		}
		if path == "" {
			return nil, fmt.Errorf("store %q: no path", raw)
		}
		u.Path = path
		return u, nil
	case strings.HasPrefix(raw, SchemeMem+":"):
		u := &URL{Scheme: SchemeMem}
		rest, err := splitCapacity(raw, strings.TrimPrefix(strings.TrimPrefix(raw, SchemeMem+":"), "//"), u)
		if err != nil {
			return nil, err
		}
		if rest != "" {
			break
		}
		return u, nil
	case strings.HasPrefix(raw, SchemeDynamoDB+"://"):
		return parseDynamoDB(raw)
	case strings.HasPrefix(raw, SchemeDAX+"://"):
		addr := strings.TrimPrefix(raw, SchemeDAX+"://")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("store %q: want dax://HOST:PORT", clip(raw))
		}
		return &URL{Scheme: SchemeDAX, Addr: addr}, nil
	}
	return nil, fmt.Errorf("store %q: unknown kind; want sqlite:PATH, mem:, dynamodb://TABLE or dax://HOST:PORT", clip(raw))
}

// parseDynamoDB parses dynamodb://TABLE?endpoint=URL&region=R&consistent=true.
func parseDynamoDB(raw string) (*URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("dynamo: store URL: %w", err)
	}
	if u.Scheme != SchemeDynamoDB {
		return nil, fmt.Errorf("dynamo: store URL %q: the scheme must be %s://", clip(raw), SchemeDynamoDB)
	}
	if u.User != nil || u.Port() != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, fmt.Errorf("dynamo: store URL %q: expected dynamodb://TABLE?endpoint=URL&region=R&consistent=true", clip(raw))
	}
	out := &URL{Scheme: SchemeDynamoDB, Table: u.Hostname()}
	if !ValidTableName(out.Table) {
		return nil, fmt.Errorf("dynamo: store URL %q: a table name is 3 to 255 letters, digits, '_', '-' and '.'", clip(raw))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("dynamo: store URL %q: %w", clip(raw), err)
	}
	for name, vs := range q {
		if len(vs) != 1 {
			return nil, fmt.Errorf("dynamo: store URL %q: parameter %q given %d times", clip(raw), name, len(vs))
		}
		v := vs[0]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return nil, fmt.Errorf("dynamo: store URL %q: endpoint must be an http:// or https:// URL", clip(raw))
			}
			out.Endpoint = v
		case "region":
			if v == "" {
				return nil, fmt.Errorf("dynamo: store URL %q: region is empty", clip(raw))
			}
			out.Region = v
		case "consistent":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("dynamo: store URL %q: consistent must be true or false", clip(raw))
			}
			out.Consistent = b
		default:
			if ok, err := out.capacityParam(raw, name, v); err != nil {
				return nil, err
			} else if !ok {
				return nil, fmt.Errorf("dynamo: store URL %q: unknown parameter %q", clip(raw), name)
			}
		}
	}
	return out, out.checkCapacity(raw)
}

// ValidTableName reports whether name is a DynamoDB table name: 3 to 255
// letters, digits, '_', '-' and '.'. (A loop rather than a regexp: a
// package-level regexp is compiled at every Lambda cold start.)
func ValidTableName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// String returns the URL in its canonical form, which Parse reads back
// as the same URL.
func (u *URL) String() string {
	switch u.Scheme {
	case SchemeSQLite:
		if strings.HasPrefix(u.Path, "//") {
			// Parse takes "//" after "sqlite:" as the optional slashes:
			// a path that starts with them is written after them.
			return SchemeSQLite + "://" + u.Path + u.capacityQuery("?")
		}
		return SchemeSQLite + ":" + u.Path + u.capacityQuery("?")
	case SchemeMem:
		return SchemeMem + ":" + u.capacityQuery("?")
	case SchemeDAX:
		return SchemeDAX + "://" + u.Addr
	}
	q := url.Values{}
	u.addCapacity(q)
	if u.Endpoint != "" {
		q.Set("endpoint", u.Endpoint)
	}
	if u.Region != "" {
		q.Set("region", u.Region)
	}
	if u.Consistent {
		q.Set("consistent", "true")
	}
	s := SchemeDynamoDB + "://" + u.Table
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

func (u *URL) addCapacity(q url.Values) {
	if u.Billing != "" {
		q.Set("billing", u.Billing)
	}
	if u.RCU != 0 {
		q.Set("rcu", strconv.Itoa(u.RCU))
	}
	if u.WCU != 0 {
		q.Set("wcu", strconv.Itoa(u.WCU))
	}
}

// capacityQuery returns the capacity parameters as a query after sep, ""
// without them.
func (u *URL) capacityQuery(sep string) string {
	q := url.Values{}
	u.addCapacity(q)
	if len(q) == 0 {
		return ""
	}
	return sep + q.Encode()
}

// Absolute returns the store URL raw as a child process in another
// working directory must get it: a SQLite path made absolute; any other
// URL as it is.
func Absolute(raw string) (string, error) {
	u, err := Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != SchemeSQLite {
		return raw, nil
	}
	abs, err := filepath.Abs(u.Path)
	if err != nil {
		return "", fmt.Errorf("store %q: %w", raw, err)
	}
	return SchemeSQLite + ":" + abs + u.capacityQuery("?"), nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
