package items

import "strings"

// DynamoDB's number limits, which the contract adopts for every backend:
// at most 38 significant digits, and a magnitude from 1E-130 up to (not
// including) 1E+126.
const (
	MaxNumberDigits = 38
	minExponent     = -130
	maxExponent     = 125
)

// NormalizeNumber returns the canonical text of a JSON number: plain
// decimal notation, no exponent, no leading or trailing zeros beyond the
// one before a decimal point, and "0" for any zero ("-0", "0.00", "0e5").
// So "1.10" becomes "1.1", "1.5e3" becomes "1500" and "-2E-3" "-0.002". The
// value never changes: a number that cannot be kept exactly (over 38
// significant digits, or outside DynamoDB's range) is an EINVALID error.
func NormalizeNumber(s string) (string, error) {
	bad := func() (string, error) {
		return "", Errorf(EINVALID, "%q is not a JSON number.", clip(s))
	}
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	// Integer and fraction digits, as one digit string with a point position.
	var digits []byte
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		digits = append(digits, s[i])
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return bad()
	}
	exp := 0 // value = digits * 10^exp
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
			i++
		}
		if i == fs {
			return bad()
		}
		exp -= i - fs
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		e := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if e < 1_000_000 { // beyond any representable value; stop growing
				e = e*10 + int(s[i]-'0')
			}
			i++
		}
		if i == es {
			return bad()
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(s) {
		return bad()
	}
	// Strip leading zeros; all zeros is zero, whatever the exponent.
	lead := 0
	for lead < len(digits) && digits[lead] == '0' {
		lead++
	}
	digits = digits[lead:]
	if len(digits) == 0 {
		return "0", nil
	}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if len(digits) > MaxNumberDigits {
		return "", Errorf(EINVALID, "The number %q has more than %d significant digits, which cannot be stored exactly.", clip(s), MaxNumberDigits)
	}
	// Scientific exponent of the leading digit.
	if sci := len(digits) - 1 + exp; sci < minExponent || sci > maxExponent {
		return "", Errorf(EINVALID, "The number %q is outside the storable range (1E-130 to 9.99E+125 in magnitude).", clip(s))
	}
	var b strings.Builder
	b.Grow(len(digits) + 4 + abs(exp))
	if neg {
		b.WriteByte('-')
	}
	switch point := len(digits) + exp; {
	case exp >= 0:
		b.Write(digits)
		for range exp {
			b.WriteByte('0')
		}
	case point > 0:
		b.Write(digits[:point])
		b.WriteByte('.')
		b.Write(digits[point:])
	default:
		b.WriteString("0.")
		for range -point {
			b.WriteByte('0')
		}
		b.Write(digits)
	}
	return b.String(), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
