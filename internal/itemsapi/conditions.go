package itemsapi

import (
	"net/http"
)

// etags is a parsed If-Match or If-None-Match header (RFC 9110, 13.1.1
// and 13.1.2): "*" or a list of entity tags.
type etags struct {
	// present is true when the request had the header.
	present bool
	// any is true for "*".
	any bool
	// strong and weak hold the opaque tags (without quotes) of the list's
	// strong and weak (W/) entity tags.
	strong, weak []string
}

// parseETags parses the values of an If-Match or If-None-Match header.
// A value that is not "*" or a list of entity tags matches nothing, so a
// malformed If-Match never lets a write through.
func parseETags(values []string) etags {
	if len(values) == 0 {
		return etags{}
	}
	e := etags{present: true}
	for _, v := range values {
		for i := 0; i < len(v); {
			switch c := v[i]; {
			case c == ' ' || c == '\t' || c == ',':
				i++
				continue
			case c == '*':
				e.any = true
				i++
				continue
			}
			weak := false
			if len(v)-i >= 2 && v[i] == 'W' && v[i+1] == '/' {
				weak = true
				i += 2
			}
			if i >= len(v) || v[i] != '"' {
				return etags{present: true} // malformed: matches nothing
			}
			j := i + 1
			for j < len(v) && v[j] != '"' {
				if c := v[j]; c < 0x21 || c == 0x7f {
					return etags{present: true}
				}
				j++
			}
			if j >= len(v) {
				return etags{present: true}
			}
			if weak {
				e.weak = append(e.weak, v[i+1:j])
			} else {
				e.strong = append(e.strong, v[i+1:j])
			}
			i = j + 1
		}
	}
	return e
}

// matchStrong reports whether an item with the given Rev matches, by the
// strong comparison If-Match uses: a weak tag never matches.
func (e *etags) matchStrong(rev string) bool {
	if e.any {
		return true
	}
	for _, t := range e.strong {
		if t == rev {
			return true
		}
	}
	return false
}

// matchWeak reports whether an item with the given Rev matches, by the
// weak comparison If-None-Match uses.
func (e *etags) matchWeak(rev string) bool {
	if e.matchStrong(rev) {
		return true
	}
	for _, t := range e.weak {
		if t == rev {
			return true
		}
	}
	return false
}

// singleRev returns the Rev to pass to the store as a write's condition
// when the header is exactly one strong tag, so that the store checks it
// atomically with the write and no read is needed.
func (e *etags) singleRev() (string, bool) {
	if !e.any && len(e.strong) == 1 && len(e.weak) == 0 {
		return e.strong[0], true
	}
	return "", false
}

func ifMatch(r *http.Request) etags     { return parseETags(r.Header["If-Match"]) }
func ifNoneMatch(r *http.Request) etags { return parseETags(r.Header["If-None-Match"]) }
