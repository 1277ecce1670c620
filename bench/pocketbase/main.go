// Command pocketbase is PocketBase v0.39, unchanged, as its own
// documentation builds it: the baseline that bench/serve-wrk.sh sets
// beside `surge serve`. It is its own module, so surge's module does not
// carry PocketBase's dependencies.
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
)

func main() {
	app := pocketbase.New()
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
