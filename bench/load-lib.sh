# Shared by the bench/load-*.sh scripts: builds surge and the bench targets
# and installs the tools they compare against, beside bench/lib.sh's common
# parts.
# Source it from the repository root.

. bench/lib.sh

VEGETA_VERSION=v12.13.0
HEY_VERSION=v0.1.5

build_surge() {
	log "building surge, bench/minimal and bench/stall into $BIN"
	go build -o "$BIN/surge" ./cmd/surge
	go build -o "$BIN/minimal" ./bench/minimal
	go build -o "$BIN/stall" ./bench/stall
}

need_vegeta() {
	[ -x "$BIN/vegeta" ] || { log "installing vegeta $VEGETA_VERSION"; GOBIN=$BIN go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"; }
}

need_hey() {
	[ -x "$BIN/hey" ] || { log "installing hey $HEY_VERSION"; GOBIN=$BIN go install "github.com/rakyll/hey@$HEY_VERSION"; }
}

# start NAME ARGS...: runs $BIN/NAME in the background and remembers it.
start() {
	local name=$1
	shift
	"$BIN/$name" "$@" >"$OUT/$name.log" 2>&1 &
	PIDS+=($!)
}

# wait_http URL: waits until URL answers (10 s at most).
wait_http() {
	for _ in $(seq 100); do
		if curl -fs -o /dev/null "$1"; then return 0; fi
		sleep 0.1
	done
	log "no answer from $1"
	return 1
}

# jqr FILE FILTER: a value from a result file.
jqr() { jq -r "$2" "$1"; }

if ! command -v jq >/dev/null; then
	log "installing jq"
	apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null
fi

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# ge A B: true when A >= B.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
