#!/usr/bin/env bash
# Creates sdktest/.venv with the published SDK (portiere-health 0.6.0, with its pandas
# extra for the pipeline stages and the local project used by the sync tests) and pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python3 -m venv "$here/.venv"
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check \
	"portiere-health[pandas]==0.6.0" "pytest>=8,<9" "httpx>=0.27"
