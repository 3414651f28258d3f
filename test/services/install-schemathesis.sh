#!/usr/bin/env bash
# Schemathesis (PyPI), the property-based API tester run against
# serving/openapi.yaml and a live model server (every phase, --checks all).
# Idempotent: an existing venv with the pinned version is reused.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-schemathesis"
SCHEMATHESIS_VERSION=4.32.5
if [ -x "$VENV/bin/st" ] && [ "$(cat "$VENV/.schemathesis-version" 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ]; then
  echo "schemathesis: $SCHEMATHESIS_VERSION already in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
"$VENV/bin/st" --version
echo "$SCHEMATHESIS_VERSION" > "$VENV/.schemathesis-version"
echo "schemathesis: installed $SCHEMATHESIS_VERSION in $(( $(date +%s) - start )) s"
