package table

import (
	"encoding/json"
	"net/http"
	"slices"
)

// need is units of one kind of one table: a request's estimate before it
// runs, or its charge after.
type need struct {
	table string
	kind  Kind
	units float64
}

// plan is what the front knows of a charged request: its operation, its
// estimate by table, and its parsed fields for the charge after.
type plan struct {
	op       string
	kind     Kind
	c        Consistency
	needs    []need
	injected bool // the front asked for ReturnConsumedCapacity

	get        *getRequest
	write      *writeRequest
	query      *queryRequest
	batchGet   *batchGetRequest
	batchWrite *batchWriteRequest
	tget       *transactGetRequest
	twrite     *transactWriteRequest

	// before are the sizes of the items the request's writes replace, in
	// the order of writes(), read from the engine first when the front
	// computes its charges.
	before []int
}

func consistency(strong bool) Consistency {
	if strong {
		return Strong
	}
	return Eventual
}

// newPlan parses a request of op and estimates it; nil for an operation
// that is not charged, or a request the engine will refuse as malformed.
func newPlan(op string, body []byte) *plan {
	p := &plan{op: op, kind: Write}
	decode := func(v any) bool { return json.Unmarshal(body, v) == nil }
	switch op {
	case "GetItem":
		p.get, p.kind = &getRequest{}, Read
		if !decode(p.get) || p.get.TableName == "" {
			return nil
		}
		p.c = consistency(p.get.ConsistentRead)
		p.add(p.get.TableName, ReadUnits(0, p.c))
	case "PutItem", "UpdateItem", "DeleteItem":
		p.write = &writeRequest{}
		if !decode(p.write) || p.write.TableName == "" {
			return nil
		}
		p.add(p.write.TableName, WriteUnits(p.write.Item.size()))
	case "Query", "Scan":
		p.query, p.kind = &queryRequest{}, Read
		if !decode(p.query) || p.query.TableName == "" {
			return nil
		}
		p.c = consistency(p.query.ConsistentRead)
		p.add(p.query.TableName, QueryUnits(0, p.c))
	case "BatchGetItem":
		p.batchGet, p.kind = &batchGetRequest{}, Read
		if !decode(p.batchGet) {
			return nil
		}
		for _, table := range sortedKeys(p.batchGet.RequestItems) {
			r := p.batchGet.RequestItems[table]
			p.add(table, float64(len(r.Keys))*ReadUnits(0, consistency(r.ConsistentRead)))
		}
	case "BatchWriteItem":
		p.batchWrite = &batchWriteRequest{}
		if !decode(p.batchWrite) {
			return nil
		}
		for _, w := range p.writes() {
			p.add(w.table, WriteUnits(w.item.size()))
		}
	case "TransactGetItems":
		p.tget, p.kind = &transactGetRequest{}, Read
		if !decode(p.tget) {
			return nil
		}
		for _, g := range p.tget.TransactItems {
			p.add(g.Get.TableName, ReadUnits(0, Transactional))
		}
	case "TransactWriteItems":
		p.twrite = &transactWriteRequest{}
		if !decode(p.twrite) {
			return nil
		}
		for _, w := range p.writes() {
			p.add(w.table, TransactWriteUnits(w.item.size()))
		}
	default:
		return nil
	}
	if len(p.needs) == 0 {
		return nil
	}
	return p
}

// add adds units to the estimate of table (none for a table of no
// items, which the engine refuses).
func (p *plan) add(table string, units float64) {
	if units <= 0 {
		return
	}
	for i := range p.needs {
		if p.needs[i].table == table {
			p.needs[i].units += units
			return
		}
	}
	p.needs = append(p.needs, need{table: table, kind: p.kind, units: units})
}

// write is one item write of a request: its table, its key or item, and
// what it does.
type write struct {
	table string
	key   item // nil for a put, whose key is in its item
	item  item // nil but for a put
	what  string
}

// writes lists a write request's item writes in a fixed order.
func (p *plan) writes() []write {
	var ws []write
	switch {
	case p.write != nil:
		ws = append(ws, write{table: p.write.TableName, key: p.write.Key, item: p.write.Item, what: p.op})
	case p.batchWrite != nil:
		for _, table := range sortedKeys(p.batchWrite.RequestItems) {
			for _, r := range p.batchWrite.RequestItems[table] {
				switch {
				case r.PutRequest != nil:
					ws = append(ws, write{table: table, item: r.PutRequest.Item, what: "Put"})
				case r.DeleteRequest != nil:
					ws = append(ws, write{table: table, key: r.DeleteRequest.Key, what: "Delete"})
				}
			}
		}
	case p.twrite != nil:
		for _, a := range p.twrite.TransactItems {
			switch {
			case a.Put != nil:
				ws = append(ws, write{table: a.Put.TableName, item: a.Put.Item, what: "Put"})
			case a.Update != nil:
				ws = append(ws, write{table: a.Update.TableName, key: a.Update.Key, what: "Update"})
			case a.Delete != nil:
				ws = append(ws, write{table: a.Delete.TableName, key: a.Delete.Key, what: "Delete"})
			case a.ConditionCheck != nil:
				ws = append(ws, write{table: a.ConditionCheck.TableName, key: a.ConditionCheck.Key, what: "ConditionCheck"})
			}
		}
	}
	return ws
}

