#!/usr/bin/env bash
# The Python `lifetimes` library (PyPI, 0.11.3: the last release), the peer
# the BG/NBD, Gamma-Gamma and customer-lifetime-value tests compare against
# (test/lifetime-peer.test.ts) and bench/lifetime-vs-lifetimes.sh times.
# Idempotent: an existing venv with the pinned version is reused.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-lifetimes"
LIFETIMES_VERSION=0.11.3
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.lifetimes-version" 2>/dev/null)" = "$LIFETIMES_VERSION" ]; then
  echo "lifetimes: $LIFETIMES_VERSION already in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
# lifetimes 0.11.3 (2020) still works with numpy 2 / scipy 1.x / pandas 3.
"$VENV/bin/pip" install --quiet --disable-pip-version-check "lifetimes==$LIFETIMES_VERSION"
"$VENV/bin/python" -c "import lifetimes; print('lifetimes', lifetimes.__version__)"
echo "$LIFETIMES_VERSION" > "$VENV/.lifetimes-version"
echo "lifetimes: installed $LIFETIMES_VERSION in $(( $(date +%s) - start )) s"
