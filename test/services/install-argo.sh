#!/usr/bin/env bash
# Argo Workflows' full CRDs (with their OpenAPI schemas: the default ones
# preserve unknown fields and so validate nothing), from the argo-workflows
# Go module on the Go module proxy, for server-side dry-runs of the compiled
# Workflows on the test control plane. Idempotent and cached.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
ARGO_VERSION=v3.7.6
OUT="$CACHE/argo-$ARGO_VERSION"
if [ -f "$OUT/crds/.complete" ]; then
  echo "argo: $ARGO_VERSION CRDs already in $OUT/crds"
  exit 0
fi
start=$(date +%s)
dir=$(go mod download -json "github.com/argoproj/argo-workflows/v3@$ARGO_VERSION" |
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error", "no Dir")))')
rm -rf "$OUT/crds"
mkdir -p "$OUT/crds"
cp "$dir"/manifests/base/crds/full/argoproj.io_*.yaml "$OUT/crds/"
chmod u+w "$OUT"/crds/*.yaml
touch "$OUT/crds/.complete"
echo "argo: $ARGO_VERSION CRDs in $OUT/crds ($(ls "$OUT"/crds/*.yaml | wc -l) files, $(( $(date +%s) - start )) s)"
