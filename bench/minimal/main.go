// Command minimal is the smallest useful HTTP target for comparing load
// generators: net/http answering every request with the same 100 bytes.
// The load benches start it; it serves until killed.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "listen address")
	flag.Parse()
	body := []byte(strings.Repeat("x", 99) + "\n")
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", length)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})
	log.Printf("minimal: serving 100 bytes on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}
