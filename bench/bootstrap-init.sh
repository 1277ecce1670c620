#!/usr/bin/env bash
# The Lambda function's size and cold start, measured on this machine:
#
#   1. deploy/aws/build.sh builds bootstrap for Lambda (linux/arm64, as
#      deployed) and for this machine, and prints their sizes and the zip's;
#   2. BenchmarkColdStart (cmd/bootstrap) runs the host build under the AWS
#      Lambda Runtime Interface Emulator RUNS times, each a fresh process
#      with an environment like Lambda's, and prints the medians of:
#        first-ms  process start to the first answered invocation (sent to
#                  answered: exec, Go runtime and package init, the
#                  function's init, and one GET /healthz REST API event)
#        init-ms   the emulator's INIT REPORT, what Lambda bills as Init
#                  Duration (process start to the runtime's first /next)
#        warm-ms   a second invocation on the same process
#
# The emulator comes from scripts/setup (.tools/bin/aws-lambda-rie) or
# $SURGE_RIE. The figures are this machine's, not AWS's: a Lambda arm64
# instance at 512 MB has about a third of a vCPU. On a busy machine they
# are noisy; take them in a quiet period.
#
# Usage: bench/bootstrap-init.sh [RUNS]     (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-15}
case "$runs" in
'' | *[!0-9]*)
	echo "usage: $0 [RUNS]" >&2
	exit 2
	;;
esac

if [ -z "${SURGE_RIE:-}" ] && [ ! -x .tools/bin/aws-lambda-rie ]; then
	scripts/setup
fi

echo "== size (deploy/aws/build.sh)"
deploy/aws/build.sh

echo
echo "== cold start under the Runtime Interface Emulator, median of $runs runs"
out=$(SURGE_REQUIRE_RIE=1 SURGE_BOOTSTRAP="$PWD/dist/host/bootstrap" \
	go test -run '^$' -bench '^BenchmarkColdStart$' -benchtime "${runs}x" -count 1 ./cmd/bootstrap)
line=$(grep '^BenchmarkColdStart' <<<"$out") || {
	echo "$out"
	exit 1
}
metric() { awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) print $(i - 1) }' <<<"$line"; }
printf "first answer  %8s ms  (process start to first answered invocation)\n" "$(metric first-ms)"
printf "init          %8s ms  (emulator's INIT REPORT: Lambda's Init Duration)\n" "$(metric init-ms)"
printf "warm answer   %8s ms  (second invocation)\n" "$(metric warm-ms)"
echo
echo "machine: $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'); $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%dT%H:%MZ)"
