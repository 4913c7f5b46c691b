#!/usr/bin/env bash
# Regenerate requirements.lock: every runtime dependency of pyproject.toml (transitively), pinned, with the sha256 of
# every published file, for Python 3.11 on any platform. Run it after changing [project] dependencies:
#     scripts/lock.sh
# The Docker image and .ci/run install from the lock with --require-hashes; tests/test_lock.py fails when a
# dependency in pyproject.toml is missing from the lock or the pinned version no longer satisfies its range.
set -euo pipefail
cd "$(dirname "$0")/.."

UV=$(command -v uv || true)
[ -z "$UV" ] && [ -x .venv/bin/uv ] && UV=.venv/bin/uv
if [ -z "$UV" ]; then  # a throwaway venv with uv, removed on exit
  TOOLS=$(mktemp -d)
  trap 'rm -rf "$TOOLS"' EXIT
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q "uv>=0.5,<1"
  UV="$TOOLS/venv/bin/uv"
fi

"$UV" pip compile pyproject.toml \
  --universal --python-version 3.11 \
  --generate-hashes \
  --no-strip-markers \
  --custom-compile-command "scripts/lock.sh" \
  --output-file requirements.lock "$@"
