#!/usr/bin/env bash
# check-alerting-config.sh: validate every shipped alerting config under alerting/config/ with the
# Debian Prometheus 2.42 / Alertmanager 0.25 tools (promtool, amtool). Run by `make test`.
#
# Each *.yml / *.yaml file is classified by its top-level keys:
#   groups:                        -> promtool check rules         (Prometheus/AMP rule groups)
#   alertmanager_config:           -> AMP alert-manager definition: the inner config and its
#                                     template_files are written to a temp dir, then amtool check-config
#                                     and amtool template render of every {{ define }} in them
#   route: / receivers:            -> amtool check-config          (local Alertmanager config), then
#                                     amtool template render of every templated string in its receivers
#   rule_files: / alerting: / global: / scrape_configs:
#                                  -> promtool check config        (also checks the rule files it names)
#   anything else                  -> reported as skipped
# Each *.tmpl file: amtool template render of every {{ define "NAME" }} in it, because Alertmanager
# 0.25 swallows SNS template errors at run time (reference alerting.md, gotcha C1).
#
# The alerting package owner may edit this script (e.g. to add template data or skip a file).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DIR=alerting/config

if [[ ! -d $DIR ]]; then
	echo "check-alerting-config: no $DIR/ yet, nothing to check"
	exit 0
fi
for b in promtool amtool; do
	command -v "$b" >/dev/null 2>&1 || { echo "check-alerting-config: $b not found (apt-get install prometheus prometheus-alertmanager)" >&2; exit 1; }
done
PY=$ROOT/.venv/bin/python
[[ -x $PY ]] || PY=python3
"$PY" -c 'import yaml' 2>/dev/null || { echo "check-alerting-config: $PY has no PyYAML (run scripts/teststack.sh install)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
checked=0

run() {
	local out
	if out=$("$@" 2>&1); then
		printf '  ok    %s\n' "$*"
	else
		printf '  FAIL  %s\n%s\n' "$*" "$out" | sed '2,$s/^/        /'
		fail=1
	fi
	checked=$((checked + 1))
}

# render_defines FILE [GLOB]: amtool template render for every template defined in FILE.
render_defines() {
	local file=$1 glob=${2:-$1} name
	local -a names
	mapfile -t names < <(grep -oE '\{\{-? *define +"[^"]+"' "$file" | sed -E 's/.*define +"([^"]+)"/\1/' | sort -u)
	if ((${#names[@]} == 0)); then
		printf '  FAIL  %s defines no template\n' "$file"
		fail=1
		return
	fi
	for name in "${names[@]}"; do
		run amtool template render --template.glob="$glob" --template.text="{{ template \"$name\" . }}"
	done
}

classify() {
	"$PY" - "$1" <<'EOF'
import sys, yaml
try:
    with open(sys.argv[1]) as f:
        doc = yaml.safe_load(f)
except Exception as e:
    print("invalid", str(e).replace("\n", " "))
    sys.exit(0)
keys = set(doc) if isinstance(doc, dict) else set()
if "alertmanager_config" in keys:
    print("amp-alertmanager")
elif "groups" in keys:
    print("rules")
elif keys & {"route", "receivers"}:
    print("alertmanager")
elif keys & {"rule_files", "alerting", "global", "scrape_configs"}:
    print("prometheus")
else:
    print("unknown")
EOF
}

# split_amp FILE OUTDIR: write OUTDIR/alertmanager.yml (inner config, templates pointed at files)
# and OUTDIR/<name>.tmpl for every template_files entry.
split_amp() {
	"$PY" - "$1" "$2" <<'EOF'
import os, sys, yaml
src, out = sys.argv[1:3]
with open(src) as f:
    doc = yaml.safe_load(f)
cfg = yaml.safe_load(doc["alertmanager_config"])
files = doc.get("template_files") or {}
for name, body in files.items():
    with open(os.path.join(out, name + ".tmpl"), "w") as f:
        f.write(body)
if files:
    cfg["templates"] = [os.path.join(out, "*.tmpl")]
with open(os.path.join(out, "alertmanager.yml"), "w") as f:
    yaml.safe_dump(cfg, f)
EOF
}

# render_inline CONFIG: amtool template render of every templated string ("{{") inside the receivers of
# an Alertmanager config (subject, message, attributes, ...), with the config's own template files.
render_inline() {
	local cfg=$1 d t g
	local -a globs=() args=()
	inline_seq=$((inline_seq + 1))
	d=$TMP/inline$inline_seq
	mkdir -p "$d"
	"$PY" - "$cfg" "$d" <<'EOF'
import os, sys, yaml
cfg, out = sys.argv[1:3]
with open(cfg) as f:
    doc = yaml.safe_load(f)
base = os.path.dirname(os.path.abspath(cfg))
with open(os.path.join(out, "globs"), "w") as f:
    for g in doc.get("templates") or []:
        f.write((g if os.path.isabs(g) else os.path.join(base, g)) + "\n")
texts = []
def walk(v):
    if isinstance(v, str):
        if "{{" in v:
            texts.append(v)
    elif isinstance(v, dict):
        for x in v.values():
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(doc.get("receivers") or [])
for i, t in enumerate(texts):
    with open(os.path.join(out, "text%03d" % i), "w") as f:
        f.write(t)
EOF
	mapfile -t globs <"$d/globs"
	((${#globs[@]})) || globs=("$TMP/none/*.tmpl")
	for g in "${globs[@]}"; do args+=(--template.glob="$g"); done
	for t in "$d"/text*; do
		[[ -e $t ]] || continue
		run amtool template render "${args[@]}" --template.text="$(<"$t")"
	done
}
inline_seq=0

while IFS= read -r -d '' f; do
	read -r kind rest < <(classify "$f")
	case $kind in
	rules) run promtool check rules "$f" ;;
	prometheus) run promtool check config "$f" ;;
	alertmanager)
		run amtool check-config "$f"
		render_inline "$f"
		;;
	amp-alertmanager)
		d=$TMP/$(echo "$f" | tr '/' '_')
		mkdir -p "$d"
		if split_amp "$f" "$d"; then
			printf '  note  %s: AMP definition, checking its alertmanager_config and template_files\n' "$f"
			run amtool check-config "$d/alertmanager.yml"
			render_inline "$d/alertmanager.yml"
			for t in "$d"/*.tmpl; do
				[[ -e $t ]] && render_defines "$t" "$d/*.tmpl"
			done
		else
			printf '  FAIL  %s: cannot split the AMP definition\n' "$f"
			fail=1
		fi
		;;
	invalid) printf '  FAIL  %s: not valid YAML: %s\n' "$f" "$rest"; fail=1 ;;
	*) printf '  skip  %s (not a Prometheus or Alertmanager file)\n' "$f" ;;
	esac
done < <(find "$DIR" -type f \( -name '*.yml' -o -name '*.yaml' \) -print0 | sort -z)

while IFS= read -r -d '' t; do
	render_defines "$t" "$(dirname "$t")/*.tmpl"
done < <(find "$DIR" -type f -name '*.tmpl' -print0 | sort -z)

if ((fail)); then
	echo "check-alerting-config: FAILED"
	exit 1
fi
echo "check-alerting-config: $checked checks passed"