// key returns the key a write targets.
func (f *Front) key(r *http.Request, w write) item {
	if w.key != nil {
		return w.key
	}
	return f.keyOf(r, w.table, w.item)
}

// readBefore reads the size of every item the request's writes replace.
func (f *Front) readBefore(r *http.Request, p *plan) {
	for _, w := range p.writes() {
		p.before = append(p.before, f.readItem(r, w.table, f.key(r, w)))
	}
}

// settle returns what a request that ran consumed, by table: the engine's
// count where it gave one, else the front's own.
func (f *Front) settle(r *http.Request, p *plan, status int, answer []byte) []need {
	if status == http.StatusOK {
		if !f.compute {
			if cs, ok := parseConsumed(answer); ok {
				out := make([]need, 0, len(cs))
				for _, c := range cs {
					table := c.TableName
					if table == "" {
						table = p.needs[0].table
					}
					out = append(out, need{table: table, kind: p.kind, units: c.CapacityUnits})
				}
				return out
			}
		}
		return f.computed(r, p, answer)
	}
	switch errorType(answer) {
	case "ConditionalCheckFailedException":
		// DynamoDB charges a failed conditional write on the larger of
		// the existing item and the new one, at least one unit.
		if p.write == nil {
			return nil
		}
		w := p.writes()[0]
		old := 0
		if len(p.before) > 0 {
			old = p.before[0]
		} else {
			old = f.readItem(r, w.table, f.key(r, w))
		}
		return []need{{table: w.table, kind: Write, units: WriteUnits(max(old, w.item.size()))}}
	case "TransactionCanceledException":
		return p.needs // its estimate
	}
	return nil
}

// computed counts what a request that ran consumed from its items.
func (f *Front) computed(r *http.Request, p *plan, answer []byte) []need {
	out := &plan{kind: p.kind}
	switch {
	case p.get != nil:
		var ans struct{ Item item }
		json.Unmarshal(answer, &ans)
		size := ans.Item.size()
		if ans.Item != nil && (p.get.ProjectionExpression != "" || len(p.get.AttributesToGet) > 0) {
			size = f.readItem(r, p.get.TableName, p.get.Key) // charged on the whole item
		}
		out.add(p.get.TableName, ReadUnits(size, p.c))
	case p.query != nil:
		var ans struct{ Items []item }
		json.Unmarshal(answer, &ans)
		total := 0
		for _, it := range ans.Items {
			total += it.size()
		}
		out.add(p.query.TableName, QueryUnits(total, p.c))
	case p.batchGet != nil:
		var ans struct {
			Responses       map[string][]item
			UnprocessedKeys map[string]struct{ Keys []item }
		}
		json.Unmarshal(answer, &ans)
		for _, table := range sortedKeys(p.batchGet.RequestItems) {
			c := consistency(p.batchGet.RequestItems[table].ConsistentRead)
			units := 0.0
			for _, it := range ans.Responses[table] {
				units += ReadUnits(it.size(), c)
			}
			missing := len(p.batchGet.RequestItems[table].Keys) - len(ans.Responses[table]) - len(ans.UnprocessedKeys[table].Keys)
			units += float64(max(missing, 0)) * ReadUnits(0, c)
			out.add(table, units)
		}
	case p.tget != nil:
		var ans struct{ Responses []struct{ Item item } }
		json.Unmarshal(answer, &ans)
		for i, g := range p.tget.TransactItems {
			size := 0
			if i < len(ans.Responses) {
				size = ans.Responses[i].Item.size()
			}
			out.add(g.Get.TableName, ReadUnits(size, Transactional))
		}
	default:
		var ans struct{ Attributes item }
		json.Unmarshal(answer, &ans)
		for i, w := range p.writes() {
			old := 0
			switch {
			case i < len(p.before):
				old = p.before[i]
			case p.write != nil && w.what != "UpdateItem":
				old = ans.Attributes.size() // ReturnValues ALL_OLD, if asked
			}
			size := max(old, w.item.size())
			if w.what == "UpdateItem" || w.what == "Update" {
				size = max(size, f.readItem(r, w.table, w.key)) // the item the update left
			}
			units := WriteUnits(size)
			if p.twrite != nil {
				units *= 2
			}
			out.add(w.table, units)
		}
	}
	return out.needs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
