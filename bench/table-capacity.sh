#!/usr/bin/env bash
# A provisioned DynamoDB table throttling at its limit, then recovering
# through auto scaling, locally, two ways (VIA=serve, VIA=front, or both,
# the default):
#
#   serve  BenchmarkServeTableCapacity (internal/server): surge serve (the
#          Server `surge serve` runs, on SQLite) with a table of WCU write
#          capacity units and target tracking at 70% between WCU and
#          10 x WCU (--table-billing provisioned --table-wcu WCU
#          --table-target-utilization 0.7), offered OFFER x WCU writes a
#          second as POST /items of 1 WCU each, over loopback HTTP, with the
#          store's retries off (--table-retries 1) so that every refusal
#          comes back as 503 X-Limit-Source table.write;
#   front  BenchmarkTableCapacity (internal/local/table): the same table
#          behind the table front (table.Front) on dynalite, offered the
#          writes through the AWS SDK for Go with retries off, so that every
#          ProvisionedThroughputExceededException is seen.
#
# Time runs COMPRESSION times faster than the wall clock (a table minute in
# 60/COMPRESSION seconds), for MINUTES table minutes.
#
# Each prints, per table minute, the writes offered, passed and throttled,
# the rate passed and the capacity at the minute's end; every change of
# capacity and why; the write rate the table let through while it
# throttled, against its provisioned WCU (the baseline of this run: goal
# within 5%); and the minute from which nothing was throttled. It exits 1
# when a rate is off by more than 5% or a table did not recover.
#
# The rate is counted where the writes complete, on the table's clock: on
# a loaded machine a high COMPRESSION stretches completions across minutes
# (COMPRESSION 30 with the machine's other work gave -8%; 10 gives 0.0%).
#
#   bench/table-capacity.sh                          # 10 WCU (the article's), x10, 7 minutes: 42 s each
#   VIA=serve WCU=20 COMPRESSION=5 MINUTES=9 bench/table-capacity.sh
cd "$(dirname "$0")/.."
. bench/lib.sh

WCU=${WCU:-10}
COMPRESSION=${COMPRESSION:-10}
MINUTES=${MINUTES:-7}
OFFER=${OFFER:-2}
VIA=${VIA:-both}

# run NAME BENCHMARK PACKAGE: runs one benchmark and checks its figures.
failed=0
run() {
	local name=$1 bench=$2 pkg=$3 out line off recovery
	out=$(SURGE_REQUIRE_DYNALITE=1 SURGE_BENCH_WCU=$WCU SURGE_BENCH_COMPRESSION=$COMPRESSION SURGE_BENCH_MINUTES=$MINUTES \
		SURGE_BENCH_OFFER=$OFFER go test -run '^$' -bench "^$bench\$" -benchtime 1x -count 1 -timeout 30m "$pkg" 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	echo "$out" | sed -n '/^\(surge serve: \)\{0,1\}provisioned /,/^late /p'
	echo "$out" >"$OUT/table-capacity-$name.txt"
	line=$(grep "^$bench" <<<"$out")
	metric() { awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) print $(i - 1) }' <<<"$line"; }
	off=$(awk -v v="$(metric pct-off-wcu)" 'BEGIN { printf "%+.1f", v }')
	recovery=$(awk -v v="$(metric recovery-min)" 'BEGIN { printf "%d", v }')
	if awk -v o="$off" -v r="$recovery" 'BEGIN { exit !((o < -5 || o > 5) || r < 0) }'; then
		echo "FAIL ($name): the rate while throttling is ${off}% off the provisioned WCU, or the table did not recover (minute $recovery)"
		failed=1
	else
		echo "ok ($name): ${off}% off the provisioned $WCU WCU while throttling; recovered from table minute $recovery"
	fi
	echo
}

case $VIA in
serve | both) run serve BenchmarkServeTableCapacity ./internal/server ;;
esac
case $VIA in
front | both) run front BenchmarkTableCapacity ./internal/local/table ;;
esac
machine
exit $failed
