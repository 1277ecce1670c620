#!/usr/bin/env bash
# Cold starts per runtime in surge's local Lambda: process start to first
# answer, p50 and p99 over RUNS cold starts each, at each memory size of
# MEMORIES (the pool gives an instance memory/1,769 of a vCPU through
# cgroups, as Lambda does), with BenchmarkColdStartByMemory
# (internal/local/lambda/runtimes). Each cold start is a new process whose
# first invocation is GET /items/{id} reading DynamoDB (dynalite):
#
#   go              cmd/bootstrap built for this machine (deploy/aws/build.sh
#                   --host-only: dist/host/bootstrap), provided.al2023
#   python-crud     examples/python-crud with boto3, python3.12
#   node-crud       examples/node-crud with the AWS SDK v3, nodejs22.x
#   python-runtime  the baseline of the same run: the runtime alone (a
#   node-runtime    function of the standard library only), as lambda-perf's
#                   hello-world functions measure it on AWS
#
# It prints, in ms:
#   cold-p50/p99   invocation to answer of a cold start (the process start,
#                  the runtime's and the function's init, the first answer)
#   init-p50/p99   process start to the runtime's first /next (Lambda's
#                  Init Duration)
#
# INIT_CPU (vCPUs) lets each init run on that much CPU before the instance
# is held to its memory's share (--function-init-cpu), as AWS's published
# cold starts, about the same at 128 and 1,024 MB, suggest it does.
#
#   bench/runtimes-coldstart.sh                    # 20 cold starts each, at 128 and 1024 MB
#   RUNS=50 MEMORIES="128 512 1024 1769" bench/runtimes-coldstart.sh
#   INIT_CPU=1 MEMORIES=128 bench/runtimes-coldstart.sh
cd "$(dirname "$0")/.."
. bench/lib.sh

RUNS=${RUNS:-20}
MEMORIES=${MEMORIES:-"128 1024"}
INIT_CPU=${INIT_CPU:-}

log "building dist/host/bootstrap"
deploy/aws/build.sh --host-only >&2

printf '\ncold starts, %s each (ms; p99 of %s is its worst but one or the worst)%s\n' "$RUNS" "$RUNS" \
	"${INIT_CPU:+; init on $INIT_CPU vCPU}"
printf '%-16s %7s %10s %10s %10s %10s\n' function memory cold-p50 cold-p99 init-p50 init-p99
for m in $MEMORIES; do
	out=$(SURGE_BENCH_MEMORY="$m" SURGE_BENCH_BOOTSTRAP="$PWD/dist/host" SURGE_BENCH_INIT_CPU="$INIT_CPU" \
		go test -run '^$' -bench '^BenchmarkColdStartByMemory$' -benchtime "${RUNS}x" -count 1 -timeout 60m \
		./internal/local/lambda/runtimes 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	grep -E '^\s+bench_test.go:[0-9]+: ' <<<"$out" | sort -u | sed 's/^ */  /' >&2
	while read -r line; do
		name=$(awk '{ print $1 }' <<<"$line" | sed -E 's|^BenchmarkColdStartByMemory/||; s|-[0-9]+$||')
		metric() { awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) print $(i - 1) }' <<<"$line"; }
		printf '%-16s %7s %10s %10s %10s %10s\n' "$name" "${m} MB" "$(metric cold-ms-p50)" "$(metric cold-ms-p99)" \
			"$(metric init-ms-p50)" "$(metric init-ms-p99)"
	done < <(grep '^BenchmarkColdStartByMemory/' <<<"$out")
done
echo
machine
