// Package table is the capacity of surge's local DynamoDB table: capacity
// units counted as DynamoDB counts them, on-demand and provisioned modes,
// provisioned read and write buckets with burst capacity, throttling, and
// auto scaling; in process for the stores that do not speak the DynamoDB
// API (Table), and as a front for the DynamoDB API (Front) that any
// DynamoDB client, in any runtime, reaches the engine through.
//
// # Units
//
// An item's size is DynamoDB's (ItemSize: the names' and values' bytes,
// numbers by their base-100 digits, containers 3 bytes plus one per
// element). A read unit is one strongly consistent read of up to 4 KB, an
// eventually consistent read costs half, a transactional read double
// (ReadUnits); a write unit is one write of up to 1 KB, a transactional
// write double (WriteUnits, TransactWriteUnits). PutItem and UpdateItem
// are charged on the larger of the item before and after, DeleteItem on
// the deleted item, and a conditional write that fails on the larger of
// the existing item and the new one; an item that does not exist costs
// one unit. Query and Scan are charged on the total size of the items
// they read before any filter, rounded up to 4 KB once (QueryUnits);
// BatchGetItem and BatchWriteItem as the sum of their items, each rounded
// apart.
//
// # Modes and throttling
//
// An on-demand table is charged request units and throttled only over
// its per-table quota (40,000 units a second of each kind). A provisioned
// table has a bucket of read and one of write units, filled at its
// provisioned units a second and keeping up to 300 seconds of unused
// capacity (DynamoDB's burst capacity); a new table's buckets hold one
// second's worth. A request is admitted when its bucket holds its
// estimate (a write's units from its item; a read's minimum, its size
// being unknown until it has run), and charged what it consumed once it
// has run, which may overdraw the bucket; a request that is not admitted
// is throttled, as DynamoDB answers ProvisionedThroughputExceededException,
// and charged nothing. Not modelled: partitions (a partition's 3,000 RCU
// and 1,000 WCU), adaptive capacity, on-demand's previous-peak rule, and
// the minutes an UpdateTable takes on AWS (a change of capacity here
// takes effect at once).
//
// # Auto scaling
//
// A provisioned table's read and write capacity each scale through
// internal/local/autoscaling with DynamoDB's alarms: target tracking on
// consumed over provisioned capacity per one-minute period (the article's
// 70%) scales out after 2 periods over the target and in after 15 periods
// 20 points under it, between a minimum and a maximum, with scheduled
// actions and DynamoDB's limit on decreases a day; a minute without
// consumption has no datapoint, so an idle table is not scaled in. Every
// change is logged and reported to the Observer.
//
// # Time
//
// Time is injected (Config.Now), and may be compressed for the lab
// (Config.Compression): at a factor of 60 a table lives a minute a
// second, so its buckets refill 60 times faster in wall time, its
// one-minute periods last a second and its schedules and daily limits run
// on that clock. The simulated policy timing is then 2 table minutes to
// scale out (2 wall seconds at 60), where AWS's is those 2 minutes plus
// the alarm's delay (up to a few minutes) and the UpdateTable's.
//
// # The front
//
// Front passes the DynamoDB API to an engine (dynalite in the tests) and
// charges every data operation (GetItem, PutItem, UpdateItem, DeleteItem,
// Query, Scan, BatchGetItem, BatchWriteItem, TransactGetItems,
// TransactWriteItems) to its table, asking the engine for the consumed
// capacity (CountEngine) or computing it (CountComputed). CreateTable and
// UpdateTable set a table's mode and capacity. A batch over capacity is
// throttled whole (DynamoDB would return the items it could not process
// in UnprocessedItems, and throttle only when it processed none), and
// PartiQL statements pass uncharged.
//
// Where dynalite's count differs from DynamoDB's, the package follows
// DynamoDB: a Query or Scan that reads nothing costs dynalite nothing and
// DynamoDB one unit (half eventually consistent); dynalite drops Scan's
// ConsistentRead and charges every Scan as eventually consistent; it
// counts a string's UTF-16 code units where DynamoDB counts UTF-8 bytes.
// Asking the engine, the front charges what the engine counts.
//
// # In process
//
// A store that does not speak the DynamoDB API charges the table itself:
// Admit with the request's estimate before it runs and Settle with what
// it consumed after (ChargeRead, ChargeWrite and ChargeQuery for a cost
// known from sizes), and Retryer retries what is throttled as the AWS
// SDK's standard retryer does. NewStore is that, as a layer around any
// items.Store (surge serve puts it below the read cache): every operation
// admitted, retried while throttled, refused with EUNAVAILABLE naming the
// table's read or write capacity (X-Limit-Source table.read,
// table.write), and charged from the sizes of the items it read and
// wrote as DynamoDB counts them (dynamo.StoredSize: the item as the
// DynamoDB store keeps it), or the units the store below counted (the
// DynamoDB store's ConsumedCapacity). Its units go to the items.Usage of
// each operation's context, and to a StoreObserver by operation; a test
// runs the same operations over SQLite, memory and dynalite and finds the
// same units.
package table
