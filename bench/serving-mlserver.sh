#!/usr/bin/env bash
# Sets up and starts MLServer (PyPI mlserver + mlserver-sklearn) on 127.0.0.1
# with a comparable model for bench/serving.ts: scikit-learn's
# HistGradientBoostingClassifier (31 leaves, early stopping, like our GBDT)
# trained on the numeric columns of the same example history. Idempotent: the
# venv is cached at ~/.cache/churn-test/venv-bench.
# Usage: bench/serving-mlserver.sh PORT DIR HISTORY_CSV COLUMNS(comma-separated)
# (runs in the foreground; the caller stops it by pid).
set -euo pipefail
PORT="${1:?port}"
DIR="${2:?model directory}"
HISTORY="${3:?history csv}"
COLUMNS="${4:?numeric columns}"
VENV="${HOME}/.cache/churn-test/venv-bench"
# One thread, as our server runs on one Node process (the team's rule for Python peers).
export OMP_NUM_THREADS=1
if [[ ! -x "${VENV}/bin/mlserver" ]]; then
  python3 -m venv "${VENV}"
  "${VENV}/bin/pip" install -q mlserver==1.7.1 mlserver-sklearn==1.7.1 scikit-learn pandas
fi
mkdir -p "${DIR}/churn"
"${VENV}/bin/python" - "${DIR}/churn" "${HISTORY}" "${COLUMNS}" <<'PY'
import json, sys
import joblib, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
history = pd.read_csv(sys.argv[2])
columns = sys.argv[3].split(",")
X = history[columns].to_numpy(dtype=float)
y = (history["Attrition_Flag"] == "Attrited Customer").astype(int).to_numpy()
model = HistGradientBoostingClassifier(max_leaf_nodes=31, learning_rate=0.05, max_iter=300,
                                       early_stopping=True, random_state=42).fit(X, y)
joblib.dump(model, f"{sys.argv[1]}/model.joblib")
json.dump({"name": "churn", "implementation": "mlserver_sklearn.SKLearnModel",
           "parameters": {"uri": "./model.joblib", "extra": {"method": "predict_proba"}}},
          open(f"{sys.argv[1]}/model-settings.json", "w"))
PY
cat > "${DIR}/settings.json" <<JSON
{"host": "127.0.0.1", "http_port": ${PORT}, "grpc_port": $((PORT + 1)), "metrics_port": $((PORT + 2)), "parallel_workers": 0}
JSON
cd "${DIR}"
exec "${VENV}/bin/mlserver" start .
