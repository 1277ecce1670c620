package dynamo

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
)

// This file converts between items.Attributes (canonical JSON) and
// DynamoDB AttributeValues, without going through Go's float64: a number's
// decimal text is carried as it is, and normalized on the way back, since
// an engine may answer 1E-130 for 0.000...1.

// AttributesToAV converts canonical attributes to a DynamoDB map: strings
// to S, numbers to N with the same canonical text, true/false to BOOL,
// null to NULL, arrays to L and objects to M. Member order is lost, as
// DynamoDB maps have none.
func AttributesToAV(a items.Attributes) (*types.AttributeValueMemberM, error) {
	if len(a) == 0 {
		return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, nil
	}
	d := jsontext.NewDecoder(bytes.NewReader(a))
	if d.PeekKind() != '{' {
		return nil, errors.New("dynamo: attributes are not a JSON object")
	}
	v, err := decodeValue(d, 1)
	if err != nil {
		return nil, fmt.Errorf("dynamo: convert attributes: %w", err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, errors.New("dynamo: convert attributes: trailing data after the object")
	}
	return v.(*types.AttributeValueMemberM), nil
}

// decodeValue reads the next JSON value of d as an AttributeValue.
func decodeValue(d *jsontext.Decoder, depth int) (types.AttributeValue, error) {
	switch k := d.PeekKind(); k {
	case '{', '[':
		if depth > items.MaxDepth {
			return nil, fmt.Errorf("nested deeper than %d levels", items.MaxDepth)
		}
		if depth == items.MaxDepth {
			// DynamoDB's 32 levels count the item, and the attributes sit
			// one level down in attrs: a container at the contract's
			// deepest level is kept as its JSON text, in a binary value
			// (which the conversion makes nowhere else).
			v, err := d.ReadValue()
			if err != nil {
				return nil, err
			}
			return &types.AttributeValueMemberB{Value: bytes.Clone(v)}, nil
		}
		if k == '[' {
			return decodeList(d, depth)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		m := map[string]types.AttributeValue{}
		for d.PeekKind() != '}' {
			tok, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String()
			v, err := decodeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case '"':
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberS{Value: tok.String()}, nil
	case '0':
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		// Canonical attributes hold canonical numbers already; normalizing
		// again costs little and keeps a non-canonical caller from storing
		// text that DynamoDB would read differently.
		n, err := items.NormalizeNumber(tok.String())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case 't', 'f':
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberBOOL{Value: tok.Bool()}, nil
	case 'n':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberNULL{Value: true}, nil
	default:
		_, err := d.ReadToken()
		if err == nil {
			err = errors.New("unexpected JSON token")
		}
		return nil, err
	}
}

func decodeList(d *jsontext.Decoder, depth int) (types.AttributeValue, error) {
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	l := []types.AttributeValue{}
	for d.PeekKind() != ']' {
		v, err := decodeValue(d, depth+1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	return &types.AttributeValueMemberL{Value: l}, nil
}

// AVToAttributes converts a DynamoDB map back to canonical attributes, its
// members in name order (byte-wise), numbers in canonical text. Besides the
// types AttributesToAV makes, it reads what a person may have added from
// the console: string and number sets as arrays, binary as base64 strings.
func AVToAttributes(m map[string]types.AttributeValue) (items.Attributes, error) {
	dst, err := appendMap(make([]byte, 0, 64), m, 1)
	if err != nil {
		return nil, fmt.Errorf("dynamo: convert attributes: %w", err)
	}
	return items.Attributes(dst), nil
}

func appendMap(dst []byte, m map[string]types.AttributeValue, depth int) ([]byte, error) {
	if depth > items.MaxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", items.MaxDepth)
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	dst = append(dst, '{')
	var err error
	for i, name := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = jsontext.AppendQuote(dst, name); err != nil {
			return nil, err
		}
		dst = append(dst, ':')
		if dst, err = appendValue(dst, m[name], depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

func appendValue(dst []byte, v types.AttributeValue, depth int) ([]byte, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return jsontext.AppendQuote(dst, v.Value)
	case *types.AttributeValueMemberN:
		return appendNumber(dst, v.Value)
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case *types.AttributeValueMemberNULL:
		return append(dst, "null"...), nil
	case *types.AttributeValueMemberM:
		return appendMap(dst, v.Value, depth)
	case *types.AttributeValueMemberL:
		if depth > items.MaxDepth {
			return nil, fmt.Errorf("nested deeper than %d levels", items.MaxDepth)
		}
		dst = append(dst, '[')
		var err error
		for i, e := range v.Value {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case *types.AttributeValueMemberSS:
		return appendList(dst, v.Value, jsontext.AppendQuote)
	case *types.AttributeValueMemberNS:
		return appendList(dst, v.Value, appendNumber)
	case *types.AttributeValueMemberB:
		if depth == items.MaxDepth && isJSONContainer(v.Value) {
			return append(dst, v.Value...), nil
		}
		return appendBase64(dst, v.Value)
	case *types.AttributeValueMemberBS:
		return appendList(dst, v.Value, appendBase64)
	case nil:
		return nil, errors.New("missing attribute value")
	default:
		return nil, fmt.Errorf("unsupported attribute value type %T", v)
	}
}

// isJSONContainer reports whether b is a canonical JSON object or array
// holding no further container, as decodeValue stores at the deepest level.
func isJSONContainer(b []byte) bool {
	if len(b) < 2 || (b[0] != '{' && b[0] != '[') || !jsontext.Value(b).IsValid() {
		return false
	}
	d := jsontext.NewDecoder(bytes.NewReader(b))
	if _, err := d.ReadToken(); err != nil {
		return false
	}
	for {
		switch d.PeekKind() {
		case '{', '[':
			return false
		case '}', ']':
			return true
		case 0:
			return false
		}
		if _, err := d.ReadToken(); err != nil {
			return false
		}
	}
}

func appendNumber(dst []byte, n string) ([]byte, error) {
	c, err := items.NormalizeNumber(n)
	if err != nil {
		return nil, fmt.Errorf("number %q: %w", n, err)
	}
	return append(dst, c...), nil
}

func appendBase64(dst, b []byte) ([]byte, error) {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"'), nil
}

func appendList[T any](dst []byte, vs []T, appendOne func([]byte, T) ([]byte, error)) ([]byte, error) {
	dst = append(dst, '[')
	var err error
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendOne(dst, v); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

// ItemSize returns the size of an item as DynamoDB counts it against its
// 400 KB limit (developer guide, "Item sizes and formats"): the sum over the
// attributes of the name's UTF-8 length and the value's size, where a string
// is its UTF-8 length, binary its raw length, a number NumberSize, a boolean
// or null 1 byte, and a list or map 3 bytes plus, per element, 1 byte and
// the element's size (and, in a map, its name's length).
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return NumberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		n := 3
		for name, e := range v.Value {
			n += 1 + len(name) + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += NumberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	}
	return 0
}

// NumberSize returns the stored size of a number: the developer guide's
// "1 byte per two significant digits, plus 1 byte", made exact. DynamoDB
// keeps a number as an exponent byte and base-100 digits aligned on the
// decimal point, so the digit count is that of the digit pairs the
// significant digits span; a negative number has one more byte. Zero is 1
// byte. Text that is not a number counts its length, as a bound.
func NumberSize(n string) int {
	neg := strings.HasPrefix(n, "-")
	if neg {
		n = n[1:]
	}
	mant, exp := n, 0
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		mant = n[:i]
		e := 0
		es := n[i+1:]
		eneg := strings.HasPrefix(es, "-")
		es = strings.TrimLeft(es, "+-")
		if es == "" {
			return len(n)
		}
		for _, c := range []byte(es) {
			if c < '0' || c > '9' {
				return len(n)
			}
			if e < 1_000_000 {
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp = e
	}
	// Digits and the position of the decimal point in them.
	point := strings.IndexByte(mant, '.')
	digits := mant
	if point >= 0 {
		digits = mant[:point] + mant[point+1:]
	} else {
		point = len(mant)
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return len(n)
		}
	}
	lead := len(digits) - len(strings.TrimLeft(digits, "0"))
	digits = digits[lead:]
	if digits == "" {
		return 1
	}
	digits = strings.TrimRight(digits, "0")
	// Scientific exponent of the first significant digit.
	sci := point - lead - 1 + exp
	d := len(digits)
	size := 1 + (d+1)/2
	if d%2 == 0 && sci%2 == 0 {
		size++
	}
	if neg {
		size++
	}
	return size
}

func encodeItem(it *items.Item) (map[string]types.AttributeValue, error) {
	attrs, err := AttributesToAV(it.Attrs)
	if err != nil {
		return nil, err
	}
	av := map[string]types.AttributeValue{
		attrTenant:    &types.AttributeValueMemberS{Value: it.Tenant},
		attrID:        &types.AttributeValueMemberS{Value: it.ID},
		attrVersion:   &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Version, 10)},
		attrRev:       &types.AttributeValueMemberS{Value: it.Rev},
		attrCreatedAt: timeAV(it.CreatedAt),
		attrUpdatedAt: timeAV(it.UpdatedAt),
		attrAttrs:     attrs,
	}
	if k, ok := indexKeyOf(it.Tenant, it.Attrs); ok {
		av[attrIndexKey] = &types.AttributeValueMemberS{Value: k}
	}
	return av, nil
}

// decodeItem reads an item from its DynamoDB form.
func decodeItem(av map[string]types.AttributeValue) (*items.Item, error) {
	it := &items.Item{}
	var err error
	if it.Tenant, err = stringAttr(av, attrTenant); err != nil {
		return nil, err
	}
	if it.ID, err = stringAttr(av, attrID); err != nil {
		return nil, err
	}
	if it.Rev, err = stringAttr(av, attrRev); err != nil {
		return nil, err
	}
	n, ok := av[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return nil, errors.New("dynamo: stored item has no numeric version")
	}
	if it.Version, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
		return nil, errors.New("dynamo: stored item has a version that is not an integer")
	}
	if it.CreatedAt, err = timeAttr(av, attrCreatedAt); err != nil {
		return nil, err
	}
	if it.UpdatedAt, err = timeAttr(av, attrUpdatedAt); err != nil {
		return nil, err
	}
	switch m := av[attrAttrs].(type) {
	case *types.AttributeValueMemberM:
		if it.Attrs, err = AVToAttributes(m.Value); err != nil {
			return nil, err
		}
	case nil:
		it.Attrs = items.Attributes("{}")
	default:
		return nil, errors.New("dynamo: stored item's attrs is not a map")
	}
	return it, nil
}

func stringAttr(av map[string]types.AttributeValue, name string) (string, error) {
	s, ok := av[name].(*types.AttributeValueMemberS)
	if !ok {
		return "", errors.New("dynamo: stored item has no string " + name)
	}
	return s.Value, nil
}

func timeAV(t time.Time) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

func timeAttr(av map[string]types.AttributeValue, name string) (time.Time, error) {
	n, ok := av[name].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, errors.New("dynamo: stored item has no numeric " + name)
	}
	ms, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("dynamo: stored item's " + name + " is not a Unix time in milliseconds")
	}
	return time.UnixMilli(ms).UTC(), nil
}
