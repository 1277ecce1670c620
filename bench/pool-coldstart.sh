#!/usr/bin/env bash
# Cold start of a local function instance, process start to first answer
# (BenchmarkColdStart, internal/local/lambda): each is a request (a REST API
# event for GET /healthz) that finds no instance, timed from the invocation
# to the answer: the process start, the Go runtime's and the function's
# init, the Runtime API's first exchange and the invocation. Between runs
# the instance is reclaimed.
#
# Five programs side by side, in ROUNDS rounds that alternate them (RUNS
# cold starts each per round; the figures are the medians of the rounds'):
#   hello          bench/hello-lambda: aws-lambda-go answering a fixed
#                  body, the floor of a Go function
#   hello-dynamodb bench/hello-dynamodb: the same with a DynamoDB client
#                  made at init (the AWS SDK's configuration and client),
#                  the floor of a Go function on DynamoDB
#   bootstrap      the Lambda build of surge's function (cmd/bootstrap)
#   surge function `surge function`, the same function in the surge binary
#   surge-function cmd/surge-function, the same function as a program of its
#                  own (what surge serve --functions runs when it is
#                  installed beside surge)
# all five built as deploy/aws/build.sh builds the bootstrap (static,
# stripped, lambda.norpc; see build_functions). It prints, in ms:
#   first-p50/p99  request to answer of a cold start
#   init-p50       process start to the runtime's first /next (Lambda's
#                  Init Duration)
# and the ratios: hello-dynamodb and the bootstrap over hello, each of
# surge function and surge-function over the bootstrap, and the bootstrap
# over hello-dynamodb. Goals: each within 1.2x; first-p50 under 30 ms here
# (AWS, published: Go about 459 ms p50, Python 700 to 1,200 ms). MEMORIES
# adds rounds with cgroup limits of those sizes.
#
#   bench/pool-coldstart.sh                   # 3 rounds of 50 cold starts
#   ROUNDS=5 RUNS=100 MEMORIES="512 1769" bench/pool-coldstart.sh
cd "$(dirname "$0")/.."
. bench/pool-lib.sh

RUNS=${RUNS:-50}
ROUNDS=${ROUNDS:-3}
MEMORIES=${MEMORIES:-}
build_functions
lambda_build "$BIN/hello-lambda" ./bench/hello-lambda
lambda_build "$BIN/hello-dynamodb" ./bench/hello-dynamodb
go test -c -o "$BIN/lambda.test" ./internal/local/lambda

run() { # PROGRAM [MEMORY]: prints first-p50 first-p99 init-p50
	local out
	out=$(SURGE_BENCH_FUNCTION="$1" SURGE_BENCH_MEMORY="${2:-}" \
		"$BIN/lambda.test" -test.run '^$' -test.bench '^BenchmarkColdStart$' -test.benchtime "${RUNS}x" 2>&1) || {
		echo "$out" >&2
		return 1
	}
	awk '/^BenchmarkColdStart/ { for (i = 2; i <= NF; i++) v[$i] = $(i - 1); print v["first-p50-ms"], v["first-p99-ms"], v["init-p50-ms"] }' <<<"$out"
}

progs=("hello:$BIN/hello-lambda" "hello-dynamodb:$BIN/hello-dynamodb" "bootstrap:$BIN/bootstrap" "surge function:$BIN/surge function" "surge-function:$BIN/surge-function")
for mem in none $MEMORIES; do
	declare -A p50 p99 init
	p50=() p99=() init=()
	for ((round = 1; round <= ROUNDS; round++)); do
		for prog in "${progs[@]}"; do
			name=${prog%%:*}
			m=$mem
			[ "$m" = none ] && m=
			read -r a b c < <(run "${prog#*:}" $m)
			p50[$name]+="$a " p99[$name]+="$b " init[$name]+="$c "
			log "round $round, memory $mem: $name first-p50 $a ms, init-p50 $c ms"
		done
	done
	printf '\ncold start, memory %s, medians of %s rounds of %s runs (ms)\n' "$mem" "$ROUNDS" "$RUNS"
	printf '%-16s %10s %10s %10s %10s\n' function first-p50 first-p99 init-p50 ratio
	base=
	for prog in "${progs[@]}"; do
		name=${prog%%:*}
		a=$(median ${p50[$name]}) b=$(median ${p99[$name]}) c=$(median ${init[$name]})
		ratio=-
		[ -n "$base" ] && ratio=$(awk -v x="$a" -v y="$base" 'BEGIN {printf "%.2f", x / y}')
		printf '%-16s %10s %10s %10s %10s\n' "$name" "$a" "$b" "$c" "$ratio"
		# hello is the floor of hello-dynamodb and the bootstrap (and
		# hello-dynamodb/hello is what the AWS SDK's initialisers cost);
		# the bootstrap, the floor of the other two.
		[ "$name" = hello ] || [ "$name" = bootstrap ] && base=$a
		[ "$name" = hello-dynamodb ] && sdk=$a
		[ "$name" = bootstrap ] && boot=$a
	done
	awk -v b="$boot" -v s="$sdk" 'BEGIN { printf "the bootstrap over hello-dynamodb (the floor of a Go function on DynamoDB): %.2f\n", b / s }'
done
echo "(ratio: first-p50 of hello-dynamodb and the bootstrap over hello's, of the others over the bootstrap's; goal <= 1.20 for each)"
ls -l "$BIN/hello-lambda" "$BIN/hello-dynamodb" "$BIN/bootstrap" "$BIN/surge" "$BIN/surge-function" | awk '{ printf "%s: %.1f MB\n", $NF, $5 / 1048576 }'
machine
