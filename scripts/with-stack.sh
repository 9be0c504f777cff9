#!/usr/bin/env bash
# with-stack.sh [--install] COMMAND [ARG...]: run COMMAND with the local test stack up and its
# MLWATCH_TEST_* / AWS_* variables exported, then stop exactly the services this call started
# (services already running from .stack/, e.g. a shared dev stack, are reused and left running).
# The exit status is COMMAND's; the stack is stopped on every exit path, including failures and signals.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TS=$ROOT/scripts/teststack.sh

if [[ ${1:-} == --install ]]; then
	shift
	"$TS" install
fi
(($#)) || { echo "usage: scripts/with-stack.sh [--install] COMMAND [ARG...]" >&2; exit 2; }

mkdir -p .stack
record=$(mktemp "$ROOT/.stack/started.XXXXXX")
envfile=$(mktemp "$ROOT/.stack/env.XXXXXX")
cleanup() {
	local rc=$?
	local -a started=()
	mapfile -t started <"$record" 2>/dev/null || true
	if ((${#started[@]})); then
		"$TS" stop "${started[@]}" || rc=1
	fi
	rm -f "$record" "$envfile"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS
"$TS" start --record "$record" >"$envfile"
echo "with-stack: stack up in $((SECONDS - start))s" >&2
# shellcheck disable=SC1090
source "$envfile"
# The command runs in its own process group, in the background, so that a TERM/INT sent to this
# script (CI cancel, Ctrl-C) is handled at once: the whole group is terminated, then the stack stops.
setsid "$@" &
child=$!
on_signal() {
	kill -s TERM -- "-$child" 2>/dev/null || kill -s TERM "$child" 2>/dev/null || true
	wait "$child" 2>/dev/null || true
	exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
set +e
wait "$child"
rc=$?
set -e
if ! "$TS" status >&2; then
	echo "with-stack: a service died or became unhealthy while the command ran; logs in .stack/logs/" >&2
fi
exit "$rc"
