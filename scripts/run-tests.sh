#!/usr/bin/env bash
# run-tests.sh: the body of `make test`, run by scripts/with-stack.sh with the stack's variables set.
# Runs every step even when an earlier one fails, prints a summary, and exits non-zero if any failed
# (go test's own exit status when it is the one that failed).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
GO=${GO:-go}
TEST_TIMEOUT=${TEST_TIMEOUT:-15m}
command -v "$GO" >/dev/null 2>&1 || { echo "run-tests: '$GO' not found; install Go >= 1.25 (https://go.dev/dl/)" >&2; exit 1; }

rc=0
summary=()
step() {
	local name=$1 start=$SECONDS status
	shift
	echo "==> $name: $*"
	"$@"
	status=$?
	summary+=("$(printf '%-24s %-4s %4ds' "$name" "$([[ $status == 0 ]] && echo ok || echo FAIL)" $((SECONDS - start)))")
	if ((status != 0)) && ((rc == 0)); then rc=$status; fi
	return $status
}

step alerting-config scripts/check-alerting-config.sh
step go-vet "$GO" vet ./...
step go-vet-integration "$GO" vet -tags integration ./...
step go-test "$GO" test -race -count=1 -tags integration -timeout "$TEST_TIMEOUT" ./...
test_status=$?

echo "==> summary"
printf '    %s\n' "${summary[@]}"
if ((test_status != 0)); then exit "$test_status"; fi
exit "$rc"
