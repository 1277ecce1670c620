package rest

import (
	"net/http"
	"strings"
)

// ETags is a parsed If-Match or If-None-Match header (RFC 9110, 13.1.1
// and 13.1.2): "*" or a list of entity tags.
type ETags struct {
	// Present is true when the request had the header.
	Present bool
	// Any is true for "*".
	Any bool
	// Strong and Weak hold the opaque tags (without quotes) of the list's
	// strong and weak (W/) entity tags.
	Strong, Weak []string
}

// ParseETags parses the values of an If-Match or If-None-Match header. A
// value that is not "*" or a list of entity tags matches nothing, so a
// malformed If-Match never lets a write through. An empty entity tag
// ("") is a tag like any other, and matches no resource's tag.
func ParseETags(values []string) ETags {
	if len(values) == 0 {
		return ETags{}
	}
	e := ETags{Present: true}
	for _, v := range values {
		for i := 0; i < len(v); {
			switch c := v[i]; {
			case c == ' ' || c == '\t' || c == ',':
				i++
				continue
			case c == '*':
				e.Any = true
				i++
				continue
			}
			weak := false
			if len(v)-i >= 2 && v[i] == 'W' && v[i+1] == '/' {
				weak = true
				i += 2
			}
			if i >= len(v) || v[i] != '"' {
				return ETags{Present: true} // malformed: matches nothing
			}
			j := i + 1
			for j < len(v) && v[j] != '"' {
				if c := v[j]; c < 0x21 || c == 0x7f {
					return ETags{Present: true}
				}
				j++
			}
			if j >= len(v) {
				return ETags{Present: true}
			}
			if weak {
				e.Weak = append(e.Weak, v[i+1:j])
			} else {
				e.Strong = append(e.Strong, v[i+1:j])
			}
			i = j + 1
		}
	}
	return e
}

// MatchStrong reports whether a current representation with the opaque
// tag (without quotes; "" for a representation without an entity tag)
// matches, by the strong comparison If-Match uses: "*" matches any, a
// weak tag never matches, and nothing matches a representation without a
// tag.
func (e *ETags) MatchStrong(tag string, hasTag bool) bool {
	if e.Any {
		return true
	}
	if !hasTag {
		return false
	}
	for _, t := range e.Strong {
		if t == tag {
			return true
		}
	}
	return false
}

// MatchWeak reports whether a current representation with the opaque tag
// matches, by the weak comparison If-None-Match uses: W/"x" matches "x".
func (e *ETags) MatchWeak(tag string, hasTag bool) bool {
	if e.MatchStrong(tag, hasTag) {
		return true
	}
	if !hasTag {
		return false
	}
	for _, t := range e.Weak {
		if t == tag {
			return true
		}
	}
	return false
}

// SingleStrong returns the one strong tag of a header that lists exactly
// one and nothing else, so that a write can hand it to the store as its
// condition, checked atomically with the write.
func (e *ETags) SingleStrong() (string, bool) {
	if !e.Any && len(e.Strong) == 1 && len(e.Weak) == 0 {
		return e.Strong[0], true
	}
	return "", false
}

// Precondition is the outcome of a request's preconditions.
type Precondition int

// Outcomes of Preconditions.
const (
	// Proceed: the preconditions hold (or there are none).
	Proceed Precondition = iota
	// Failed: answer 412 Precondition Failed.
	Failed
	// NotModified: answer 304 Not Modified (GET and HEAD only).
	NotModified
)

// Conditions are a request's If-Match and If-None-Match.
type Conditions struct {
	IfMatch, IfNoneMatch ETags
}

// RequestConditions parses r's If-Match and If-None-Match.
func RequestConditions(r *http.Request) Conditions {
	return Conditions{IfMatch: ParseETags(r.Header["If-Match"]), IfNoneMatch: ParseETags(r.Header["If-None-Match"])}
}

// Any reports whether the request has either header.
func (c *Conditions) Any() bool { return c.IfMatch.Present || c.IfNoneMatch.Present }

// Evaluate evaluates the conditions of a request with method against the
// target resource's current representation, in the order of RFC 9110,
// 13.2.2: If-Match first (strong comparison; "*" is true when a current
// representation exists; false gives 412), then If-None-Match (weak
// comparison; "*" is false when one exists; false gives 304 to GET and
// HEAD and 412 to every other method). exists says whether the resource
// has a current representation; tag is its opaque entity tag, hasTag
// false for a representation without one, which no listed tag matches.
//
// A server evaluates preconditions only where the request would
// otherwise succeed (13.2.1): a request for an item that does not exist
// is answered 404 before them, so callers pass exists false only for a
// resource whose absence is not itself the answer.
func (c *Conditions) Evaluate(method string, exists bool, tag string, hasTag bool) Precondition {
	if c.IfMatch.Present {
		if !exists || !c.IfMatch.MatchStrong(tag, hasTag) {
			return Failed
		}
	}
	if c.IfNoneMatch.Present {
		matches := exists && c.IfNoneMatch.MatchWeak(tag, hasTag)
		if matches {
			if method == http.MethodGet || method == http.MethodHead {
				return NotModified
			}
			return Failed
		}
	}
	return Proceed
}

// OpaqueTag returns the opaque part of an ETag header value ("x" of
// "\"x\"" or "W/\"x\""); ok is false for a value that is not an entity
// tag.
func OpaqueTag(etag string) (tag string, ok bool) {
	etag = strings.TrimPrefix(etag, "W/")
	if len(etag) < 2 || etag[0] != '"' || etag[len(etag)-1] != '"' || strings.Contains(etag[1:len(etag)-1], `"`) {
		return "", false
	}
	return etag[1 : len(etag)-1], true
}
