#!/usr/bin/env bash
# bench/load-all.sh: every surge load bench, one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in max fixed co rss; do
	bash "bench/load-$b.sh"
	echo
done
