package logbuf

import (
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// appendText appends r as slog's TextHandler writes it (no source, no
// ReplaceAttr, no attributes or groups added to the handler), or reports
// false, having appended nothing that counts, when r holds an attribute
// whose kind it leaves to slog: a group, a LogValuer or any other value.
// An access log line is written on every request, and slog's handler
// spends most of its time on what this one skips: a pooled state per
// record, the check of each attribute's kind through an interface, and
// a second copy of the line. FuzzAppendText holds it to slog's output.
func appendText(b []byte, r slog.Record) ([]byte, bool) {
	if !r.Time.IsZero() {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, r.Time.Round(0))
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendString(b, r.Level.String())
	b = append(b, " msg="...)
	b = appendString(b, r.Message)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
			return true // an empty attribute, which slog leaves out
		}
		b = append(b, ' ')
		b = appendString(b, a.Key)
		b = append(b, '=')
		v := a.Value
		switch v.Kind() {
		case slog.KindString:
			b = appendString(b, v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindFloat64:
			b = strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindDuration:
			b = append(b, v.Duration().String()...)
		case slog.KindTime:
			b = appendRFC3339Millis(b, v.Time())
		default:
			ok = false
		}
		return ok
	})
	return append(b, '\n'), ok
}

// appendRFC3339Millis is slog's time format: RFC 3339 truncated to the
// millisecond, always with three digits. Lines come many to a second, so
// the second's text (date, time and zone) is kept from the last line and
// only the milliseconds are written anew.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	if s := lastSecond.Load(); s != nil && s.sec == sec && s.loc == loc {
		ms := t.Nanosecond() / int(time.Millisecond)
		b = append(b, s.head...)
		b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
		return append(b, s.zone...)
	}
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the 4th digit
	if out := b[n:]; len(out) > prefixLen && out[prefixLen-4] == '.' {
		// Only a four-digit year's text has the layout kept above.
		lastSecond.Store(&second{sec: sec, loc: loc,
			head: string(out[:prefixLen-3]), zone: string(out[prefixLen:])})
	}
	return b
}

// second is the text of one second of one location: what comes before
// its milliseconds, and its zone.
type second struct {
	sec        int64
	loc        *time.Location
	head, zone string
}

var lastSecond atomic.Pointer[second]

// appendString appends s as slog's text handler does: as it is, or
// quoted when it is empty or holds a space, '=', '"', a control
// character, invalid UTF-8 or a rune that is a space or not printable.
func appendString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 16<<10 {
		return // a rare long line's buffer is not kept
	}
	*b = (*b)[:0]
	bufs.Put(b)
}
