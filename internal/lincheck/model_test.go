package lincheck

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

// op builds an operation for the model's tests.
func op(client int, call, ret int64, in Input, out Output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: out}
}

func TestModel(t *testing.T) {
	const k = "a"
	create := Input{Key: k, Kind: Create, Value: "c1"}
	created := Output{Status: 201, Version: 1, Rev: "r1", W: "c1"}
	put := Input{Key: k, Kind: Put, Value: "p2"}
	put2 := Output{Status: 200, Version: 2, Rev: "r2", W: "p2"}
	get := Input{Key: k, Kind: Get}
	for _, c := range []struct {
		name string
		ops  []porcupine.Operation
		want bool
	}{
		{"CreateThenRead", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(1, 2, 3, get, Output{Status: 200, Version: 1, Rev: "r1", W: "c1"}),
		}, true},
		{"StaleReadAfterWrite", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 3, put, put2),
			op(1, 4, 5, get, Output{Status: 200, Version: 1, Rev: "r1", W: "c1"}),
		}, false},
		{"ConcurrentReadMaySeeEither", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 6, put, put2),
			op(1, 3, 4, get, Output{Status: 200, Version: 1, Rev: "r1", W: "c1"}),
			op(2, 3, 5, get, put2),
		}, true},
		{"ReadsGoBack", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 9, put, put2),
			op(1, 3, 4, get, put2),
			op(2, 5, 6, get, Output{Status: 200, Version: 1, Rev: "r1", W: "c1"}),
		}, false},
		{"ReadAfterAcknowledgedDelete", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 3, Input{Key: k, Kind: Delete}, Output{Status: 204}),
			op(1, 4, 5, get, Output{Status: 200, Version: 1, Rev: "r1", W: "c1"}),
		}, false},
		{"UnknownPutMayHaveHappened", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 100, put, Output{Unknown: true}),
			op(1, 4, 5, get, Output{Status: 200, Version: 2, Rev: "rX", W: "p2"}),
			op(1, 6, 7, Input{Key: k, Kind: PutIf, Value: "p3", IfMatch: "rX"}, Output{Status: 200, Version: 3, Rev: "r3", W: "p3"}),
		}, true},
		{"UnknownPutMayNotHaveHappened", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 100, put, Output{Unknown: true}),
			op(1, 4, 5, get, Output{Status: 200, Version: 1, Rev: "r1", W: "c1"}),
		}, true},
		{"IfMatchStaleTagFails", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 3, put, put2),
			op(1, 4, 5, Input{Key: k, Kind: PutIf, Value: "x", IfMatch: "r1"}, Output{Status: 412}),
		}, true},
		{"IfMatchStaleTagWins", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 3, put, put2),
			op(1, 4, 5, Input{Key: k, Kind: PutIf, Value: "x", IfMatch: "r1"}, Output{Status: 200, Version: 3, Rev: "r3", W: "x"}),
		}, false},
		{"LostUpdate", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 3, put, put2),
			op(1, 4, 5, Input{Key: k, Kind: Put, Value: "p3"}, Output{Status: 200, Version: 2, Rev: "r3", W: "p3"}),
		}, false},
		{"PatchKeepsW", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 3, Input{Key: k, Kind: Patch, Value: "q"}, Output{Status: 200, Version: 2, Rev: "r2", W: "c1", P: "q"}),
			op(1, 4, 5, get, Output{Status: 200, Version: 2, Rev: "r2", W: "c1", P: "q"}),
		}, true},
		{"CreateOfExisting", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(1, 2, 3, Input{Key: k, Kind: Create, Value: "c2"}, Output{Status: 201, Version: 1, Rev: "r9", W: "c2"}),
		}, false},
		{"DeleteThenCreateAgain", []porcupine.Operation{
			op(0, 0, 1, create, created),
			op(0, 2, 3, Input{Key: k, Kind: Delete}, Output{Status: 204}),
			op(1, 4, 5, Input{Key: k, Kind: Create, Value: "c2"}, Output{Status: 201, Version: 1, Rev: "r9", W: "c2"}),
			op(0, 6, 7, get, Output{Status: 200, Version: 1, Rev: "r9", W: "c2"}),
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(Model(), c.ops); got != c.want {
				t.Fatalf("linearizable: got %v, want %v", got, c.want)
			}
		})
	}
}
