"""Fit the Python `lifetimes` library (BG/NBD, Pareto/NBD) on the CDNOW data
and print parameters, log-likelihood and times as JSON, for
bench/lifetime-vs-lifetimes.sh to set beside our own fit."""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

warnings.filterwarnings("ignore")
data_dir = sys.argv[1]


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
t0 = time.perf_counter()
bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(summary["frequency"], summary["recency"], summary["T"])
fit_s = time.perf_counter() - t0
p = bgf.params_
out["bgnbd_summary"] = {
    "r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"],
    "log_likelihood": bgnbd_ll(bgf, summary), "fit_ms": fit_s * 1000,
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
t2 = time.perf_counter()
bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(s["frequency"], s["recency"], s["T"])
fit_s = time.perf_counter() - t2
t3 = time.perf_counter()
alive = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
expected = bgf.conditional_expected_number_of_purchases_up_to_time(39, s["frequency"], s["recency"], s["T"])
score_s = time.perf_counter() - t3
p = bgf.params_
out["bgnbd_master"] = {
    "customers": int(len(s)), "r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"],
    "log_likelihood": bgnbd_ll(bgf, s),
    "read_ms": read_s * 1000, "summary_ms": summary_s * 1000, "fit_ms": fit_s * 1000, "score_ms": score_s * 1000,
    "mean_prob_alive": float(alive.mean()), "sum_expected_39": float(expected.sum()),
}
print(json.dumps(out))
