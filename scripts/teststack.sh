#!/usr/bin/env bash
# teststack.sh: the local integration-test stack for mlwatch, bound to 127.0.0.1 only.
#
#   scripts/teststack.sh install            apt packages (root) + pinned .venv (mlflow, boto3, moto)
#   scripts/teststack.sh start [--record F] start or reuse moto, 2x mlflow, Alertmanager, Prometheus;
#                                           prints the export lines; with --record, appends the names of
#                                           the services THIS call started to F (for `stop $(cat F)`)
#   scripts/teststack.sh env                print the export lines for the integration tests
#   scripts/teststack.sh stop [service...]  stop all (or the named) services by their recorded PIDs
#   scripts/teststack.sh status             one line per service
#
# State lives under .stack/ (logs/, *.pid, databases, TSDB). Services: moto mlflow-a mlflow-b
# alertmanager prometheus. Every daemon is started with setsid from this shell (already in the repo
# root), so the recorded PID is the daemon itself and also its process-group id; stop signals that
# group (TERM, then KILL after a bounded wait). Nothing is ever killed by name.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STACK=$ROOT/.stack
LOGS=$STACK/logs
VENV=$ROOT/.venv
SCRIPTS=$ROOT/scripts
HOST=127.0.0.1

MOTO_PORT=15000
MLFLOW_A_PORT=15500
MLFLOW_B_PORT=15501
AM_PORT=19093
PROM_PORT=19090
BUCKET=mlwatch-artifacts
TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:mlwatch-alerts

SERVICES=(moto mlflow-a mlflow-b alertmanager prometheus)
APT_PACKAGES=(prometheus prometheus-alertmanager python3-scipy python3-numpy python3-venv curl ca-certificates procps gcc libc6-dev)
STOP_WAIT=${MLWATCH_STACK_STOP_WAIT:-15}       # seconds between TERM and KILL
START_WAIT=${MLWATCH_STACK_START_WAIT:-180}    # seconds a service may take to become healthy

log() { printf 'teststack: %s\n' "$*" >&2; }
die() { printf 'teststack: error: %s\n' "$*" >&2; exit 1; }

# venv_python_base prints the interpreter the project venv is built from: the machine's Debian python3.
venv_python_base() {
	if [[ -n ${MLWATCH_VENV_PYTHON:-} ]]; then
		printf '%s\n' "$MLWATCH_VENV_PYTHON"
	elif [[ -x /usr/bin/python3 ]]; then
		printf '%s\n' /usr/bin/python3
	else
		command -v python3 || die "no python3 found"
	fi
}

# scipy_python prints a python that imports scipy and numpy (Debian python3-scipy).
scipy_python() {
	if [[ -x /usr/bin/python3 ]]; then
		printf '%s\n' /usr/bin/python3
	else
		command -v python3 || printf '%s\n' python3
	fi
}

lock() {
	mkdir -p "$STACK"
	exec 9>"$STACK/.lock"
	flock -w 900 9 || die "another teststack.sh holds $STACK/.lock"
}

# ---------------------------------------------------------------- install

missing_packages() {
	local p
	for p in "${APT_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			printf '%s\n' "$p"
		fi
	done
}

