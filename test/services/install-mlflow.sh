#!/usr/bin/env bash
# A real MLflow tracking server and model registry for the integration tests
# (DESIGN: pip in a venv, sqlite backend). `mlflow server` needs the full
# `mlflow` package (mlflow-skinny has no server: no Flask, SQLAlchemy or
# alembic), so this installs the full wheel set once into a cached venv.
# Idempotent: an existing venv with the pinned version is reused.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
VENV="$CACHE/venv-mlflow"
MLFLOW_VERSION=3.17.2
if [ -x "$VENV/bin/mlflow" ] && [ "$(cat "$VENV/.mlflow-version" 2>/dev/null)" = "$MLFLOW_VERSION" ]; then
  echo "mlflow: $MLFLOW_VERSION already in $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION"
"$VENV/bin/mlflow" --version
echo "$MLFLOW_VERSION" > "$VENV/.mlflow-version"
echo "mlflow: installed $MLFLOW_VERSION in $(( $(date +%s) - start )) s"
