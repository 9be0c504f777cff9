#!/usr/bin/env bash
# run-bench.sh: the body of `make bench`, run by scripts/with-stack.sh with the stack's variables set.
# Runs the Go benchmarks of every package (integration-tagged ones included), then every benchmark
# program internal/bench/*/main.go. BENCH (default .), BENCHTIME (e.g. 3s or 100x) and
# BENCH_PKGS (default ./...) narrow it down.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
GO=${GO:-go}
BENCH=${BENCH:-.}
BENCH_PKGS=${BENCH_PKGS:-./...}
rc=0
args=(test -run '^$' -bench "$BENCH" -benchmem -tags integration -timeout 30m)
[[ -n ${BENCHTIME:-} ]] && args+=(-benchtime "$BENCHTIME")
echo "==> $GO ${args[*]} $BENCH_PKGS"
# shellcheck disable=SC2086
"$GO" "${args[@]}" $BENCH_PKGS || rc=$?
shopt -s nullglob
for main in internal/bench/*/main.go; do
	dir=./$(dirname "$main")
	echo "==> $GO run -tags integration $dir"
	"$GO" run -tags integration "$dir" || rc=$?
done
exit "$rc"
