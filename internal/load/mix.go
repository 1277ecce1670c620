package load

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Op is an operation of the workload, an index into the metrics. The
// dispatcher's operations are separate ops, so that each gets its row; a
// collection's requests are the ops of its run (see workload).
type Op uint16

// The operations. OpsCreate and the ones after it go through the /ops
// dispatcher; the others are REST calls of API.md.
const (
	OpCreate Op = iota
	OpRead
	OpUpdate
	OpPatch
	OpDelete
	OpList
	OpBatch
	OpsCreate
	OpsRead
	OpsUpdate
	OpsDelete
	OpsList
	OpsEcho
	OpsPing
	// OpScan, OpQueryIndex and OpConsistentRead are the table's access
	// patterns through the dispatcher: a Scan with a filter that keeps
	// few items (a page of up to 1 MB read, whatever it keeps), a Query of
	// the secondary index by name (Limit 10), and a strongly consistent
	// read by key.
	OpScan
	OpQueryIndex
	OpConsistentRead
	numOps
)

var opNames = [numOps]string{
	"create", "read", "update", "patch", "delete", "list", "batch",
	"ops:create", "ops:read", "ops:update", "ops:delete", "ops:list", "ops:echo", "ops:ping",
	"scan", "query-index", "consistent-read",
}

// String returns the operation's name as reports and thresholds spell it.
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Operations are the names a mix may weigh; "ops" goes through the
// dispatcher with the operations of API.OpsMix, and so do "scan",
// "query-index" and "consistent-read" (the table's access patterns: a
// scan slows and costs more as the table grows, a key lookup and an index
// query stay flat).
var Operations = []string{"create", "read", "update", "patch", "delete", "list", "batch", "ops", "scan", "query-index", "consistent-read"}

// DispatcherOps are the names an ops mix may weigh.
var DispatcherOps = []string{"create", "read", "update", "delete", "list", "echo", "ping"}

// opByName maps every operation name a report or threshold may use.
func opByName(name string) (Op, bool) {
	for i, n := range opNames {
		if n == name {
			return Op(i), true
		}
	}
	return 0, false
}

// chooser picks an index by weight; there are only a handful, so a linear
// scan of the cumulative weights beats anything cleverer.
type chooser struct {
	cum   []float64
	items []Op
}

func newChooser(weights map[string]float64, names []string, ops []Op) chooser {
	var c chooser
	var total float64
	for i, n := range names {
		w := weights[n]
		if w <= 0 {
			continue
		}
		total += w
		c.cum = append(c.cum, total)
		c.items = append(c.items, ops[i])
	}
	return c
}

func (c *chooser) pick(r *rand.Rand) Op {
	if len(c.items) == 1 {
		return c.items[0]
	}
	x := r.Float64() * c.cum[len(c.cum)-1]
	for i, v := range c.cum {
		if x < v {
			return c.items[i]
		}
	}
	return c.items[len(c.items)-1]
}

// Mix weighs operations by name: a read weight of 5 and a create weight of
// 1 send five reads for every create. Its text form is NAME=WEIGHT pairs,
// such as "read=5,create=1"; a scenario file may give that text or a
// mapping. The names are checked by Scenario.Validate, which knows which
// operations the mix is of (Operations, or DispatcherOps for API.OpsMix).
type Mix map[string]float64

// ParseMix reads a mix such as "read=5,create=1", reporting every bad pair.
// A name given twice keeps its last weight.
func ParseMix(s string) (Mix, error) {
	type pair struct {
		name   string
		weight float64
	}
	pairs, err := parseList(s, func(part string) (pair, error) {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return pair{}, fmt.Errorf("%q: want NAME=WEIGHT", part)
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return pair{}, fmt.Errorf("%q: bad weight: %w", part, err)
		}
		return pair{k, w}, nil
	})
	if err != nil {
		return nil, err
	}
	m := Mix{}
	for _, p := range pairs {
		m[p.name] = p.weight
	}
	return m, nil
}

// Set replaces the mix with the one s describes (flag.Value).
func (m *Mix) Set(s string) error {
	v, err := ParseMix(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// String returns the mix in its text form, names in order.
func (m Mix) String() string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+strconv.FormatFloat(m[k], 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// UnmarshalYAML reads a mix from its text form or from a mapping; either
// replaces the mix whole rather than merging into it.
func (m *Mix) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := ParseMix(n.Value)
		if err != nil {
			return &yaml.TypeError{Errors: atLine(n.Line, err)}
		}
		*m = v
		return nil
	}
	var w map[string]float64
	if err := n.Decode(&w); err != nil {
		return err
	}
	*m = w
	return nil
}
