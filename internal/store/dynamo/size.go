package dynamo

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/surgehq/surge/internal/items"
)

// StoredSize returns the size, as DynamoDB counts it (ItemSize), of the
// item as this store keeps it: its key, server-managed attributes, the
// client's attributes under attrs, and the index key when the item is in
// the secondary index. It computes it from the item's canonical JSON
// without converting it, so that a store that does not keep items in
// DynamoDB (SQLite, memory) charges a table the capacity units DynamoDB
// would charge for the same item: StoredSize(it) equals
// ItemSize(encodeItem(it)).
func StoredSize(it *items.Item) int {
	attrs, indexLen, indexed := attributesSize(it.Attrs)
	n := len(attrTenant) + len(it.Tenant) +
		len(attrID) + len(it.ID) +
		len(attrVersion) + intSize(it.Version) +
		len(attrRev) + len(it.Rev) +
		len(attrCreatedAt) + intSize(it.CreatedAt.UnixMilli()) +
		len(attrUpdatedAt) + intSize(it.UpdatedAt.UnixMilli()) +
		len(attrAttrs) + attrs
	if indexed {
		// indexKey: the tenant's length, ':', the tenant, the value.
		n += len(attrIndexKey) + intDigits(len(it.Tenant)) + 1 + len(it.Tenant) + indexLen
	}
	return n
}

// AttributesSize returns the size of canonical attributes as the value
// of attrs, a map, as DynamoDB counts it (a container at the contract's
// deepest level counts as the binary of its JSON text, as it is stored).
func AttributesSize(a items.Attributes) int {
	n, _, _ := attributesSize(a)
	return n
}

// attributesSize is AttributesSize, and the UTF-8 length of the string
// value of items.IndexAttr when there is one.
func attributesSize(a items.Attributes) (size, indexLen int, indexed bool) {
	if len(a) < 2 {
		return 3, 0, false // an empty map
	}
	n, i := 3, 1
	for i < len(a) && a[i] != '}' {
		if a[i] == ',' {
			i++
		}
		start := i
		var name int
		name, i = stringSize(a, i)
		i++ // ':'
		if i < len(a) && a[i] == '"' && string(a[start+1:i-2]) == items.IndexAttr {
			indexLen, _ = stringSize(a, i)
			indexed = true
		}
		var v int
		v, i = jsonSize(a, i, 2)
		n += 1 + name + v
	}
	return n, indexLen, indexed
}

func intDigits(v int) int {
	d := 1
	for v >= 10 {
		v /= 10
		d++
	}
	return d
}

// intSize is NumberSize of an integer, without formatting it.
func intSize(v int64) int {
	if v <= 0 {
		var buf [24]byte
		return numberSize(strconv.AppendInt(buf[:0], v, 10))
	}
	digits, tz := 0, 0
	for n, trailing := v, true; n > 0; n /= 10 {
		if trailing && n%10 == 0 {
			tz++
		} else {
			trailing = false
		}
		digits++
	}
	// As numberSize: d significant digits, the first at exponent
	// digits-1.
	d := digits - tz
	size := 1 + (d+1)/2
	if d%2 == 0 && (digits-1)%2 == 0 {
		size++
	}
	return size
}

// jsonSize returns the stored size of the canonical JSON value at b[i:],
// at depth (the attributes' map is at 1), and the index just after it.
// Canonical JSON is compact and valid; anything else is counted by its
// length, as a bound.
func jsonSize(b []byte, i, depth int) (int, int) {
	if i >= len(b) {
		return 0, i
	}
	switch c := b[i]; c {
	case '"':
		return stringSize(b, i)
	case '{', '[':
		if depth >= items.MaxDepth {
			end := skipValue(b, i)
			return end - i, end // kept as its JSON text in a binary value
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		n := 3
		i++
		for i < len(b) && b[i] != closing {
			if b[i] == ',' {
				i++
			}
			if c == '{' {
				var name int
				name, i = stringSize(b, i)
				i++ // ':'
				n += name
			}
			var v int
			v, i = jsonSize(b, i, depth+1)
			n += 1 + v
		}
		return n, i + 1
	case 't':
		return 1, i + 4
	case 'f':
		return 1, i + 5
	case 'n':
		return 1, i + 4
	}
	j := i
	for j < len(b) && isNumberByte(b[j]) {
		j++
	}
	if j == i {
		return len(b) - i, len(b)
	}
	return numberSize(b[i:j]), j
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// stringSize returns the UTF-8 length of the JSON string at b[i:] once
// its escapes are decoded, and the index after its closing quote.
func stringSize(b []byte, i int) (int, int) {
	i++ // the opening quote
	n := 0
	for i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return n + len(b) - i, len(b)
		}
		e := bytes.IndexByte(b[i:i+q], '\\')
		if e < 0 {
			return n + q, i + q + 1
		}
		n += e
		i += e
		if i+1 >= len(b) {
			return n, len(b)
		}
		if b[i+1] != 'u' {
			n++
			i += 2
			continue
		}
		r, ok := hex4(b, i+2)
		i += 6
		if !ok {
			n += 6
			continue
		}
		if r >= 0xd800 && r < 0xdc00 && i+5 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
			if lo, ok := hex4(b, i+2); ok && lo >= 0xdc00 && lo < 0xe000 {
				n += 4
				i += 6
				continue
			}
		}
		if l := utf8.RuneLen(r); l > 0 {
			n += l
		} else {
			n += 3 // a lone surrogate, replaced
		}
	}
	return n, i
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// skipValue returns the index just after the JSON value at b[i:].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			_, i = stringSize(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return i
}

// numberSize is NumberSize of a number's text, without allocating.
func numberSize(n []byte) int {
	all := len(n)
	neg := len(n) > 0 && n[0] == '-'
	if neg {
		n = n[1:]
	}
	mant, exp := n, 0
	for i, c := range n {
		if c != 'e' && c != 'E' {
			continue
		}
		mant = n[:i]
		es := n[i+1:]
		eneg := len(es) > 0 && es[0] == '-'
		for len(es) > 0 && (es[0] == '+' || es[0] == '-') {
			es = es[1:]
		}
		if len(es) == 0 {
			return all
		}
		e := 0
		for _, c := range es {
			if c < '0' || c > '9' {
				return all
			}
			if e < 1_000_000 {
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp = e
		break
	}
	// Count the digits, where the point is among them, and the first and
	// last significant ones.
	digits, point, first, last := 0, -1, -1, -1
	for _, c := range mant {
		if c == '.' {
			if point >= 0 {
				return all
			}
			point = digits
			continue
		}
		if c < '0' || c > '9' {
			return all
		}
		if c != '0' {
			if first < 0 {
				first = digits
			}
			last = digits
		}
		digits++
	}
	if point < 0 {
		point = digits
	}
	if first < 0 {
		return 1
	}
	d := last - first + 1
	sci := point - first - 1 + exp
	size := 1 + (d+1)/2
	if d%2 == 0 && sci%2 == 0 {
		size++
	}
	if neg {
		size++
	}
	return size
}

// indexKeyOf returns the value of the index key attribute of an item of
// tenant with attributes a, and whether the item is in the index: the
// tenant's length, a colon, the tenant and the item's IndexAttr, so that
// no two tenants share a key.
func indexKeyOf(tenant string, a items.Attributes) (string, bool) {
	if !items.HasIndexValue(a) {
		return "", false
	}
	return indexKey(tenant, items.IndexValueOf(a)), true
}

func indexKey(tenant, value string) string {
	return strconv.Itoa(len(tenant)) + ":" + tenant + value
}
