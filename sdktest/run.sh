#!/usr/bin/env bash
# Runs the SDK contract tests against PORTIERE_URL with PORTIERE_API_KEY (see CONTRACT.md).
# Without PORTIERE_URL every test is skipped with a message saying what to start.
# Creates or repairs sdktest/.venv first (setup.sh, idempotent).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/setup.sh"
exec "$here/.venv/bin/pytest" -q -rs -p no:cacheprovider "$here" "$@"
