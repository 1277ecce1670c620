// Package items is surge's domain: the item, its validation and limits,
// the error codes of the contract, and the Store interface that every
// backend implements. It imports nothing of the project.
package items

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Limits of the contract (API.md) and of DynamoDB, which the contract mirrors.
const (
	// MaxItemSize is the largest encoded item, as DynamoDB limits it.
	MaxItemSize = 400 * 1024
	// MaxPageBytes is where a list page stops early, as a DynamoDB Query does.
	MaxPageBytes = 1 << 20
	// MaxIDLength is the longest id.
	MaxIDLength = 128
	// MaxTenantLength is the longest tenant name.
	MaxTenantLength = 128
	// DefaultListLimit and MaxListLimit bound a list page's item count.
	DefaultListLimit = 50
	MaxListLimit     = 1000
	// MaxBatchOps is the most operations one batch request may carry.
	MaxBatchOps = 25
	// IdempotencyTTL is how long an Idempotency-Key is remembered.
	IdempotencyTTL = 24 * time.Hour
)

// DefaultTenant owns every item when no authentication is configured.
const DefaultTenant = "default"

// Key is an item's primary key: items are partitioned by tenant.
type Key struct {
	Tenant string
	ID     string
}

// Item is a stored item: the server-managed attributes and the client's.
type Item struct {
	Key
	// Version is 1 on create and grows by one on every successful write.
	Version int64
	// CreatedAt and UpdatedAt are UTC with millisecond precision.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Rev is an opaque token that changes on every write, including a
	// delete followed by a create under the same id; the ETag is derived
	// from it and conditional writes compare it.
	Rev string
	// Attrs are the client's attributes.
	Attrs Attributes
}

// ETag returns the item's strong entity tag, quoted as HTTP wants it.
func (it *Item) ETag() string { return `"` + it.Rev + `"` }

// Size returns the encoded size of the item as the contract counts it.
func (it *Item) Size() int { return len(it.AppendJSON(nil)) }

// AppendJSON appends the item's JSON form to dst: the server-managed
// attributes first, then the client's in name order.
func (it *Item) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendQuote(dst, it.ID) // ids are ASCII from a safe set
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, it.Version, 10)
	dst = append(dst, `,"createdAt":"`...)
	dst = AppendTime(dst, it.CreatedAt)
	dst = append(dst, `","updatedAt":"`...)
	dst = AppendTime(dst, it.UpdatedAt)
	dst = append(dst, '"')
	if body := it.Attrs.members(); len(body) > 0 {
		dst = append(dst, ',')
		dst = append(dst, body...)
	}
	return append(dst, '}')
}

// TimeLayout is RFC 3339 with milliseconds, as the contract's timestamps are.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendTime appends t in UTC in TimeLayout. Every item in a response
// has two timestamps (a list page of 250 has 500), so the layout's four-
// digit years are written directly; others go through AppendFormat.
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// Now returns the current time as items carry it: UTC, whole milliseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// NewID returns a new time-ordered item id (a UUIDv7).
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only when the system's random source does.
		panic("items: no randomness for a new id: " + err.Error())
	}
	return id.String()
}

// NewRev returns a new revision token: 64 random bits in hex.
func NewRev() string {
	var b [8]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	return hex.EncodeToString(b[:])
}

// ValidateID reports whether id is a valid item id
// (^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$), as an EINVALID *Error.
func ValidateID(id string) error {
	if id == "" || len(id) > MaxIDLength {
		return Errorf(EINVALID, "An id is 1 to %d characters.", MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return Errorf(EINVALID, "An id has letters, digits, '.', '_' and '-', and begins with a letter or digit.")
		}
	}
	return nil
}

// ValidateTenant reports whether tenant is a usable tenant name.
func ValidateTenant(tenant string) error {
	if tenant == "" || len(tenant) > MaxTenantLength {
		return Errorf(EINVALID, "A tenant is 1 to %d bytes.", MaxTenantLength)
	}
	return nil
}
