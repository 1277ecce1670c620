package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PayloadClass is a body size with its weight in the mix of sizes.
type PayloadClass struct {
	Size   ByteSize `yaml:"size" json:"size"`
	Weight float64  `yaml:"weight" json:"weight"`
}

// Payloads are the body size classes of a run with their weights. Their
// text form is SIZE=WEIGHT pairs, such as "256B=70,4KB=25,64KB=5" (a size
// without a weight weighs 1); a scenario file may give that text, or a
// list whose items are each such a pair or a mapping of size and weight.
type Payloads []PayloadClass

// ParsePayloads reads payload classes such as "256B=70,4KB=25,64KB=5",
// reporting every bad class.
func ParsePayloads(s string) (Payloads, error) {
	return parseList(s, parsePayloadClass)
}

func parsePayloadClass(part string) (PayloadClass, error) {
	size, weight, hasWeight := strings.Cut(part, "=")
	b, err := ParseByteSize(size)
	if err != nil {
		return PayloadClass{}, err
	}
	w := 1.0
	if hasWeight {
		if w, err = strconv.ParseFloat(strings.TrimSpace(weight), 64); err != nil {
			return PayloadClass{}, fmt.Errorf("%q: bad weight: %w", part, err)
		}
	}
	return PayloadClass{Size: b, Weight: w}, nil
}

