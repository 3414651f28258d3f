"""The Python `lifetimes` library (PyPI) as a peer for test/lifetime-peer.test.ts:
reads customers as JSON on stdin ({"customers": [[frequency, recency, T,
monetary], ...], "freq": "W", "months": 12, "discount": 0.01}), fits
BetaGeoFitter on all of them and GammaGammaFitter on the repeat customers
with a positive mean value, and prints parameters, log-likelihoods and each
customer's customer_lifetime_value as JSON. Nothing is hard-coded: every
number printed comes from lifetimes' own fit on the given data."""
import json
import sys
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

warnings.filterwarnings("ignore")
req = json.load(sys.stdin)
c = pd.DataFrame(req["customers"], columns=["frequency", "recency", "T", "monetary"])

bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(c["frequency"], c["recency"], c["T"])
p = bgf.params_
n = len(c)
nll = BetaGeoFitter._negative_log_likelihood(
    np.log([p["r"], p["alpha"], p["a"], p["b"]]),
    c["frequency"].values, c["recency"].values, c["T"].values, np.ones(n), 0.0,
)

repeat = c[(c["frequency"] > 0) & (c["monetary"] > 0)]
ggf = GammaGammaFitter(penalizer_coef=0.0)
ggf.fit(repeat["frequency"], repeat["monetary"])
g = ggf.params_
gg_nll = GammaGammaFitter._negative_log_likelihood(
    np.log([g["p"], g["q"], g["v"]]),
    repeat["frequency"].values.astype(float), repeat["monetary"].values, np.ones(len(repeat)), 0.0,
)
clv = ggf.customer_lifetime_value(
    bgf, c["frequency"], c["recency"], c["T"], c["monetary"],
    time=req["months"], discount_rate=req["discount"], freq=req["freq"],
)
spend = ggf.conditional_expected_average_profit(c["frequency"], c["monetary"])
print(json.dumps({
    "bgnbd": {"r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"], "log_likelihood": -float(nll) * n},
    "gamma_gamma": {"p": g["p"], "q": g["q"], "v": g["v"], "log_likelihood": -float(gg_nll) * len(repeat),
                    "customers": int(len(repeat))},
    "expected_spend": [float(v) for v in spend],
    "clv": [float(v) for v in clv],
}))
