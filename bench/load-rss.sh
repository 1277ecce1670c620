#!/usr/bin/env bash
# bench/load-rss.sh: memory over run length. surge load's peak RSS for a
# short run and for a million requests: under 100 MB, and flat (the long
# run's peak close to the short one's), since histograms, the id pool and
# the per-second series are bounded. A generous grace lets a busy machine
# send every request late rather than drop the backlog.
#
#   bench/load-rss.sh
#   RATE=25000 REQUESTS=1000000 bench/load-rss.sh
cd "$(dirname "$0")/.."
. bench/load-lib.sh

RATE=${RATE:-20000}
REQUESTS=${REQUESTS:-1000000}
SHORT=$((REQUESTS / 10))
ADDR=${MINIMAL_ADDR:-127.0.0.1:18089}

build_surge
start minimal -addr "$ADDR"
wait_http "http://$ADDR/"

run() {
	log "surge load: $1 requests at $RATE/s"
	"$BIN/surge" load --rate "$RATE" --requests "$1" --grace 120s --mix list=1 --items-path / --list-query '' \
		--preseed 0 --progress none --out "$OUT/rss-$1.json" "http://$ADDR" >"$OUT/rss-$1.txt"
	jqr "$OUT/rss-$1.json" '"\(.client.maxRSSBytes) \(.sent)"'
}
read -r short_rss short_sent < <(run "$SHORT")
read -r long_rss long_sent < <(run "$REQUESTS")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
verdict=FAIL
if awk -v l="$long_rss" -v s="$short_rss" 'BEGIN { exit !(l < 100 * 1048576 && l <= 1.25 * s) }'; then verdict=PASS; fi
printf '\npeak RSS of surge load at %s/s\n' "$RATE"
printf '  %9s requests  %6s MB\n' "$short_sent" "$(mb "$short_rss")" "$long_sent" "$(mb "$long_rss")"
printf '  long/short %s (goal: flat), long under 100 MB: %s\n' "$(ratio "$long_rss" "$short_rss")" "$verdict"
