#!/usr/bin/env bash
# Terraform static checks: checkov (policy checks) and python-hcl2 (the HCL
# parser the policy test reads the module with; checkov depends on it) from
# PyPI in one cached venv, and TFLint (go install; its bundled Terraform rules
# need no plugin download). No terraform binary: releases after 1.5 cannot be
# go-installed (replace directives in go.mod) and provider downloads are not
# possible here, so `terraform validate` cannot run. Idempotent.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-terraform"
CHECKOV_VERSION=3.3.30
TFLINT_VERSION=v0.61.0
BIN="$CACHE/bin"

if [ -x "$BIN/tflint" ] && [ "$(cat "$BIN/tflint.version" 2>/dev/null)" = "$TFLINT_VERSION" ]; then
  echo "terraform tools: tflint $TFLINT_VERSION already in $BIN"
else
  start=$(date +%s)
  mkdir -p "$BIN"
  # Same Go caches as test/services/install.sh: everything under $CACHE.
  (
    export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/pkg/mod" GOCACHE="$CACHE/go/build-cache"
    export GOBIN="$BIN" GOFLAGS="-modcacherw" CGO_ENABLED=0
    go install -trimpath -ldflags="-s -w" "github.com/terraform-linters/tflint@$TFLINT_VERSION"
  )
  echo "$TFLINT_VERSION" >"$BIN/tflint.version"
  echo "terraform tools: built tflint $TFLINT_VERSION in $(( $(date +%s) - start )) s"
fi

if [ -x "$VENV/bin/checkov" ] && [ "$(cat "$VENV/.checkov-version" 2>/dev/null)" = "$CHECKOV_VERSION" ]; then
  echo "terraform tools: checkov $CHECKOV_VERSION already in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
"$VENV/bin/checkov" --version
"$VENV/bin/python" -c "import hcl2"
echo "$CHECKOV_VERSION" > "$VENV/.checkov-version"
echo "terraform tools: installed checkov $CHECKOV_VERSION in $(( $(date +%s) - start )) s"
