#!/usr/bin/env bash
# Sets up and starts MLServer (PyPI mlserver + mlserver-sklearn) on 127.0.0.1
# with a scikit-learn logistic regression over the same 12 features as the
# fake churn model, for bench/serving.ts. Idempotent: the venv is cached at
# ~/.cache/churn-test/venv-bench. Usage: bench/serving-mlserver.sh PORT DIR
# (runs in the foreground; the caller stops it by pid).
set -euo pipefail
PORT="${1:?port}"
DIR="${2:?model directory}"
VENV="${HOME}/.cache/churn-test/venv-bench"
if [[ ! -x "${VENV}/bin/mlserver" ]]; then
  python3 -m venv "${VENV}"
  "${VENV}/bin/pip" install -q mlserver mlserver-sklearn scikit-learn
fi
mkdir -p "${DIR}/churn"
"${VENV}/bin/python" - "${DIR}/churn" <<'PY'
import json, sys
import numpy as np, joblib
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(42)
X = rng.normal(size=(5000, 12))
y = (X @ rng.normal(size=12) + rng.normal(size=5000) > 0).astype(int)
model = LogisticRegression(max_iter=1000).fit(X, y)
joblib.dump(model, f"{sys.argv[1]}/model.joblib")
json.dump({"name": "churn", "implementation": "mlserver_sklearn.SKLearnModel",
           "parameters": {"uri": "./model.joblib", "extra": {"method": "predict_proba"}}},
          open(f"{sys.argv[1]}/model-settings.json", "w"))
json.dump({"host": "127.0.0.1", "http_port": int(sys.argv[2]) if len(sys.argv) > 2 else 0,
           "grpc_port": 0, "metrics_port": 0}, open(f"{sys.argv[1]}/../settings.json", "w"))
PY
cat > "${DIR}/settings.json" <<JSON
{"host": "127.0.0.1", "http_port": ${PORT}, "grpc_port": $((PORT + 1)), "metrics_port": $((PORT + 2)), "parallel_workers": 0}
JSON
cd "${DIR}"
exec "${VENV}/bin/mlserver" start .
