// Command sqlite-driver compares the two pure-Go SQLite drivers that surge
// could use, modernc.org/sqlite (C translated to Go) and
// github.com/ncruces/go-sqlite3 (SQLite compiled to Wasm, translated to
// Go), on the operations the items store performs: a point read by primary
// key, a single-row insert transaction, a 100-row insert transaction and a
// 100-row range scan. Both run through database/sql, as the store does, on
// the same schema and pragmas (WAL, synchronous=NORMAL), one connection
// each, so the difference is the driver's.
//
// It lives in its own module so that the main module does not carry the
// driver that lost.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver"
	_ "modernc.org/sqlite"
)

// driver names a database/sql driver and how its DSN sets pragmas.
type driver struct {
	label string
	name  string
}

var drivers = []driver{
	{label: "modernc.org/sqlite", name: "sqlite"},
	{label: "ncruces/go-sqlite3", name: "sqlite3"},
}

// workload is one measured operation; it runs op until the deadline and
// returns how many operations it completed.
type workload struct {
	name string
	run  func(ctx context.Context, db *sql.DB, deadline time.Time) (int, error)
}

const (
	preload   = 20000 // rows in the table before reads and scans
	valueSize = 256   // bytes of payload per row, a small item
)

func main() {
	dur := flag.Duration("d", 4*time.Second, "how long each workload runs per driver")
	slices := flag.Int("slices", 20, "turns each driver takes per workload, alternating, to even out the machine's load")
	dir := flag.String("dir", "", "directory for the database files (default a temporary one)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "sqlite-driver-bench-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if err := run(*dir, *dur, *slices); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sqlite-driver:", err)
	os.Exit(1)
}

func run(dir string, dur time.Duration, slices int) error {
	ctx := context.Background()
	value := make([]byte, valueSize)
	rand.Read(value)
	val := hex.EncodeToString(value)[:valueSize]

	workloads := []workload{
		{"point read by primary key", func(ctx context.Context, db *sql.DB, deadline time.Time) (int, error) {
			st, err := db.PrepareContext(ctx, `SELECT v FROM t WHERE k = ?`)
			if err != nil {
				return 0, err
			}
			defer st.Close()
			var v []byte
			n := 0
			for ; n%64 != 0 || time.Now().Before(deadline); n++ {
				if err := st.QueryRowContext(ctx, key(mrand.IntN(preload))).Scan(&v); err != nil {
					return n, err
				}
			}
			return n, nil
		}},
		{"point read, 4 conns parallel", parallelReads(4)},
		{"single-row insert txn", insertTxn(val, 1)},
		{"100-row insert txn", insertTxn(val, 100)},
		{"100-row range scan", func(ctx context.Context, db *sql.DB, deadline time.Time) (int, error) {
			st, err := db.PrepareContext(ctx, `SELECT k, v FROM t WHERE k > ? ORDER BY k LIMIT 100`)
			if err != nil {
				return 0, err
			}
			defer st.Close()
			n := 0
			for ; n%8 != 0 || time.Now().Before(deadline); n++ {
				rows, err := st.QueryContext(ctx, key(mrand.IntN(preload-200)))
				if err != nil {
					return n, err
				}
				var k string
				var v []byte
				got := 0
				for rows.Next() {
					if err := rows.Scan(&k, &v); err != nil {
						rows.Close()
						return n, err
					}
					got++
				}
				if err := rows.Close(); err != nil {
					return n, err
				}
				if got != 100 {
					return n, fmt.Errorf("range scan returned %d rows, want 100", got)
				}
			}
			return n, nil
		}},
	}

	// Both databases are open at once and the drivers take turns in short
	// slices, alternating who goes first, so that a change in the
	// machine's load (it is shared) falls on both alike.
	dbs := make([]*sql.DB, len(drivers))
	for i, d := range drivers {
		path := filepath.Join(dir, d.name+".db")
		db, err := open(d, path)
		if err != nil {
			return fmt.Errorf("%s: %w", d.label, err)
		}
		defer db.Close()
		if err := fill(ctx, db, val); err != nil {
			return fmt.Errorf("%s: fill: %w", d.label, err)
		}
		dbs[i] = db
	}
	ops := make([][]int, len(workloads))
	took := make([][]time.Duration, len(workloads))
	slice := dur / time.Duration(slices)
	for wi, w := range workloads {
		ops[wi] = make([]int, len(drivers))
		took[wi] = make([]time.Duration, len(drivers))
		for sl := 0; sl < slices; sl++ {
			for k := range drivers {
				di := (k + sl) % len(drivers)
				ctx := context.WithValue(ctx, dsnKey{}, dsnOf(drivers[di], filepath.Join(dir, drivers[di].name+".db")))
				start := time.Now()
				n, err := w.run(ctx, dbs[di], start.Add(slice))
				if err != nil {
					return fmt.Errorf("%s: %s: %w", drivers[di].label, w.name, err)
				}
				ops[wi][di] += n
				took[wi][di] += time.Since(start)
			}
		}
	}
	rate := func(wi, di int) float64 { return float64(ops[wi][di]) / took[wi][di].Seconds() }

	fmt.Printf("%-28s %14s %14s %9s\n", "operation (ops/s)", "modernc", "ncruces", "ratio")
	for wi, w := range workloads {
		m, n := rate(wi, 0), rate(wi, 1)
		fmt.Printf("%-28s %14.0f %14.0f %8.2fx\n", w.name, m, n, n/m)
	}
	fmt.Println("ratio = ncruces / modernc (above 1: ncruces is faster)")
	return nil
}

// dsnKey carries the DSN of the database under test to workloads that
// open more connections.
type dsnKey struct{}

type dsn struct{ driver, name string }

func dsnOf(d driver, path string) dsn {
	return dsn{d.name, "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"}
}

// open opens a database with the store's pragmas on one connection.
func open(d driver, path string) (*sql.DB, error) {
	dsn := dsnOf(d, path)
	db, err := sql.Open(dsn.driver, dsn.name)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func fill(ctx context.Context, db *sql.DB, val string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	for i := 0; i < preload; i++ {
		if _, err := st.ExecContext(ctx, key(i), []byte(val)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// parallelReads returns a workload of point reads from conns goroutines,
// each on its own connection, as the store's read pool does: it shows
// how a driver's locking scales with connections.
func parallelReads(conns int) func(context.Context, *sql.DB, time.Time) (int, error) {
	return func(ctx context.Context, _ *sql.DB, deadline time.Time) (int, error) {
		d := ctx.Value(dsnKey{}).(dsn)
		db, err := sql.Open(d.driver, d.name)
		if err != nil {
			return 0, err
		}
		defer db.Close()
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		st, err := db.PrepareContext(ctx, `SELECT v FROM t WHERE k = ?`)
		if err != nil {
			return 0, err
		}
		defer st.Close()
		var total atomic.Int64
		errs := make(chan error, conns)
		for g := 0; g < conns; g++ {
			go func() {
				var v []byte
				n := 0
				for ; n%64 != 0 || time.Now().Before(deadline); n++ {
					if err := st.QueryRowContext(ctx, key(mrand.IntN(preload))).Scan(&v); err != nil {
						errs <- err
						return
					}
				}
				total.Add(int64(n))
				errs <- nil
			}()
		}
		for g := 0; g < conns; g++ {
			if err := <-errs; err != nil {
				return 0, err
			}
		}
		return int(total.Load()), nil
	}
}

// insertTxn returns a workload that commits transactions of rows inserts.
func insertTxn(val string, rows int) func(context.Context, *sql.DB, time.Time) (int, error) {
	return func(ctx context.Context, db *sql.DB, deadline time.Time) (int, error) {
		st, err := db.PrepareContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`)
		if err != nil {
			return 0, err
		}
		defer st.Close()
		n := 0
		for ; time.Now().Before(deadline); n++ {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return n, err
			}
			tst := tx.StmtContext(ctx, st)
			for i := 0; i < rows; i++ {
				if _, err := tst.ExecContext(ctx, newKey(), []byte(val)); err != nil {
					tx.Rollback()
					return n, err
				}
			}
			if err := tx.Commit(); err != nil {
				return n, err
			}
		}
		return n, nil
	}
}

func key(i int) string { return fmt.Sprintf("k%08d", i) }

// seq makes new keys: surge's ids are time-ordered (UUIDv7), so new rows
// land at the end of the key range, after the preloaded ones.
var seq atomic.Int64

func newKey() string { return fmt.Sprintf("z%019d", seq.Add(1)) }
