#!/usr/bin/env bash
# Creates sdktest/.venv with the published SDK (portiere-health 0.6.0, with its pandas
# extra for the pipeline stages and the local project used by the sync tests) and pytest.
# Idempotent: a venv whose marker names the same requirements is left alone; a venv
# without the marker (an install that stopped half-way) is rebuilt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
reqs=("portiere-health[pandas]==0.6.0" "pytest>=8,<9" "httpx>=0.27")
marker="$venv/.portiere-sdktest"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "${reqs[*]}" ] && [ -x "$venv/bin/pytest" ]; then
	exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${reqs[@]}"
printf '%s' "${reqs[*]}" >"$marker"
