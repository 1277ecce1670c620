package expr

import (
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token of DynamoDB's expression lexer.
type tokKind uint8

const (
	tEOF tokKind = iota
	tComma
	tLParen
	tRParen
	tDot
	tLBracket
	tRBracket
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tPlus
	tMinus
	tIn
	tBetween
	tNot
	tAnd
	tOr
	tSet
	tAdd
	tDelete
	tRemove
	tIndex   // a list index: 0 or a digit 1-9 then digits
	tID      // a letter, then letters, digits and underscores
	tName    // #name: '#' then one or more letters, digits, underscores
	tValue   // :value: ':' then one or more letters, digits, underscores
	tUnknown // any other single character
)

// token is one token: its kind and where its text is in the source.
type token struct {
	kind       tokKind
	start, end int
}

// keywords are the words the lexer makes tokens of its own, in any case,
// in every kind of expression: an attribute so named needs a #name.
var keywords = map[string]tokKind{
	"in": tIn, "between": tBetween, "not": tNot, "and": tAnd, "or": tOr,
	"set": tSet, "add": tAdd, "delete": tDelete, "remove": tRemove,
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isIDChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// lex splits src into tokens as DynamoDB's lexer does: whitespace (space,
// tab, CR, LF) separates tokens and is dropped, the longest match wins,
// and a character that starts no token is a token of its own (which the
// parser then refuses). The last token is tEOF.
func lex(src string) []token {
	toks := make([]token, 0, len(src)/3+2)
	for i := 0; i < len(src); {
		c := src[i]
		start := i
		var k tokKind
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			continue
		case isLetter(c):
			for i++; i < len(src) && isIDChar(src[i]); i++ {
			}
			k = tID
			if i-start <= 7 {
				if kw, ok := keywords[strings.ToLower(src[start:i])]; ok {
					k = kw
				}
			}
		case c == '0':
			i++
			k = tIndex
		case c >= '1' && c <= '9':
			for i++; i < len(src) && isDigit(src[i]); i++ {
			}
			k = tIndex
		case (c == '#' || c == ':') && i+1 < len(src) && isIDChar(src[i+1]):
			for i += 2; i < len(src) && isIDChar(src[i]); i++ {
			}
			k = tName
			if c == ':' {
				k = tValue
			}
		default:
			i++
			switch c {
			case ',':
				k = tComma
			case '(':
				k = tLParen
			case ')':
				k = tRParen
			case '.':
				k = tDot
			case '[':
				k = tLBracket
			case ']':
				k = tRBracket
			case '=':
				k = tEq
			case '+':
				k = tPlus
			case '-':
				k = tMinus
			case '<':
				k = tLt
				if i < len(src) && src[i] == '=' {
					k, i = tLe, i+1
				} else if i < len(src) && src[i] == '>' {
					k, i = tNe, i+1
				}
			case '>':
				k = tGt
				if i < len(src) && src[i] == '=' {
					k, i = tGe, i+1
				}
			default:
				k = tUnknown
				if c >= utf8.RuneSelf {
					_, n := utf8.DecodeRuneInString(src[start:])
					i = start + n
				}
			}
		}
		toks = append(toks, token{k, start, i})
	}
	return append(toks, token{tEOF, len(src), len(src)})
}

// utf16Len is the length of s in UTF-16 code units, the length DynamoDB
// measures expressions and strings in.
func utf16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += w
	}
	return n
}
