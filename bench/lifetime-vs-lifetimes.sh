#!/usr/bin/env bash
# BG/NBD, Gamma-Gamma and lifetime value on CDNOW: our TypeScript fits beside
# the Python `lifetimes` library (PyPI), same data, same run. Rounds
# alternate ours / theirs (default 3); each process reports the median of
# --repeat in-process fits after warm-up fits; the table shows the median
# over rounds, the speed ratios, and the load average before and after.
# Usage: bench/lifetime-vs-lifetimes.sh [cdnow folder] [rounds]   (default ../shared/datasets/cdnow 3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
data="${1:-$root/../shared/datasets/cdnow}"
rounds="${2:-3}"
# The same venv as the tests (test/services/install-lifetimes.sh: lifetimes 0.11.3).
bash "$root/test/services/install-lifetimes.sh" >/dev/null
python="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}/venv-lifetimes/bin/python"
export OMP_NUM_THREADS=1
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
ours=()
theirs=()
for ((i = 0; i < rounds; i++)); do
  extra=()
  if [ "$i" = 0 ]; then extra=(--pareto); fi
  ours+=("$(cd "$root" && node --import tsx bench/lifetime-vs-lifetimes.ts "$data" --repeat 5 "${extra[@]}")")
  theirs+=("$("$python" "$here/lifetime-vs-lifetimes.py" "$data" --repeat 5 "${extra[@]}")")
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${ours[@]}" > /tmp/lifetime-bench-ours.jsonl
printf '%s\n' "${theirs[@]}" > /tmp/lifetime-bench-theirs.jsonl
"$python" - /tmp/lifetime-bench-ours.jsonl /tmp/lifetime-bench-theirs.jsonl "$load_before" "$load_after" <<'PY'
import json, statistics, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
theirs = [json.loads(l) for l in open(sys.argv[2])]
print(f"rounds: {len(ours)} (interleaved)   load average before: {sys.argv[3]}   after: {sys.argv[4]}")
def med(runs, section, key):
    vals = [r[section][key] for r in runs if section in r and key in r[section]]
    if not vals: return ""
    return statistics.median(vals) if key.endswith("_ms") else vals[0]
for section in ours[0]:
    print(f"\n{section}")
    print(f"  {'':28}{'ours':>18}{'lifetimes':>18}{'rel. diff':>12}")
    keys = list(dict.fromkeys(list(ours[0][section]) + list(theirs[0].get(section, {}))))
    for k in keys:
        a, b = med(ours, section, k), med(theirs, section, k)
        fmt = lambda v: f"{v:18.6f}" if isinstance(v, float) else f"{str(v):>18}"
        rel = ""
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not k.endswith("_ms") and b:
            rel = f"{abs(a - b) / abs(b):12.2e}"
        if k in ("fit_ms", "fit_cpu_ms") and isinstance(a, float) and isinstance(b, float):
            rel = f"{b / a:10.1f}x"
        print(f"  {k:28}{fmt(a)}{fmt(b)}{rel}")
PY
