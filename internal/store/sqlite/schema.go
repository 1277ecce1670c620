package sqlite

import (
	"fmt"

	"github.com/ncruces/go-sqlite3"
)

// migrations bring the schema from version i (PRAGMA user_version) to
// i+1. They only ever grow: a released migration is never changed.
//
// Version 1:
//
// items holds one row per item, keyed by (tenant, id). It is a WITHOUT
// ROWID table: the primary key is the table's own b-tree, so a read by
// key and a listing in id order are one b-tree search and a walk of
// adjacent leaves, with no second index to keep. SQLite advises WITHOUT
// ROWID for rows under about 1/20 of a page; larger items work, their
// attributes spilling to overflow pages, which the columns before attrs
// in each row let a listing skip until it needs them. Timestamps are Unix
// milliseconds; attrs is the canonical JSON text; size is the item's
// encoded size, so that a listing can stop at MaxPageBytes without
// encoding the items it will not return.
//
// idempotency holds, per (tenant, key), the request hash and the item as
// first created, until expires_at (Unix ms); the index lets the writer
// find expired records without a scan.
//
// Version 2:
//
// The secondary index (items.IndexAttr, items.IndexName on DynamoDB):
// iname is a virtual generated column, the item's top-level "name" when it
// is a string (NULL otherwise), and items_name indexes (tenant, iname, id)
// for the items that have one, as DynamoDB's sparse global secondary index
// holds only the items with its key. A query by name is a search of that
// index and a walk of its entries in id order; SQLite keeps the index
// itself on every write, from the attrs it writes.
var migrations = []string{
	`CREATE TABLE items (
		tenant     TEXT    NOT NULL,
		id         TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		rev        TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		size       INTEGER NOT NULL,
		attrs      TEXT    NOT NULL,
		PRIMARY KEY (tenant, id)
	) WITHOUT ROWID;
	CREATE TABLE idempotency (
		tenant     TEXT    NOT NULL,
		key        TEXT    NOT NULL,
		hash       TEXT    NOT NULL,
		expires_at INTEGER NOT NULL,
		id         TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		rev        TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		attrs      TEXT    NOT NULL,
		PRIMARY KEY (tenant, key)
	) WITHOUT ROWID;
	CREATE INDEX idempotency_expiry ON idempotency (expires_at);`,
	`ALTER TABLE items ADD COLUMN iname TEXT GENERATED ALWAYS AS
		(CASE WHEN json_type(attrs, '$.name') = 'text' THEN json_extract(attrs, '$.name') END) VIRTUAL;
	CREATE INDEX items_name ON items (tenant, iname, id) WHERE iname IS NOT NULL;`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// migrate brings the database's schema up to date in one write
// transaction, so that two processes opening a new file at once do not
// both create it. A database from a newer build is refused rather than
// misread.
func migrate(conn *sqlite3.Conn) (err error) {
	if err := conn.Exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			conn.Exec("ROLLBACK")
		}
	}()
	v, err := userVersion(conn)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("migrate: the database has schema version %d, newer than this build's %d", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if err := conn.Exec(migrations[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
		if err := conn.Exec(fmt.Sprintf("PRAGMA user_version=%d", v+1)); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if err := conn.Exec("COMMIT"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// schemaCurrent reports whether the file conn reads is in WAL mode with
// this build's schema, so that nothing needs to be written to open it.
func schemaCurrent(conn *sqlite3.Conn) (bool, error) {
	stmt, _, err := conn.Prepare("PRAGMA journal_mode")
	if err != nil {
		return false, err
	}
	mode := ""
	if stmt.Step() {
		mode = stmt.ColumnText(0)
	}
	err = stmt.Err()
	stmt.Close()
	if err != nil || mode != "wal" {
		return false, err
	}
	v, err := userVersion(conn)
	return err == nil && v == len(migrations), err
}

func userVersion(conn *sqlite3.Conn) (int, error) {
	stmt, _, err := conn.Prepare("PRAGMA user_version")
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	defer stmt.Close()
	v := 0
	if stmt.Step() {
		v = stmt.ColumnInt(0)
	}
	if err := stmt.Err(); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
