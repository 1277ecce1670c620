package table

import "github.com/surgehq/surge/internal/store/dynamo"

// Kind is the capacity a request consumes: read or write.
type Kind uint8

// The two kinds of capacity, each with its own bucket and auto scaling.
const (
	Read Kind = iota
	Write
)

func (k Kind) String() string {
	if k == Write {
		return "write"
	}
	return "read"
}

// Consistency is how a read is made, which sets its price.
type Consistency uint8

// Read consistencies: an eventually consistent read costs half a strongly
// consistent one, a transactional read twice.
const (
	Eventual Consistency = iota
	Strong
	Transactional
)

func (c Consistency) factor() float64 {
	switch c {
	case Strong:
		return 1
	case Transactional:
		return 2
	}
	return 0.5
}

// Unit sizes: a read unit covers up to 4 KB read, a write unit up to 1 KB
// written.
const (
	ReadUnitSize  = 4 << 10
	WriteUnitSize = 1 << 10
)

// ItemSize is an item's size as DynamoDB counts it, the size the units
// below take (dynamo.ItemSize, the project's one count of it).
var ItemSize = dynamo.ItemSize

// ReadUnits returns the read units of reading one item of size bytes
// (GetItem, and each item of BatchGetItem and TransactGetItems): the size
// rounded up to the next 4 KB, one unit per 4 KB, times the consistency's
// factor. An item that does not exist (size 0) still costs one unit
// before the factor, as DynamoDB charges it.
func ReadUnits(size int, c Consistency) float64 {
	return float64(blocks(size, ReadUnitSize)) * c.factor()
}

// QueryUnits returns the read units of a Query or Scan page that read
// items of total bytes before any filter: the sum rounded up to the next
// 4 KB once (not per item), times the consistency's factor. A page that
// read nothing still costs one unit before the factor.
func QueryUnits(total int, c Consistency) float64 {
	return float64(blocks(total, ReadUnitSize)) * c.factor()
}

// WriteUnits returns the write units of writing an item of size bytes:
// one unit per 1 KB, rounded up, at least one. PutItem and UpdateItem are
// charged on the larger of the item before and after (WriteUnits of the
// max), DeleteItem on the deleted item, a conditional write that fails on
// the larger of the existing item and the new one, and each item of
// BatchWriteItem apart.
func WriteUnits(size int) float64 { return float64(blocks(size, WriteUnitSize)) }

// TransactWriteUnits returns the write units of one action of
// TransactWriteItems: twice WriteUnits.
func TransactWriteUnits(size int) float64 { return 2 * WriteUnits(size) }

// blocks is size in units of unit, rounded up, at least 1.
func blocks(size, unit int) int {
	if size <= 0 {
		return 1
	}
	return (size + unit - 1) / unit
}
