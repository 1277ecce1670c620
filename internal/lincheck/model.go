// Package lincheck checks that surge's items API is linearizable: it
// records histories of concurrent clients over real HTTP (GET, PUT, PUT
// with If-Match, PATCH, DELETE with and without If-Match, create with a
// client id) and checks them with porcupine against a model of a versioned
// register per item.
//
// An operation whose outcome the client cannot know (a timeout, a broken
// connection, a 5xx) is recorded as such: it may have taken effect at any
// time after it was sent, or never, and the checker is free to place it
// anywhere from its call on. A request that a limit refused before it
// ran (a 429, or a 503 naming its limit in X-Limit-Source: admission
// control, a provisioned table's capacity) took no effect and is left
// out; were that untrue, a later read would see a value no write in the
// history wrote, and the check would fail.
//
// The model is the contract (docs/API.md): an item exists or not; a
// create makes it at version 1; every successful write adds one to its
// version and gives it a new ETag; a read returns the latest write. Each
// write carries a value unique in the history, so a read says which write
// it saw.
package lincheck

import (
	"fmt"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Kind is an operation of the history.
type Kind uint8

// The operations.
const (
	Get      Kind = iota // GET /items/{id}
	Put                  // PUT /items/{id}
	PutIf                // PUT /items/{id} with If-Match
	Patch                // PATCH /items/{id}
	Delete               // DELETE /items/{id}
	DeleteIf             // DELETE /items/{id} with If-Match
	Create               // POST /items with the id in the body
	kindCount
)

var kindNames = [...]string{"get", "put", "put-if", "patch", "delete", "delete-if", "create"}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Input is an operation as the client sent it.
type Input struct {
	Key  string
	Kind Kind
	// Value is what a write sets: the "w" attribute of a PUT or create,
	// the "p" attribute of a PATCH; unique in a history.
	Value string
	// IfMatch is the opaque tag of a conditional write.
	IfMatch string
}

// Output is the answer, as the client read it.
type Output struct {
	// Unknown is set when the client cannot know whether the operation
	// took effect (timeout, broken connection, 5xx).
	Unknown bool
	Status  int
	// Version, Rev (the ETag's opaque tag), W and P are the item of an
	// answer that carries one.
	Version int64
	Rev     string
	W, P    string
}

// state is one item's state in the model. Rev is "" when the item's tag
// is not known (its last write's outcome was not): any tag read then is
// taken as the item's.
type state struct {
	Exists  bool
	Version int64
	Rev     string
	W, P    string
}

// step returns the states the item may be in after in answered out, from
// s; none when the answer is impossible from s.
func step(s state, in Input, out Output) []state {
	if out.Unknown {
		return unknownStep(s, in)
	}
	switch in.Kind {
	case Get:
		switch out.Status {
		case 200:
			if !s.Exists || out.Version != s.Version || out.W != s.W || out.P != s.P || (s.Rev != "" && out.Rev != s.Rev) {
				return nil
			}
			s.Rev = out.Rev
			return []state{s}
		case 404:
			return when(!s.Exists, s)
		}
	case Put, Patch, PutIf:
		switch out.Status {
		case 200:
			if !s.Exists || (in.Kind == PutIf && s.Rev != "" && s.Rev != in.IfMatch) {
				return nil
			}
			next := written(s, in)
			next.Rev = out.Rev
			if out.Version != next.Version || out.W != next.W || out.P != next.P || out.Rev == "" {
				return nil
			}
			return []state{next}
		case 404:
			return when(!s.Exists, s)
		case 412:
			return when(in.Kind == PutIf && s.Exists && s.Rev != in.IfMatch, s)
		}
	case Delete, DeleteIf:
		switch out.Status {
		case 204:
			if !s.Exists || (in.Kind == DeleteIf && s.Rev != "" && s.Rev != in.IfMatch) {
				return nil
			}
			return []state{{}}
		case 404:
			return when(!s.Exists, s)
		case 412:
			return when(in.Kind == DeleteIf && s.Exists && s.Rev != in.IfMatch, s)
		}
	case Create:
		switch out.Status {
		case 201:
			if s.Exists || out.Version != 1 || out.W != in.Value || out.P != "" || out.Rev == "" {
				return nil
			}
			return []state{{Exists: true, Version: 1, Rev: out.Rev, W: in.Value}}
		case 409:
			return when(s.Exists, s)
		}
	}
	return nil
}

// unknownStep is an operation that may have taken effect: the states it
// would leave if it did. (That it did not is the same as placing it after
// every other operation, which the checker may do, its return being the
// end of the history.)
func unknownStep(s state, in Input) []state {
	switch in.Kind {
	case Get:
		return []state{s}
	case Put, Patch:
		if !s.Exists {
			return []state{s}
		}
		return []state{written(s, in)}
	case PutIf, DeleteIf:
		if !s.Exists {
			return []state{s}
		}
		var next state
		if in.Kind == PutIf {
			next = written(s, in)
		}
		switch {
		case s.Rev == in.IfMatch:
			return []state{next}
		case s.Rev == "": // the tag is not known: it may have matched
			return []state{next, s}
		}
		return []state{s}
	case Delete:
		return []state{{}}
	case Create:
		if s.Exists {
			return []state{s}
		}
		return []state{{Exists: true, Version: 1, W: in.Value}}
	}
	return nil
}

// written is s after a successful write of in, its new tag not known.
func written(s state, in Input) state {
	next := state{Exists: true, Version: s.Version + 1, W: s.W, P: s.P}
	switch in.Kind {
	case Put, PutIf:
		next.W, next.P = in.Value, ""
	case Patch:
		next.P = in.Value
	}
	return next
}

func when(ok bool, s state) []state {
	if ok {
		return []state{s}
	}
	return nil
}

// Model returns the porcupine model of the items API: a versioned register
// per item, partitioned by item.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition:      partition,
		PartitionEvent: nil,
		Init:           func() []any { return []any{state{}} },
		Step: func(st, in, out any) []any {
			next := step(st.(state), in.(Input), out.(Output))
			res := make([]any, len(next))
			for i, s := range next {
				res[i] = s
			}
			return res
		},
		Equal:             func(a, b any) bool { return a.(state) == b.(state) },
		DescribeOperation: describeOperation,
		DescribeState: func(st any) string {
			s := st.(state)
			if !s.Exists {
				return "absent"
			}
			rev := s.Rev
			if rev == "" {
				rev = "?"
			}
			return fmt.Sprintf("v%d %s w=%s p=%s", s.Version, rev, s.W, s.P)
		},
	}
	return nm.ToModel()
}

func partition(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(Input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

func describeOperation(in, out any) string {
	i, o := in.(Input), out.(Output)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", i.Kind, i.Key)
	if i.Value != "" {
		fmt.Fprintf(&b, " %s", i.Value)
	}
	if i.IfMatch != "" {
		fmt.Fprintf(&b, " if %s", i.IfMatch)
	}
	if o.Unknown {
		b.WriteString(" -> ?")
		return b.String()
	}
	fmt.Fprintf(&b, " -> %d", o.Status)
	if o.Version > 0 {
		fmt.Fprintf(&b, " v%d %s w=%s p=%s", o.Version, o.Rev, o.W, o.P)
	}
	return b.String()
}
