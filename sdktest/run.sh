#!/usr/bin/env bash
# Runs the SDK contract tests against PORTIERE_URL with PORTIERE_API_KEY (see CONTRACT.md).
# Without PORTIERE_URL every test is skipped with a message saying what to start.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ -x "$here/.venv/bin/pytest" ] || "$here/setup.sh"
exec "$here/.venv/bin/pytest" -q -rs "$here" "$@"
