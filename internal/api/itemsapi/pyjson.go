package itemsapi

import (
	"bytes"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The original function answered with Python's json.dumps, whose default
// output differs from compact JSON: ", " and ": " separators, and every
// character outside printable ASCII escaped as \uXXXX (ensure_ascii). The
// dispatcher writes the same bytes, so that clients that compared answers
// byte for byte keep working.

// appendPy appends the JSON value v as json.dumps writes it. Numbers keep
// their text (the original's would have been Decimals from DynamoDB).
func appendPy(dst []byte, v []byte) ([]byte, error) {
	d := jsontext.NewDecoder(bytes.NewReader(v))
	type frame struct {
		object bool
		n      int // tokens so far inside the container
	}
	var stack []frame
	for {
		tok, err := d.ReadToken()
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
		k := tok.Kind()
		if k == '}' || k == ']' {
			stack = stack[:len(stack)-1]
			dst = append(dst, byte(k))
			continue
		}
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			switch {
			case f.object && f.n%2 == 1:
				dst = append(dst, ": "...)
			case f.n > 0:
				dst = append(dst, ", "...)
			}
			f.n++
		}
		switch k {
		case '{', '[':
			stack = append(stack, frame{object: k == '{'})
			dst = append(dst, byte(k))
		case '"':
			dst = appendPyString(dst, tok.String())
		default: // numbers and literals, as they are
			dst = append(dst, tok.String()...)
		}
	}
}

// appendPyString appends s quoted as json.dumps quotes it.
func appendPyString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u := func(dst []byte, r rune) []byte {
		return append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r >= 0x10000 {
				r -= 0x10000
				dst = u(dst, 0xd800+(r>>10))
				dst = u(dst, 0xdc00+(r&0x3ff))
			} else {
				dst = u(dst, r)
			}
			i += size
			continue
		}
		i++
	}
	return append(dst, '"')
}
