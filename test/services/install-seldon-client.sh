#!/usr/bin/env bash
# Seldon Core's Python client (seldon-core from PyPI), whose
# SeldonClient(...).microservice(method="predict", transport="rest") posts a
# form-encoded json= body, for the model server's Seldon microservice test.
# 1.18.2: the newest release installable on Python 3.11 (1.19 requires 3.12).
# Idempotent: an existing venv with the pinned version is reused.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-seldon"
SELDON_VERSION=1.18.2
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.seldon-version" 2>/dev/null)" = "$SELDON_VERSION" ]; then
  echo "seldon-core: $SELDON_VERSION already in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "seldon-core==$SELDON_VERSION"
"$VENV/bin/python" -c "from seldon_core.seldon_client import SeldonClient; print('seldon-core', SeldonClient.__name__)"
echo "$SELDON_VERSION" > "$VENV/.seldon-version"
echo "seldon-core: installed $SELDON_VERSION in $(( $(date +%s) - start )) s"
