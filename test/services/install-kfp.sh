#!/usr/bin/env bash
# Kubeflow Pipelines' own SDK (kfp) and its pipeline-spec protos
# (kfp-pipeline-spec) from PyPI, for validating `churn pipeline compile
# --target kfp` output with the libraries KFP and Vertex AI read it with.
# Idempotent: an existing venv with the pinned versions is reused.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-kfp"
KFP_VERSION=2.17.3
PINS="kfp==$KFP_VERSION kfp-pipeline-spec==$KFP_VERSION"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.pins" 2>/dev/null)" = "$PINS" ]; then
  echo "kfp: $KFP_VERSION already in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
# shellcheck disable=SC2086 # PINS is a list of requirement specifiers
"$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS
"$VENV/bin/python" -c "import kfp, kfp.pipeline_spec.pipeline_spec_pb2; print('kfp', kfp.__version__)"
echo "$PINS" > "$VENV/.pins"
echo "kfp: installed $KFP_VERSION in $(( $(date +%s) - start )) s"
