package postman

import (
	"strings"
	"unicode/utf8"
)

// The script recogniser reads a small subset of JavaScript: enough to
// find the statements that collections use to capture values and check
// responses. The lexer turns a script into tokens that carry their line,
// so that whatever is not understood is reported where it stands.

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tNum
	tStr      // a quoted string; text is its value
	tTemplate // a `template literal`; never understood as a value
	tRegex    // a /regular expression/; text is the pattern, flags apart
	tPunct
)

type token struct {
	kind  tokKind
	text  string
	flags string // a regex's flags
	line  int    // 1-based
	// nl says a line break came before the token: JavaScript ends a
	// statement there when nothing continues it.
	nl bool
}

// lex splits src into tokens. It never fails: what it cannot read becomes
// a punctuation token of its own, which the parser does not understand
// and reports.
func lex(src string) []token {
	var toks []token
	line, nl := 1, false
	emit := func(k tokKind, text string) {
		toks = append(toks, token{kind: k, text: text, line: line, nl: nl})
		nl = false
	}
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			nl = true
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 2
			}
			body := src[i : i+2+end]
			line += strings.Count(body, "\n")
			if strings.Contains(body, "\n") {
				nl = true
			}
			i += 2 + end + 2
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			emit(tIdent, src[i:j])
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i + 1
			for j < len(src) && (isIdentPart(src[j]) || src[j] == '.' ||
				(src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				j++
			}
			emit(tNum, src[i:j])
			i = j
		case c == '"' || c == '\'':
			s, n, lines := readQuoted(src[i:], c)
			emit(tStr, s)
			line += lines
			i += n
		case c == '`':
			n := readTemplate(src[i:])
			lit := src[i : i+n]
			if !strings.Contains(lit, "${") && !strings.Contains(lit, "\\") && n >= 2 && lit[n-1] == '`' {
				// Without substitutions or escapes, a template literal is a
				// plain string.
				emit(tStr, lit[1:n-1])
			} else {
				emit(tTemplate, lit)
			}
			line += strings.Count(lit, "\n")
			i += n
		case c == '/' && regexAllowed(toks):
			pat, flags, n, ok := readRegex(src[i:])
			if !ok {
				emit(tPunct, "/")
				i++
				continue
			}
			emit(tRegex, pat)
			toks[len(toks)-1].flags = flags
			i += n
		default:
			op := readPunct(src[i:])
			emit(tPunct, op)
			i += len(op)
		}
	}
	toks = append(toks, token{kind: tEOF, line: line, nl: true})
	return toks
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf
}

func isIdentPart(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

// readQuoted reads a quoted string starting at s[0] == q and returns its
// value, its length in s and the line breaks it spans (a backslash at the
// end of a line continues it).
func readQuoted(s string, q byte) (string, int, int) {
	var b strings.Builder
	lines := 0
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, lines
		case c == '\n':
			// An unterminated string: end it at the line.
			return b.String(), i, lines
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case '0':
				b.WriteByte(0)
			case '\n':
				lines++
			case 'u':
				if r, n := readUnicodeEscape(s[i+1:]); n > 0 {
					b.WriteRune(r)
					i += n
				} else {
					b.WriteByte('u')
				}
			case 'x':
				if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
					b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
					i += 2
				} else {
					b.WriteByte('x')
				}
			default:
				b.WriteByte(e)
			}
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), i, lines
}

func readUnicodeEscape(s string) (rune, int) {
	if len(s) >= 4 && isHex(s[0]) && isHex(s[1]) && isHex(s[2]) && isHex(s[3]) {
		return rune(unhex(s[0]))<<12 | rune(unhex(s[1]))<<8 | rune(unhex(s[2]))<<4 | rune(unhex(s[3])), 4
	}
	if len(s) >= 3 && s[0] == '{' {
		var r rune
		for j := 1; j < len(s) && j < 8; j++ {
			if s[j] == '}' && j > 1 {
				if r > utf8.MaxRune {
					return 0, 0
				}
				return r, j + 1
			}
			if !isHex(s[j]) {
				return 0, 0
			}
			r = r<<4 | rune(unhex(s[j]))
		}
	}
	return 0, 0
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// readTemplate returns the length of the template literal at s[0] == '`',
// skipping ${...} substitutions with their nested braces.
func readTemplate(s string) int {
	depth := 0
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '$':
			if depth == 0 && i+1 < len(s) && s[i+1] == '{' {
				depth++
				i++
			}
		case '{':
			if depth > 0 {
				depth++
			}
		case '}':
			if depth > 0 {
				depth--
			}
		case '`':
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// regexAllowed reports whether a '/' after toks starts a regular
// expression rather than a division.
func regexAllowed(toks []token) bool {
	if len(toks) == 0 {
		return true
	}
	t := toks[len(toks)-1]
	switch t.kind {
	case tPunct:
		return t.text != ")" && t.text != "]" && t.text != "}"
	case tIdent:
		return t.text == "return" || t.text == "typeof" || t.text == "in" || t.text == "of"
	}
	return false
}

func readRegex(s string) (pat, flags string, n int, ok bool) {
	inClass := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			return "", "", 0, false
		case c == '\\':
			i++
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '/' && !inClass:
			j := i + 1
			for j < len(s) && isIdentPart(s[j]) {
				j++
			}
			return s[1:i], s[i+1 : j], j, true
		}
	}
	return "", "", 0, false
}

var puncts = []string{
	">>>=", "===", "!==", "**=", "<<=", ">>=", ">>>", "...",
	"=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=",
	"&=", "|=", "^=", "**", "<<", ">>",
}

func readPunct(s string) string {
	for _, p := range puncts {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	_, n := utf8.DecodeRuneInString(s)
	return s[:n]
}