install_packages() {
	local missing cmd
	if ! command -v dpkg-query >/dev/null 2>&1; then
		for b in prometheus prometheus-alertmanager promtool amtool; do
			command -v "$b" >/dev/null 2>&1 || die "not a Debian system and $b is not on PATH; install Prometheus 2.42 and Alertmanager 0.25 by hand"
		done
		return 0
	fi
	mapfile -t missing < <(missing_packages)
	((${#missing[@]} == 0)) && return 0
	cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		log "missing Debian packages: ${missing[*]}"
		log "run as root, then re-run this command:"
		printf "  sudo sh -c '%s'\n" "$cmd" >&2
		exit 1
	fi
	log "installing ${missing[*]}"
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

venv_stamp() {
	local py=$1
	{
		cat "$SCRIPTS/requirements-test.txt" "$SCRIPTS/constraints-test.txt"
		"$py" -c 'import sys; print(sys.version)'
	} | sha256sum | cut -d' ' -f1
}

install_venv() {
	local base stamp
	base=$(venv_python_base)
	stamp=$(venv_stamp "$base")
	if [[ -x $VENV/bin/python && -x $VENV/bin/mlflow && -f $VENV/.mlwatch-stamp &&
		$(cat "$VENV/.mlwatch-stamp") == "$stamp" ]] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
		return 0
	fi
	if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
		rm -rf "$VENV"
		log "creating $VENV with $base -m venv"
		"$base" -m venv "$VENV" || die "'$base -m venv' failed (Debian: apt-get install python3-venv)"
	fi
	log "installing pinned Python packages into .venv (mlflow, boto3, moto[server])"
	mkdir -p "$ROOT/.cache/pip"
	"$VENV/bin/python" -m pip install -q --no-input --cache-dir "$ROOT/.cache/pip" \
		-c "$SCRIPTS/constraints-test.txt" -r "$SCRIPTS/requirements-test.txt" >&2
	"$VENV/bin/python" -c 'import mlflow, boto3, moto' || die "venv packages do not import"
	printf '%s\n' "$stamp" >"$VENV/.mlwatch-stamp"
}

cmd_install() {
	install_packages
	install_venv
	log "install ok (.venv: $(grep -E '^mlflow==' "$SCRIPTS/requirements-test.txt"))"
}

# ---------------------------------------------------------------- services

port_of() {
	case $1 in
	moto) echo $MOTO_PORT ;;
	mlflow-a) echo $MLFLOW_A_PORT ;;
	mlflow-b) echo $MLFLOW_B_PORT ;;
	alertmanager) echo $AM_PORT ;;
	prometheus) echo $PROM_PORT ;;
	*) die "unknown service $1" ;;
	esac
}

health_url() {
	local port
	port=$(port_of "$1")
	case $1 in
	moto) echo "http://$HOST:$port/moto-api/" ;;
	mlflow-*) echo "http://$HOST:$port/health" ;;
	alertmanager | prometheus) echo "http://$HOST:$port/-/ready" ;;
	esac
}

am_config() {
	if [[ -f $ROOT/alerting/config/local/alertmanager.yml ]]; then
		echo "$ROOT/alerting/config/local/alertmanager.yml"
	else
		echo "$SCRIPTS/stack/alertmanager.yml"
	fi
}

prom_config() {
	if [[ -f $ROOT/alerting/config/local/prometheus.yml ]]; then
		echo "$ROOT/alerting/config/local/prometheus.yml"
	else
		echo "$SCRIPTS/stack/prometheus.yml"
	fi
}

aws_env=(AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
	AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)
# A larger SQLAlchemy pool than the default 5+10: the integration suites of several packages log to one server
# at once, and MLflow answers pool exhaustion with a 400 BAD_REQUEST that clients (rightly) do not retry.
mlflow_env=(MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
	MLFLOW_SQLALCHEMYSTORE_POOL_SIZE=20 MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW=40)
mlflow_hosts="$HOST,$HOST:*,localhost,localhost:*"

