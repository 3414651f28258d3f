#!/usr/bin/env bash
# Creates (once) the benchmark venv with LightGBM, scikit-learn and pandas from PyPI,
# then runs bench/models-reference.py with any arguments given.
set -euo pipefail
VENV="${CHURN_BENCH_VENV:-$HOME/.cache/churn-test/venv-bench}"
if ! "$VENV/bin/python" -c "import lightgbm, sklearn, pandas" 2>/dev/null; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  # Several benchmarks share the venv: serialise installs.
  flock /tmp/venv-bench.lock "$VENV/bin/pip" install -q lightgbm scikit-learn pandas
fi
# One thread each: the machine is shared, and timings should compare like with like.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$VENV/bin/python" "$(dirname "$0")/models-reference.py" "$@"
