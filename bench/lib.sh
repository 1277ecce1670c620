# Shared by every bench script (through bench/load-lib.sh, bench/pool-lib.sh
# and bench/wrk/lib.sh): strict mode, where binaries and outputs go, stopping
# what was started, and a line about the machine. Source it from the
# repository root.

set -euo pipefail

# Tools and binaries go outside the repository by default, so nothing built
# here is ever committed.
BIN=${SURGE_BENCH_BIN:-/tmp/surge-bench-bin}
OUT=${SURGE_BENCH_OUT:-/tmp/surge-bench-out}
mkdir -p "$BIN" "$OUT"

# PIDS are stopped, and TMPDIRS removed, when the script ends.
PIDS=()
TMPDIRS=()
cleanup() {
	for pid in "${PIDS[@]:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for dir in "${TMPDIRS[@]:-}"; do
		[ -n "$dir" ] && rm -rf "$dir"
	done
	# The script's own exit status stands (under set -e, the loop's last
	# test would otherwise turn an exit 0 into 1).
	return 0
}
trap cleanup EXIT INT TERM

log() { printf '%s\n' "$*" >&2; }

# need_wrk installs wrk from Debian's packages where it is missing.
need_wrk() {
	if ! command -v wrk >/dev/null; then
		log "installing wrk"
		apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
	fi
}

# median N...: the median of the numbers given (of an even count, the mean
# of the middle two). Scripts that alternate rounds report these.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

machine() {
	echo "machine: $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg); $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%dT%H:%MZ)"
}