# service_cmd NAME sets CMD (argv, run through env) and STATE (paths reset on a fresh start).
service_cmd() {
	local py=$VENV/bin/python
	case $1 in
	moto)
		CMD=(env "${aws_env[@]}" "$py" -m moto.server -H $HOST -p $MOTO_PORT)
		STATE=()
		;;
	mlflow-a)
		CMD=(env "${mlflow_env[@]}" "$VENV/bin/mlflow" server
			--backend-store-uri sqlite:///.stack/mlflow-a.db
			--serve-artifacts --default-artifact-root mlflow-artifacts:/
			--artifacts-destination "$STACK/mlartifacts"
			--host $HOST --port $MLFLOW_A_PORT --workers 1
			--allowed-hosts "$mlflow_hosts"
			--uvicorn-opts "--timeout-keep-alive 75")
		STATE=("$STACK/mlflow-a.db" "$STACK/mlartifacts")
		;;
	mlflow-b)
		CMD=(env "${mlflow_env[@]}" "${aws_env[@]}" MLFLOW_S3_ENDPOINT_URL=http://$HOST:$MOTO_PORT
			"$VENV/bin/mlflow" server
			--backend-store-uri sqlite:///.stack/mlflow-b.db
			--no-serve-artifacts --default-artifact-root s3://$BUCKET/
			--host $HOST --port $MLFLOW_B_PORT --workers 1
			--allowed-hosts "$mlflow_hosts"
			--uvicorn-opts "--timeout-keep-alive 75")
		STATE=("$STACK/mlflow-b.db")
		;;
	alertmanager)
		CMD=(env "${aws_env[@]}" /usr/bin/prometheus-alertmanager
			--config.file="$(am_config)" --storage.path="$STACK/am"
			--web.listen-address=$HOST:$AM_PORT --cluster.listen-address=)
		STATE=("$STACK/am")
		;;
	prometheus)
		CMD=(/usr/bin/prometheus --config.file="$(prom_config)"
			--web.enable-remote-write-receiver --web.enable-lifecycle
			--rules.alert.resend-delay=1s
			--web.listen-address=$HOST:$PROM_PORT --storage.tsdb.path="$STACK/prom")
		STATE=("$STACK/prom")
		;;
	*) die "unknown service $1" ;;
	esac
}

pidfile() { echo "$STACK/$1.pid"; }

# recorded_pid NAME prints the recorded PID if that process is alive and is still our daemon
# (its command line names our port), so a recycled PID is never signalled.
recorded_pid() {
	local f pid port
	f=$(pidfile "$1")
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	port=$(port_of "$1")
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$port" || return 1
	printf '%s\n' "$pid"
}

# healthy NAME [SECONDS]: one health probe (generous timeout: CI boxes can be heavily loaded).
healthy() {
	curl -fsS -o /dev/null --max-time "${2:-5}" "$(health_url "$1")" 2>/dev/null
}