// Set replaces the classes with the ones s describes (flag.Value).
func (p *Payloads) Set(s string) error {
	v, err := ParsePayloads(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// String returns the classes in their text form.
func (p Payloads) String() string {
	parts := make([]string, len(p))
	for i, c := range p {
		parts[i] = c.Size.String() + "=" + strconv.FormatFloat(c.Weight, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// UnmarshalYAML reads the classes from their text form or from a list.
func (p *Payloads) UnmarshalYAML(n *yaml.Node) error {
	v, err := unmarshalList(n, parsePayloadClass, "size", "weight")
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MaxPayload is the largest body size class: the contract's item limit is
// 400 KB, and a target may refuse what is larger, which a run may want to
// see.
const MaxPayload = 16 << 20

// ByteSize is a size in bytes that reads and prints as "256B", "4KB",
// "64KiB" or "1MB"; KB and KiB both mean 1024 bytes.
type ByteSize int64

// String renders the size in the largest unit that divides it.
func (b ByteSize) String() string {
	switch {
	case b >= 1<<20 && b%(1<<20) == 0:
		return strconv.FormatInt(int64(b)>>20, 10) + "MB"
	case b >= 1<<10 && b%(1<<10) == 0:
		return strconv.FormatInt(int64(b)>>10, 10) + "KB"
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// ParseByteSize reads a size such as "256", "256B", "4KB", "4kib" or "1MB".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes such as 256B, 4KB or 1MB", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	var mult int64
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	default:
		return 0, fmt.Errorf("size %q: unknown unit (want B, KB or MB)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return ByteSize(n * mult), nil
}

// payloads are the bodies of a size class, generated before the run so
// that the hot path only picks one.
type payloads struct {
	classes chooserN
	bodies  [][][]byte // class -> variants
	updates [][][]byte // the same of api.update_body, when set
	patches [][]byte
	names   []string // the bodies' {{name}}s, which index queries ask for
}

// chooserN picks a size class index by weight.
type chooserN struct{ cum []float64 }

func (c *chooserN) pick(r *rand.Rand) int {
	if len(c.cum) == 1 {
		return 0
	}
	x := r.Float64() * c.cum[len(c.cum)-1]
	for i, v := range c.cum {
		if x < v {
			return i
		}
	}
	return len(c.cum) - 1
}

// variantsPerClass is how many different bodies each size class has:
// enough that caches and compression see varied content.
const variantsPerClass = 8

var words = strings.Fields(`alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima
mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu lambda
dynamo gateway surge item table stream shard cache token bucket spike ramp sustain latency`)

// filler returns a JSON string literal of exactly n bytes (n >= 2) of
// random words.
func filler(r *rand.Rand, n int) []byte {
	if n < 2 {
		n = 2
	}
	b := make([]byte, 0, n)
	b = append(b, '"')
	for len(b) < n-1 {
		w := words[r.IntN(len(words))]
		if len(b)+len(w)+1 > n-1 {
			w = w[:n-1-len(b)]
		}
		b = append(b, w...)
		if len(b) < n-1 {
			b = append(b, ' ')
		}
	}
	return append(b, '"')
}

// render fills a body template's placeholders.
func render(tmpl, name string, n int, data []byte) []byte {
	r := strings.NewReplacer("{{name}}", name, "{{n}}", strconv.Itoa(n), "{{data}}", string(data))
	return []byte(r.Replace(tmpl))
}

// checkTemplate reports whether a body template has only known
// placeholders and renders to a JSON object.
func checkTemplate(tmpl string) error {
	rest := tmpl
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return errors.New("a {{ without }}")
		}
		switch p := rest[i+2 : i+j]; p {
		case "name", "n", "data":
		default:
			return fmt.Errorf("unknown placeholder {{%s}} (want {{name}}, {{n}} or {{data}})", p)
		}
		rest = rest[i+j+2:]
	}
	b := render(tmpl, "x", 1, []byte(`"y"`))
	if !json.Valid(b) || strings.TrimSpace(string(b))[0] != '{' {
		return errors.New("does not render to a JSON object")
	}
	return nil
}

// newPayloads generates the bodies of every size class: a template filled
// up to the class's size with random words, so sizes are exact whenever
// the template is smaller than the class.
func newPayloads(s *Scenario, r *rand.Rand) *payloads {
	p := &payloads{}
	var total float64
	for _, c := range s.Payloads {
		total += c.Weight
		p.classes.cum = append(p.classes.cum, total)
		vs, names := variants(s.API.Body, c.Size, r)
		p.bodies = append(p.bodies, vs)
		p.names = append(p.names, names...)
		if s.API.UpdateBody != "" {
			us, _ := variants(s.API.UpdateBody, c.Size, r)
			p.updates = append(p.updates, us)
		}
	}
	for i := range 16 {
		p.patches = append(p.patches, render(s.API.Patch, "patch-"+strconv.Itoa(i), r.IntN(1_000_000), filler(r, 24)))
	}
	return p
}

// variants renders a body template in variantsPerClass variants of a
// size class, and returns them with their {{name}}s.
func variants(tmpl string, size ByteSize, r *rand.Rand) (vs [][]byte, names []string) {
	for v := range variantsPerClass {
		name := "surge-" + size.String() + "-" + strconv.Itoa(v)
		names = append(names, name)
		n := r.IntN(1_000_000)
		overhead := len(render(tmpl, name, n, []byte(`""`)))
		vs = append(vs, render(tmpl, name, n, filler(r, int(size)-overhead+2)))
	}
	return vs, names
}

// bodyClass returns a body and its size class's index plus one.
func (p *payloads) bodyClass(r *rand.Rand) ([]byte, int) {
	c := p.classes.pick(r)
	vs := p.bodies[c]
	return vs[r.IntN(len(vs))], c + 1
}

// updateClass returns the body of an update (PUT), of api.update_body
// when set, else a create's, and its size class's index plus one.
func (p *payloads) updateClass(r *rand.Rand) ([]byte, int) {
	if p.updates == nil {
		return p.bodyClass(r)
	}
	c := p.classes.pick(r)
	vs := p.updates[c]
	return vs[r.IntN(len(vs))], c + 1
}

func (p *payloads) patch(r *rand.Rand) []byte { return p.patches[r.IntN(len(p.patches))] }

// name returns one of the bodies' names.
func (p *payloads) name(r *rand.Rand) string {
	if len(p.names) == 0 {
		return "surge"
	}
	return p.names[r.IntN(len(p.names))]
}
