package items_test

import (
	"testing"

	"github.com/surgehq/surge/internal/items"
)

func TestNormalizeNumber(t *testing.T) {
	ok := map[string]string{
		"0": "0", "-0": "0", "0.000": "0", "0e99999999": "0",
		"1": "1", "-1": "-1", "1.10": "1.1", "1.5e3": "1500", "1.5E+3": "1500",
		"-2E-3": "-0.002", "12345678901234567890": "12345678901234567890",
		"100": "100", "0.5": "0.5", "10.250": "10.25", "123.456e1": "1234.56",
		"1e-130": "0." + zeros(129) + "1", "9.9999999999999999999999999999999999999e125": "99999999999999999999999999999999999999" + zeros(88),
		"12345678901234567890123456789012345678":      "12345678901234567890123456789012345678",
		"1234567890123456789012345678901234567800000": "1234567890123456789012345678901234567800000",
	}
	for in, want := range ok {
		got, err := items.NormalizeNumber(in)
		if err != nil || got != want {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1x", "--1", "1e-131", "1e126",
		"123456789012345678901234567890123456789", "1.23456789012345678901234567890123456789"}
	for _, in := range bad {
		if got, err := items.NormalizeNumber(in); items.ErrorCode(err) != items.EINVALID {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want an invalid error", in, got, err)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}
