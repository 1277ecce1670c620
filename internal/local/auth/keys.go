// Package auth turns a request's credentials into a Principal: the tenant
// it acts for, and the API key and usage plan it uses. It is the local
// stand-in for API Gateway's API keys and usage plans and for a JWT
// authorizer:
//
//   - API keys come from a keys file mapping each key to a tenant and a
//     usage plan (rate, burst and an optional daily quota), as API
//     Gateway's usage plans attach keys to throttling limits; a client
//     sends its key in x-api-key.
//   - Bearer tokens are JWTs signed with HS256 (a shared secret) or RS256
//     (keys from a JWKS file); the tenant is read from a configured claim.
//
// With both configured, a request needs both: the token says who the
// caller is (its tenant), and the key which usage plan meters it, as API
// Gateway's authorizers and API keys do. The tenant never comes from the
// request body or any other client-set header.
package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/surgehq/surge/internal/items"
)

// API key lengths, as API Gateway bounds them.
const (
	MinKeyLength = 20
	MaxKeyLength = 128
)

// Plan is a usage plan: the limits of every key attached to it. Each key
// gets buckets of its own, as in API Gateway.
type Plan struct {
	Name string
	// Rate is the steady requests per second a key may send; 0 means no
	// rate limit.
	Rate float64
	// Burst is the token bucket's size: the requests a key may send at
	// once.
	Burst int
	// Quota is the requests a key may send per UTC day; 0 means no quota.
	Quota int64
}

// Key is an API key's entry in a keys file.
type Key struct {
	// Name identifies the key in logs and metrics; the key's value is never
	// logged. It defaults to "key-" and the start of the value's SHA-256.
	Name   string
	Tenant string
	// Plan is the key's usage plan, nil for none.
	Plan *Plan
	// InvalidateCache lets the key's requests invalidate a cached response
	// with Cache-Control: max-age=0 (API Gateway's execute-api:InvalidateCache).
	InvalidateCache bool
}

// Keys is a parsed keys file. Look keys up with Lookup.
type Keys struct {
	byHash map[[32]byte]*Key
	// Plans are the file's usage plans by name.
	Plans map[string]*Plan
	// list is every key, by name, for Names.
	list []*Key
}

// keysFile is the keys file's form, YAML or JSON:
//
//	plans:
//	  basic: {rate: 100, burst: 200, quota: 10000}
//	keys:
//	  "a-key-of-20-to-128-characters": {tenant: acme, plan: basic, name: acme-app, invalidate-cache: true}
type keysFile struct {
	Plans map[string]planEntry `yaml:"plans"`
	Keys  map[string]keyEntry  `yaml:"keys"`
}

type planEntry struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	Quota int64   `yaml:"quota"`
}

type keyEntry struct {
	Tenant          string `yaml:"tenant"`
	Plan            string `yaml:"plan"`
	Name            string `yaml:"name"`
	InvalidateCache bool   `yaml:"invalidate-cache"`
}

// LoadKeys reads and parses a keys file.
func LoadKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read keys file: %w", err)
	}
	k, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	return k, nil
}

// ParseKeys parses a keys file, YAML or JSON (see keysFile). Unknown
// fields, keys outside 20 to 128 printable ASCII characters, bad tenants,
// undefined plans and negative limits are errors.
func ParseKeys(data []byte) (*Keys, error) {
	var f keysFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse: %w", err)
	}
	k := &Keys{byHash: map[[32]byte]*Key{}, Plans: map[string]*Plan{}}
	for name, p := range f.Plans {
		if name == "" {
			return nil, errors.New("a plan has no name")
		}
		if p.Rate < 0 || p.Burst < 0 || p.Quota < 0 {
			return nil, fmt.Errorf("plan %q: rate, burst and quota must not be negative", name)
		}
		if p.Rate > 0 && p.Burst == 0 {
			return nil, fmt.Errorf("plan %q: a rate needs a burst of at least 1", name)
		}
		k.Plans[name] = &Plan{Name: name, Rate: p.Rate, Burst: p.Burst, Quota: p.Quota}
	}
	names := map[string]bool{}
	for value, e := range f.Keys {
		if err := validKey(value); err != nil {
			return nil, err
		}
		if err := items.ValidateTenant(e.Tenant); err != nil {
			return nil, fmt.Errorf("key %s: tenant %q: %s", keyName(value), e.Tenant, items.ErrorMessage(err))
		}
		key := &Key{Name: e.Name, Tenant: e.Tenant, InvalidateCache: e.InvalidateCache}
		if key.Name == "" {
			key.Name = keyName(value)
		}
		if names[key.Name] {
			return nil, fmt.Errorf("two keys are named %q", key.Name)
		}
		names[key.Name] = true
		if e.Plan != "" {
			p, ok := k.Plans[e.Plan]
			if !ok {
				return nil, fmt.Errorf("key %s: no plan %q", key.Name, e.Plan)
			}
			key.Plan = p
		}
		k.byHash[sha256.Sum256([]byte(value))] = key
		k.list = append(k.list, key)
	}
	sort.Slice(k.list, func(i, j int) bool { return k.list[i].Name < k.list[j].Name })
	return k, nil
}

// validKey checks a key's value as API Gateway does: 20 to 128 printable
// ASCII characters.
func validKey(v string) error {
	if len(v) < MinKeyLength || len(v) > MaxKeyLength {
		return fmt.Errorf("key %s: a key is %d to %d characters, got %d", keyName(v), MinKeyLength, MaxKeyLength, len(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("key %s: a key is printable ASCII without spaces", keyName(v))
		}
	}
	return nil
}

// keyName names a key by the start of its value's hash, so that the value
// itself never reaches a log.
func keyName(v string) string {
	h := sha256.Sum256([]byte(v))
	return "key-" + hex.EncodeToString(h[:4])
}

// Lookup returns the key entry of an x-api-key value, or nil. It compares
// hashes, so that the time it takes says nothing of how much of a guess was
// right.
func (k *Keys) Lookup(value string) *Key {
	if k == nil || len(value) > MaxKeyLength {
		return nil
	}
	return k.byHash[sha256.Sum256([]byte(value))]
}

// Len returns the number of keys.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.list)
}

// Names returns the keys' names, sorted.
func (k *Keys) Names() []string {
	var out []string
	for _, key := range k.list {
		out = append(out, key.Name)
	}
	return out
}

// String describes the keys for a log line, without their values.
func (k *Keys) String() string {
	return fmt.Sprintf("%d keys, %d plans (%s)", k.Len(), len(k.Plans), strings.Join(k.Names(), ", "))
}
