#!/usr/bin/env bash
# BG/NBD (and Pareto/NBD) on CDNOW: our TypeScript fit beside the Python
# `lifetimes` library (PyPI), same data, same run; prints parameters,
# log-likelihoods and times side by side.
# Usage: bench/lifetime-vs-lifetimes.sh [cdnow folder]   (default ../shared/datasets/cdnow)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
data="${1:-$root/../shared/datasets/cdnow}"
venv="${CHURN_BENCH_VENV:-$HOME/.cache/churn-test/venv-bench}"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
# lifetimes 0.11.3 (2020, the last release) still works with numpy 2 / scipy 1.17 / pandas 3.
if ! "$venv/bin/python" -c "import lifetimes" 2>/dev/null; then
  flock /tmp/venv-bench.lock "$venv/bin/python" -m pip install --quiet lifetimes==0.11.3
fi
ours="$(cd "$root" && npx tsx bench/lifetime-vs-lifetimes.ts "$data" --pareto)"
theirs="$("$venv/bin/python" "$here/lifetime-vs-lifetimes.py" "$data" --pareto)"
"$venv/bin/python" - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for section in ours:
    print(f"\n{section}")
    print(f"  {'':28}{'ours':>18}{'lifetimes':>18}")
    keys = list(dict.fromkeys(list(ours[section]) + list(theirs.get(section, {}))))
    for k in keys:
        a, b = ours[section].get(k, ""), theirs.get(section, {}).get(k, "")
        fmt = lambda v: f"{v:18.6f}" if isinstance(v, float) else f"{str(v):>18}"
        print(f"  {k:28}{fmt(a)}{fmt(b)}")
PY
