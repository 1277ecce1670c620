package load

import (
	"math"
	"strconv"
)

// ParseServerTiming reads a Server-Timing header value (W3C Server Timing)
// such as `store;dur=0.41, total;dur=0.93;desc="all"` and calls fn for each
// well-formed metric with its name and its dur parameter in milliseconds
// (ok false when it has none: then the value is its desc when that is a
// non-negative number, as in surge's capacity units "rcu;desc=0.5", else
// 0). A malformed metric is skipped up to the next comma, as browsers do,
// so one bad entry does not hide the others. The name slice is only valid
// during the call. It allocates nothing.
func ParseServerTiming(h []byte, fn func(name []byte, dur float64, ok bool)) {
	i := 0
	for i < len(h) {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t' || h[i] == ',') {
			i++
		}
		if i >= len(h) {
			return
		}
		start := i
		for i < len(h) && isTokenChar(h[i]) {
			i++
		}
		name := h[start:i]
		bad := len(name) == 0
		var dur, desc float64
		hasDur := false
	params:
		for !bad {
			i = skipOWS(h, i)
			if i >= len(h) || h[i] == ',' {
				break
			}
			if h[i] != ';' {
				bad = true
				break
			}
			i = skipOWS(h, i+1)
			ps := i
			for i < len(h) && isTokenChar(h[i]) {
				i++
			}
			pname := h[ps:i]
			if len(pname) == 0 {
				bad = true
				break
			}
			i = skipOWS(h, i)
			var val []byte
			if i < len(h) && h[i] == '=' {
				i = skipOWS(h, i+1)
				if i < len(h) && h[i] == '"' {
					// A quoted string; escapes only matter for desc, which is
					// not kept, so the raw contents suffice.
					i++
					vs := i
					for {
						if i >= len(h) {
							bad = true
							break params
						}
						if h[i] == '\\' && i+1 < len(h) {
							i += 2
							continue
						}
						if h[i] == '"' {
							break
						}
						i++
					}
					val = h[vs:i]
					i++
				} else {
					vs := i
					for i < len(h) && isTokenChar(h[i]) {
						i++
					}
					val = h[vs:i]
				}
			}
			if !hasDur && len(pname) == 3 && lower(pname[0]) == 'd' && lower(pname[1]) == 'u' && lower(pname[2]) == 'r' {
				if d, ok := parseDecimal(val); ok {
					dur, hasDur = d, true
				}
			}
			if len(pname) == 4 && lower(pname[0]) == 'd' && lower(pname[1]) == 'e' && lower(pname[2]) == 's' && lower(pname[3]) == 'c' &&
				len(val) > 0 && '0' <= val[0] && val[0] <= '9' {
				if d, ok := parseDecimal(val); ok {
					desc = d
				}
			}
		}
		if bad {
			i = skipMetric(h, i)
			continue
		}
		if !hasDur {
			dur = desc
		}
		fn(name, dur, hasDur)
	}
}

func skipOWS(h []byte, i int) int {
	for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
		i++
	}
	return i
}

// skipMetric moves past the rest of a malformed metric: to the next comma
// that is not inside a quoted string.
func skipMetric(h []byte, i int) int {
	inQuote := false
	for ; i < len(h); i++ {
		switch c := h[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return i + 1
		}
	}
	return i
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110).
func isTokenChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// parseDecimal reads a non-negative decimal such as "0.41" or "12" without
// allocating; anything else (exponents, signs) goes to strconv. Values that
// are not finite and not >= 0 are refused.
func parseDecimal(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 64 {
		return 0, false
	}
	var ip, fp uint64
	var fd int
	i := 0
	for i < len(b) && '0' <= b[i] && b[i] <= '9' && i < 15 {
		ip = ip*10 + uint64(b[i]-'0')
		i++
	}
	simple := i > 0
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && '0' <= b[i] && b[i] <= '9' && fd < 15 {
			fp = fp*10 + uint64(b[i]-'0')
			fd++
			i++
		}
		simple = simple && fd > 0
	}
	if simple && i == len(b) {
		return float64(ip) + float64(fp)/math.Pow10(fd), true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false
	}
	return f, true
}
