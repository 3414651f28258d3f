#!/usr/bin/env bash
# Terraform static checks from PyPI, in one cached venv: checkov (policy
# checks) and python-hcl2 (the HCL parser the policy test reads the module
# with; checkov depends on it too). No terraform binary is installed: provider
# downloads are not possible here, so `terraform validate` cannot run.
# Idempotent.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-terraform"
CHECKOV_VERSION=3.3.30
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
