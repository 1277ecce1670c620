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

# print_profile NAME CPU ALLOCS REQUESTS WHAT: what one of REQUESTS costs by
# a CPU profile and an allocation profile taken while they were served
# (CPU time, bytes and objects allocated: each profile's total over
# REQUESTS), then the top PROFILE_TOP entries of each (go tool pprof -top,
# and -top -cum for the CPU). WHAT says how the profiles were taken.
PROFILE_TOP=${PROFILE_TOP:-15}
print_profile() {
	local name=$1 cpu=$2 allocs=$3 requests=$4 what=$5
	# total FILE ARGS...: the profile's total ("... of X total"), in the
	# unit that ARGS ask for.
	total() { local f=$1; shift; go tool pprof -top "$@" "$f" 2>/dev/null | sed -n 's/.* of \([0-9.]*\)[a-zA-Z]* total.*/\1/p' | head -1; }
	local cpu_us bytes objects
	cpu_us=$(total "$cpu" -unit=us) bytes=$(total "$allocs" -sample_index=alloc_space -unit=B) objects=$(total "$allocs" -sample_index=alloc_objects)
	printf '\nprofile of %s: %s (%s requests); per request: %.1f us of CPU, %.0f bytes in %.1f objects allocated\n' \
		"$name" "$what" "$requests" \
		"$(awk -v t="$cpu_us" -v n="$requests" 'BEGIN {print t / n}')" \
		"$(awk -v t="$bytes" -v n="$requests" 'BEGIN {print t / n}')" \
		"$(awk -v t="$objects" -v n="$requests" 'BEGIN {print t / n}')"
	echo "go tool pprof -top $cpu"
	go tool pprof -top "$cpu" 2>/dev/null | sed -n "/flat%/,+${PROFILE_TOP}p"
	echo "go tool pprof -top -cum $cpu"
	go tool pprof -top -cum "$cpu" 2>/dev/null | sed -n "/flat%/,+${PROFILE_TOP}p"
	echo "go tool pprof -top -sample_index=alloc_space $allocs"
	go tool pprof -top -sample_index=alloc_space "$allocs" 2>/dev/null | sed -n "/flat%/,+${PROFILE_TOP}p"
}
