package expr

import (
	"bytes"
	"math/big"
	"strings"
)

// Numbers are exact decimals, as DynamoDB's are and as surge's items keep
// them: compared, added and subtracted on their digits, never through
// float64.

// DynamoDB's number limits: 38 significant digits, magnitudes from 1E-130
// up to (not including) 1E+126.
const (
	maxDigits = 38
	minExp    = -130
	maxExp    = 125
)

// DynamoDB's messages for a number it cannot store.
const (
	msgOverflow  = "Number overflow. Attempting to store a number with magnitude larger than supported range"
	msgUnderflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
	msgPrecision = "Attempting to store more than 38 significant digits in a Number"
)

// decimal is digits × 10^exp, digits without leading or trailing zeros;
// zero has no digits.
type decimal struct {
	neg    bool
	digits string
	exp    int
}

// parseDecimal reads a JSON number. ok is false for anything else.
func parseDecimal(s string) (d decimal, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	start := i
	var b strings.Builder
	for i < len(s) && isDigit(s[i]) {
		b.WriteByte(s[i])
		i++
	}
	if i == start {
		return d, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			b.WriteByte(s[i])
			i++
		}
		if i == fs {
			return d, false
		}
		d.exp -= i - fs
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es, e := i, 0
		for i < len(s) && isDigit(s[i]) {
			if e < 1_000_000 {
				e = e*10 + int(s[i]-'0')
			}
			i++
		}
		if i == es {
			return d, false
		}
		if eneg {
			e = -e
		}
		d.exp += e
	}
	if i != len(s) {
		return d, false
	}
	digits := strings.TrimLeft(b.String(), "0")
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		d.exp++
	}
	d.digits = digits
	if digits == "" {
		d.neg, d.exp = false, 0
	}
	return d, true
}

// check returns DynamoDB's message when d cannot be stored, else "".
func (d decimal) check() string {
	if d.digits == "" {
		return ""
	}
	if len(d.digits) > maxDigits {
		return msgPrecision
	}
	switch sci := len(d.digits) - 1 + d.exp; {
	case sci > maxExp:
		return msgOverflow
	case sci < minExp:
		return msgUnderflow
	}
	return ""
}

// String returns d in plain decimal notation, as surge's items keep numbers.
func (d decimal) String() string {
	if d.digits == "" {
		return "0"
	}
	var b strings.Builder
	if d.neg {
		b.WriteByte('-')
	}
	switch point := len(d.digits) + d.exp; {
	case d.exp >= 0:
		b.WriteString(d.digits)
		b.WriteString(strings.Repeat("0", d.exp))
	case point > 0:
		b.WriteString(d.digits[:point])
		b.WriteByte('.')
		b.WriteString(d.digits[point:])
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(d.digits)
	}
	return b.String()
}

// cmpDecimal compares two decimals by value.
func cmpDecimal(a, b decimal) int {
	switch {
	case a.digits == "" && b.digits == "":
		return 0
	case a.digits == "":
		if b.neg {
			return 1
		}
		return -1
	case b.digits == "":
		if a.neg {
			return -1
		}
		return 1
	case a.neg != b.neg:
		if a.neg {
			return -1
		}
		return 1
	}
	c := cmpMagnitude(a, b)
	if a.neg {
		return -c
	}
	return c
}

// cmpMagnitude compares |a| and |b|, both non-zero.
func cmpMagnitude(a, b decimal) int {
	ea, eb := len(a.digits)+a.exp, len(b.digits)+b.exp // position of the point
	if ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	// Same magnitude: the digit strings compare as fractions.
	for i := 0; i < len(a.digits) || i < len(b.digits); i++ {
		var x, y byte = '0', '0'
		if i < len(a.digits) {
			x = a.digits[i]
		}
		if i < len(b.digits) {
			y = b.digits[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// cmpNumbers compares two JSON number texts by value: numbers in plain
// notation (as items and values keep them) without allocating, any other
// through parseDecimal.
func cmpNumbers(a, b []byte) int {
	if string(a) == string(b) {
		return 0
	}
	if bytes.ContainsAny(a, "eE") || bytes.ContainsAny(b, "eE") {
		da, _ := parseDecimal(string(a))
		db, _ := parseDecimal(string(b))
		return cmpDecimal(da, db)
	}
	na, nb := len(a) > 0 && a[0] == '-', len(b) > 0 && b[0] == '-'
	if na {
		a = a[1:]
	}
	if nb {
		b = b[1:]
	}
	za, zb := isZero(a), isZero(b)
	switch {
	case za && zb:
		return 0
	case za:
		return signOf(!nb)
	case zb:
		return signOf(na)
	case na != nb:
		return signOf(na)
	}
	c := cmpPlain(a, b)
	if na {
		return -c
	}
	return c
}

// signOf returns -1 when neg, else 1.
func signOf(neg bool) int {
	if neg {
		return -1
	}
	return 1
}

// isZero reports whether a plain unsigned decimal is zero.
func isZero(s []byte) bool {
	for _, c := range s {
		if c != '0' && c != '.' {
			return false
		}
	}
	return true
}

// cmpPlain compares two plain unsigned non-zero decimals by value.
func cmpPlain(a, b []byte) int {
	ia, fa := splitPoint(a)
	ib, fb := splitPoint(b)
	if len(ia) != len(ib) {
		if len(ia) < len(ib) {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(ia, ib); c != 0 {
		return c
	}
	fa, fb = bytes.TrimRight(fa, "0"), bytes.TrimRight(fb, "0")
	return bytes.Compare(fa, fb)
}

// splitPoint returns a plain decimal's integer digits, without leading
// zeros, and its fraction digits.
func splitPoint(s []byte) (whole, frac []byte) {
	whole = s
	if i := bytes.IndexByte(s, '.'); i >= 0 {
		whole, frac = s[:i], s[i+1:]
	}
	return bytes.TrimLeft(whole, "0"), frac
}

// addDecimals returns a+b, or a-b when sub, exactly.
func addDecimals(a, b decimal, sub bool) decimal {
	if sub {
		b.neg = !b.neg && b.digits != ""
	}
	e := min(a.exp, b.exp)
	x, y := a.scaled(a.exp-e), b.scaled(b.exp-e)
	x.Add(x, y)
	r := decimal{neg: x.Sign() < 0, exp: e}
	digits := x.Abs(x).String()
	if digits == "0" {
		return decimal{}
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		r.exp++
	}
	r.digits = digits
	return r
}

// scaled returns d's digits times 10^shift, signed.
func (d decimal) scaled(shift int) *big.Int {
	x := new(big.Int)
	if d.digits == "" {
		return x
	}
	x.SetString(d.digits, 10)
	if shift > 0 {
		x.Mul(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil))
	}
	if d.neg {
		x.Neg(x)
	}
	return x
}
