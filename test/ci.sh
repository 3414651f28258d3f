#!/usr/bin/env bash
# The whole test suite on a fresh machine: install dependencies and the real
# services the tests use (idempotent, cached under ~/.cache/churn-test), run
# the static checks, build, and run every Vitest project.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing npm dependencies"
npm ci --no-audit --no-fund --loglevel=error

echo "== installing test services"
bash test/services/install.sh
bash test/services/install-linters.sh
bash test/services/install-mlflow.sh
bash test/services/install-terraform-tools.sh
bash test/services/install-tofu.sh
bash test/services/install-kube.sh
bash test/services/install-helm.sh
bash test/services/install-triton-client.sh
bash test/services/install-seldon-client.sh
bash test/services/install-schemathesis.sh
bash test/services/install-chromium.sh
bash test/services/install-pushgateway.sh
bash test/services/install-kfp.sh
bash test/services/install-argo.sh
bash test/services/install-lifetimes.sh

echo "== static checks"
npm run --silent lint
npm run --silent typecheck

echo "== build"
npm run --silent build

echo "== tests"
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.vitest-report.json || status=$?
node test/summary.mjs .vitest-report.json || status=1
exit "$status"