port_busy() {
	# a TCP connect succeeds: someone is listening
	(exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

log_tail() {
	local f=$LOGS/$1.log
	[[ -f $f ]] || return 0
	printf -- '----- last 40 lines of %s -----\n' "$f" >&2
	tail -n 40 "$f" >&2 || true
	printf -- '-----\n' >&2
}

# wait_healthy NAME PID SECONDS: 0 when healthy; 1 when the process died or time ran out.
wait_healthy() {
	local name=$1 pid=$2 deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		healthy "$name" && return 0
		kill -0 "$pid" 2>/dev/null || { log "$name (pid $pid) exited during start-up"; return 1; }
		sleep 0.3
	done
	log "$name (pid $pid) not healthy after $3s ($(health_url "$name"))"
	return 1
}

signal_service() {
	local sig=$1 pid=$2
	if [[ $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') == "$pid" ]]; then
		kill -s "$sig" -- "-$pid" 2>/dev/null || true
	else
		kill -s "$sig" "$pid" 2>/dev/null || true
	fi
}

# group_alive PID: the daemon or any process of its group (e.g. uvicorn workers) is still running.
group_alive() {
	kill -0 "$1" 2>/dev/null || pgrep -g "$1" >/dev/null 2>&1
}

# stop_services NAME...: TERM every recorded daemon (and its process group) at once, wait up to
# STOP_WAIT seconds for all of them, then KILL what is left.
stop_services() {
	local name pid deadline
	local -a pids=()
	for name in "$@"; do
		if pid=$(recorded_pid "$name"); then
			log "stopping $name (pid $pid)"
			signal_service TERM "$pid"
			pids+=("$pid")
		fi
		rm -f "$(pidfile "$name")" "$STACK/$name.args"
	done
	((${#pids[@]})) || return 0
	deadline=$((SECONDS + STOP_WAIT))
	for pid in "${pids[@]}"; do
		while group_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
	done
	for pid in "${pids[@]}"; do
		if group_alive "$pid"; then
			log "pid $pid (or its process group) still alive after ${STOP_WAIT}s: KILL"
			kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid" 2>/dev/null || true
		fi
	done
}

stop_service() { stop_services "$1"; }

# start_service NAME: reuse it when its recorded process is alive, healthy and started with the same
# command line; otherwise (re)start it from a clean state. Sets LAUNCHED=1 when it launched a process,
# and STARTED=1 when that service was not running before (see --record).
start_service() {
	local name=$1 pid sig argsf port restart=0
	STARTED=0
	LAUNCHED=0
	service_cmd "$name"
	sig=$(printf '%q ' "${CMD[@]}")
	argsf=$STACK/$name.args
	port=$(port_of "$name")
	if pid=$(recorded_pid "$name"); then
		if [[ -f $argsf && $(<"$argsf") == "$sig" ]] && wait_healthy "$name" "$pid" 30; then
			log "$name: reusing pid $pid"
			return 0
		fi
		log "$name: recorded pid $pid is unhealthy or was started with other arguments; restarting"
		stop_service "$name"
		restart=1
	fi
	rm -f "$(pidfile "$name")" "$argsf"
	if port_busy "$port"; then
		die "$name: port $HOST:$port is in use by a process not recorded in .stack/ (not ours; stop it first)"
	fi
	if ((${#STATE[@]})); then rm -rf "${STATE[@]}"; fi
	mkdir -p "$LOGS"
	[[ -f $LOGS/$name.log ]] && mv -f "$LOGS/$name.log" "$LOGS/$name.log.1"
	# This shell is already in $ROOT (gotcha C5): $! is setsid, which execs env, which execs the daemon.
	setsid "${CMD[@]}" >"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
	pid=$!
	printf '%s\n' "$pid" >"$(pidfile "$name")"
	printf '%s\n' "$sig" >"$argsf"
	LAUNCHED=1
	# A restart of a service that was already running (shared dev stack) is not "started by this
	# call": `start --record` leaves it out, so `make test` does not stop it afterwards.
	((restart)) || STARTED=1
	log "$name: started pid $pid (log .stack/logs/$name.log)"
}

# await NAME SECONDS: wait for a service this call started; on failure print its log and stop it.
await() {
	local name=$1 pid
	pid=$(<"$(pidfile "$name")")
	if ! wait_healthy "$name" "$pid" "$2"; then
		log_tail "$name"
		stop_service "$name"
		return 1
	fi
}

reload() {
	local name=$1 code
	code=$(curl -sS -o "$LOGS/$name.reload" -w '%{http_code}' --max-time 10 -X POST \
		"http://$HOST:$(port_of "$name")/-/reload" 2>/dev/null) || code=000
	if [[ $code != 200 ]]; then
		log "$name: config reload failed (HTTP $code): $(cat "$LOGS/$name.reload" 2>/dev/null)"
		return 1
	fi
}

ensure_bucket() {
	env "${aws_env[@]}" "$VENV/bin/python" - "$HOST" "$MOTO_PORT" "$BUCKET" <<'EOF'
import sys
import boto3
host, port, bucket = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
try:
    s3.head_bucket(Bucket=bucket)
except Exception:
    s3.create_bucket(Bucket=bucket)
EOF
}

# prometheus_sees_am: Prometheus has discovered the Alertmanager (gotcha C2).
prometheus_sees_am() {
	curl -fsS --max-time 3 "http://$HOST:$PROM_PORT/api/v1/alertmanagers" 2>/dev/null |
		grep -q "$HOST:$AM_PORT"
}

cmd_start() {
	local record="" name failed=0 deadline
	local -a started=()
	while (($#)); do
		case $1 in
		--record) record=${2:?--record needs a file}; shift 2 ;;
		*) die "start: unknown argument $1" ;;
		esac
	done
	[[ -x $VENV/bin/mlflow ]] || die "no .venv: run scripts/teststack.sh install first"
	for b in /usr/bin/prometheus /usr/bin/prometheus-alertmanager curl setsid flock; do
		command -v "$b" >/dev/null 2>&1 || die "$b not found: run scripts/teststack.sh install first"
	done
	lock
	mkdir -p "$LOGS"
	# Launch everything, then wait: the mlflow servers take the longest (SQLite migrations).
	for name in "${SERVICES[@]}"; do
		start_service "$name"
		if ((LAUNCHED)); then started+=("$name"); fi
		if [[ -n $record ]] && ((STARTED)); then printf '%s\n' "$name" >>"$record"; fi
	done
	for name in "${started[@]}"; do
		await "$name" "$START_WAIT" || failed=1
	done
	if ((failed)); then
		die "stack start failed (logs in .stack/logs/)"
	fi
	ensure_bucket || die "cannot create S3 bucket $BUCKET on moto"
	# Reused Alertmanager/Prometheus re-read their (possibly edited) config files.
	for name in alertmanager prometheus; do
		if [[ " ${started[*]} " != *" $name "* ]]; then
			reload "$name" || die "$name rejected its config ($(if [[ $name == alertmanager ]]; then am_config; else prom_config; fi))"
		fi
	done
	deadline=$((SECONDS + 30))
	until prometheus_sees_am; do
		((SECONDS < deadline)) || { log_tail prometheus; die "Prometheus has not discovered the Alertmanager after 30s"; }
		sleep 0.3
	done
	log "stack ready (started: ${started[*]:-none}; Alertmanager config $(am_config); Prometheus config $(prom_config))"
	cmd_env
}

cmd_stop() {
	local -a names=("$@")
	local i name
	((${#names[@]})) || names=("${SERVICES[@]}")
	for name in "${names[@]}"; do port_of "$name" >/dev/null; done
	lock
	local -a rev=()
	for ((i = ${#names[@]} - 1; i >= 0; i--)); do rev+=("${names[i]}"); done
	stop_services "${rev[@]}"
}

cmd_status() {
	local name pid state rc=0
	for name in "${SERVICES[@]}"; do
		if pid=$(recorded_pid "$name"); then
			if healthy "$name" 10 || healthy "$name" 20; then state=healthy; else state=UNHEALTHY; rc=1; fi
		else
			pid=-
			state=stopped
			rc=1
		fi
		printf '%-13s pid=%-8s %-9s %s\n' "$name" "$pid" "$state" "http://$HOST:$(port_of "$name")"
	done
	return $rc
}

cmd_env() {
	cat <<EOF
export MLWATCH_TEST_STACK=1
export MLWATCH_TEST_MLFLOW_URI=http://$HOST:$MLFLOW_A_PORT
export MLWATCH_TEST_MLFLOW_S3_URI=http://$HOST:$MLFLOW_B_PORT
export MLWATCH_TEST_MOTO_URL=http://$HOST:$MOTO_PORT
export MLWATCH_TEST_PROMETHEUS_URL=http://$HOST:$PROM_PORT
export MLWATCH_TEST_ALERTMANAGER_URL=http://$HOST:$AM_PORT
export MLWATCH_TEST_PYTHON=$VENV/bin/python
export MLWATCH_TEST_SCIPY_PYTHON=$(scipy_python)
export MLWATCH_TEST_S3_BUCKET=$BUCKET
export MLWATCH_TEST_SNS_TOPIC_ARN=$TOPIC_ARN
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL=http://$HOST:$MOTO_PORT
export MLFLOW_S3_ENDPOINT_URL=http://$HOST:$MOTO_PORT
EOF
}

usage() {
	sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

case ${1:-} in
install) shift; cmd_install "$@" ;;
start) shift; cmd_start "$@" ;;
env) cmd_env ;;
stop) shift; cmd_stop "$@" ;;
status) cmd_status ;;
*) usage ;;
esac
