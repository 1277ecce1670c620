#!/usr/bin/env bash
# The article's access patterns on a growing table: scans slow down and
# cost more as the table grows, while key lookups and index queries stay
# flat (BenchmarkAccessPatterns, internal/api/itemsapi: the /ops
# dispatcher over real SQLite, charged by the table's capacity layer,
# over loopback HTTP).
#
# At each size of SIZES items (about 300 bytes each) it prints, per
# operation, the median and 90th percentile latency, the read units and
# the requests of one: a key lookup eventually and strongly consistent, an
# index query (Limit 10), one page of a filtered scan (up to 1 MB, what
# boto3's table.scan() returns), the whole scan through its pages, 10
# lookups one by one against one batch of 10, and lookups of hot items
# through the read cache (DAX). It exits 1 when, from the smallest size to
# the largest, the whole scan's median did not grow at least GROW times (10),
# or a key lookup's or an index query's grew more than FLAT times (3: a
# lookup's tenth of a millisecond doubles with the noise of a shared machine,
# and a larger B-tree is a level deeper; a whole scan grows a hundredfold).
#
#   bench/table-access.sh                          # 1,000, 10,000 and 100,000 items: about 3 minutes
#   SIZES=1000,10000,100000,200000 REPS=300 bench/table-access.sh
cd "$(dirname "$0")/.."
. bench/lib.sh

SIZES=${SIZES:-1000,10000,100000}
REPS=${REPS:-200}
GROW=${GROW:-10}
FLAT=${FLAT:-3}

out=$(SURGE_BENCH_SIZES=$SIZES SURGE_BENCH_REPS=$REPS go test -run '^$' -bench '^BenchmarkAccessPatterns$' -benchtime 1x -count 1 \
	-timeout 30m ./internal/api/itemsapi 2>&1) || {
	echo "$out" >&2
	exit 1
}
echo "$out" >"$OUT/table-access.txt"
echo "$out" | sed -n '/^access patterns/,/^end of access patterns/p'
line=$(grep '^BenchmarkAccessPatterns' <<<"$out")
metric() { awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) print $(i - 1) }' <<<"$line"; }
failed=0
check() { # check NAME VALUE OP BOUND
	if awk -v v="$2" -v b="$4" -v op="$3" 'BEGIN { exit !((op == ">=" && v >= b) || (op == "<=" && v <= b)) }'; then
		printf 'ok: %s grew %.2fx (%s %s)\n' "$1" "$2" "$3" "$4"
	else
		printf 'FAIL: %s grew %.2fx (want %s %s)\n' "$1" "$2" "$3" "$4"
		failed=1
	fi
}
check "the whole scan's median latency" "$(metric scan-full-x)" ">=" "$GROW"
check "the whole scan's read units" "$(metric scan-full-units-x)" ">=" "$GROW"
check "a key lookup's median latency" "$(metric get-x)" "<=" "$FLAT"
check "a strongly consistent lookup's median latency" "$(metric consistent-read-x)" "<=" "$FLAT"
check "an index query's median latency" "$(metric query-index-x)" "<=" "$FLAT"
printf 'read cache: hot lookups consumed %.2f of the read units of lookups without it\n' "$(metric dax-units-ratio)"
machine
exit $failed
