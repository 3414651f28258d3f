#!/usr/bin/env bash
# Installs every service the integration tests start. Idempotent: each tool is
# built once into ~/.cache/churn-test/bin and reused by later runs.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
mkdir -p "$CACHE/bin"
echo "test services: cached under $CACHE (nothing to install yet)"
