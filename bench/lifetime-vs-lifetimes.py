"""Fit the Python `lifetimes` library (BG/NBD, Pareto/NBD, Gamma-Gamma) on the
CDNOW data and print parameters, log-likelihood and times as JSON, for
bench/lifetime-vs-lifetimes.sh to set beside our own fit. In-process fit
times are the median of --repeat fits after WARMUP untimed ones, as ours."""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

warnings.filterwarnings("ignore")
data_dir = sys.argv[1]
repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 5
WARMUP = 3


def timed(f):
    """Median wall and CPU time (ms) of `repeat` calls after WARMUP untimed ones, and the last result."""
    for _ in range(WARMUP):
        f()
    times, cpus = [], []
    result = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = f()
        cpus.append((time.process_time() - c) * 1000)
        times.append((time.perf_counter() - t) * 1000)
    return result, {"fit_ms": float(np.median(times)), "fit_cpu_ms": float(np.median(cpus))}


def fit_bgf(frame):
    return BetaGeoFitter(penalizer_coef=0.0).fit(frame["frequency"], frame["recency"], frame["T"])


def bgnbd_ll(fitter, frame):
    """Total log-likelihood at the fitted parameters, by lifetimes' own formula
    (its stored _negative_log_likelihood_ is scaled by its internal weights)."""
    p = fitter.params_
    log_params = np.log([p["r"], p["alpha"], p["a"], p["b"]])
    n = len(frame)
    nll = BetaGeoFitter._negative_log_likelihood(
        log_params, frame["frequency"].values, frame["recency"].values, frame["T"].values, np.ones(n), 0.0
    )
    return -float(nll) * n


def pareto_ll(fitter, frame):
    """Total Pareto/NBD log-likelihood at the fitted parameters, by lifetimes' formula."""
    p = fitter.params_
    ll = ParetoNBDFitter._conditional_log_likelihood(
        [p["r"], p["alpha"], p["s"], p["beta"]], frame["frequency"].values, frame["recency"].values, frame["T"].values
    )
    return float(np.sum(ll))

out = {}

summary = pd.read_csv(f"{data_dir}/cdnow_customers_summary.csv")
bgf, fit_ms = timed(lambda: fit_bgf(summary))
p = bgf.params_
out["bgnbd_summary"] = {
    "r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"],
    "log_likelihood": bgnbd_ll(bgf, summary), **fit_ms,
    "prob_alive_2_30.43_38.86": float(np.ravel(bgf.conditional_probability_alive(2, 30.43, 38.86))[0]),
    "expected_t78": float(np.ravel(bgf.expected_number_of_purchases_up_to_time(78))[0]),
}

if "--pareto" in sys.argv:
    t0 = time.perf_counter()
    pnbd = ParetoNBDFitter(penalizer_coef=0.0)
    pnbd.fit(summary["frequency"], summary["recency"], summary["T"])
    fit_s = time.perf_counter() - t0
    p = pnbd.params_
    out["pareto_summary"] = {
        "r": p["r"], "alpha": p["alpha"], "s": p["s"], "beta": p["beta"],
        "log_likelihood": pareto_ll(pnbd, summary), "fit_ms": fit_s * 1000,
    }

# Full master log: read, summarise, fit, score P(alive) and next-39-week purchases.
t0 = time.perf_counter()
tx = pd.read_csv(f"{data_dir}/CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str})
tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
read_s = time.perf_counter() - t0
t1 = time.perf_counter()
s = summary_data_from_transaction_data(
    tx, "customer_id", "date", monetary_value_col="dollar_value", observation_period_end="1997-09-30", freq="D"
)
# Ages in days/7 like ours (freq="W" would count calendar-week periods instead).
s["recency"] = s["recency"] / 7
s["T"] = s["T"] / 7
summary_s = time.perf_counter() - t1
bgf, fit_ms = timed(lambda: fit_bgf(s))
t3 = time.perf_counter()
alive = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
expected = bgf.conditional_expected_number_of_purchases_up_to_time(39, s["frequency"], s["recency"], s["T"])
score_s = time.perf_counter() - t3
p = bgf.params_
out["bgnbd_master"] = {
    "customers": int(len(s)), "r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"],
    "log_likelihood": bgnbd_ll(bgf, s),
    "read_ms": read_s * 1000, "summary_ms": summary_s * 1000, **fit_ms, "score_ms": score_s * 1000,
    "mean_prob_alive": float(alive.mean()), "sum_expected_39": float(expected.sum()),
}
repeat_customers = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
ggf, gg_ms = timed(
    lambda: GammaGammaFitter(penalizer_coef=0.0).fit(repeat_customers["frequency"], repeat_customers["monetary_value"])
)
g = ggf.params_
gg_nll = GammaGammaFitter._negative_log_likelihood(
    np.log([g["p"], g["q"], g["v"]]), repeat_customers["frequency"].values.astype(float),
    repeat_customers["monetary_value"].values, np.ones(len(repeat_customers)), 0.0,
)
t4 = time.perf_counter()
clv = ggf.customer_lifetime_value(
    bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"], time=12, discount_rate=0.01, freq="W"
)
out["gamma_gamma_master"] = {
    "customers": int(len(repeat_customers)), "p": g["p"], "q": g["q"], "v": g["v"],
    "log_likelihood": -float(gg_nll) * len(repeat_customers), **gg_ms,
    "clv_ms": (time.perf_counter() - t4) * 1000, "sum_clv_12_months": float(clv.sum()),
}
print(json.dumps(out))
