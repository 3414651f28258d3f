#!/usr/bin/env bash
# NVIDIA's Triton HTTP client (tritonclient[http] from PyPI), a V2 inference
# client nobody here wrote, for the model server's interoperability test.
# Idempotent: an existing venv with the pinned version is reused.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-triton"
TRITON_VERSION=2.73.0
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.triton-version" 2>/dev/null)" = "$TRITON_VERSION" ]; then
  echo "tritonclient: $TRITON_VERSION already in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "tritonclient[http]==$TRITON_VERSION"
"$VENV/bin/python" -c "import tritonclient.http, numpy; print('tritonclient', tritonclient.http.__name__)"
echo "$TRITON_VERSION" > "$VENV/.triton-version"
echo "tritonclient: installed $TRITON_VERSION in $(( $(date +%s) - start )) s"
