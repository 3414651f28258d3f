#!/usr/bin/env python3
"""Reference models on the shared data sets, for benchmarks (not part of the test run).

Two modes, each printing one JSON object per line:
  models-reference.py                 raw data sets + split.csv: scikit-learn LogisticRegression,
                                      RandomForest (500 trees), HistGradientBoosting and LightGBM,
                                      with the same column drops and one-hot encoding as our tests.
  models-reference.py --matrices DIR  LightGBM only, on encoded matrices written by
                                      bench/gbdt-vs-lightgbm.ts (DIR/<name>.{fit,valid,test}.csv,
                                      label in the last column), with settings matching our GBDT.
Run it with the bench venv: bench/models-reference.sh sets it up.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

# ../shared/datasets beside the repository root (the rule of test/support/datasets.ts).
DATASETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets")
SETS = [
    ("BankChurners", "bankchurners/BankChurners.csv", "CLIENTNUM", "Attrition_Flag", "Attrited Customer",
     lambda c: c.startswith("Naive_Bayes_Classifier")),
    ("Churn_Modelling", "bankchurn-modelling/Churn_Modelling.csv", "CustomerId", "Exited", "1",
     lambda c: c in ("RowNumber", "Surname")),
    ("Iranian", "iranian-churn/Customer_Churn.csv", None, "Churn", "1", lambda c: False),
]

LGB_PARAMS = dict(
    objective="binary", learning_rate=0.05, num_leaves=31, max_depth=-1, min_data_in_leaf=20,
    min_sum_hessian_in_leaf=1e-3, lambda_l2=1.0, feature_fraction=0.8, bagging_fraction=0.8,
    bagging_freq=1, max_bin=255, num_threads=1, seed=42, deterministic=True, verbose=-1,
)


def lightgbm_fit(x_fit, y_fit, x_valid, y_valid):
    import lightgbm as lgb
    fit = lgb.Dataset(x_fit, y_fit, params={"max_bin": 255})
    valid = lgb.Dataset(x_valid, y_valid, reference=fit)
    return lgb.train(LGB_PARAMS, fit, num_boost_round=1000, valid_sets=[valid],
                     callbacks=[lgb.early_stopping(50, verbose=False)])


def emit(**kw):
    print(json.dumps(kw), flush=True)


def matrices_mode(folder):
    """One timed LightGBM fit per data set in DIR (every <name>.fit.csv there, sorted),
    after one untimed warm-up fit (library load and first-call set-up) on the first;
    prints wall and CPU seconds of each fit. Run it once per repeat to interleave."""
    names = sorted(f[: -len(".fit.csv")] for f in os.listdir(folder) if f.endswith(".fit.csv"))
    warmed = False
    for name in names:
        parts = {}
        for part in ("fit", "valid", "test"):
            path = os.path.join(folder, f"{name}.{part}.csv")
            a = pd.read_csv(path, header=None, na_values=["NaN"]).to_numpy(dtype=np.float64)
            parts[part] = (a[:, :-1], a[:, -1])
        if not warmed:
            lightgbm_fit(*parts["fit"], *parts["valid"])
            warmed = True
        t0 = time.perf_counter()
        c0 = time.process_time()
        booster = lightgbm_fit(*parts["fit"], *parts["valid"])
        cpu = time.process_time() - c0
        seconds = time.perf_counter() - t0
        auc = roc_auc_score(parts["test"][1], booster.predict(parts["test"][0], num_iteration=booster.best_iteration))
        emit(dataset=name, model="lightgbm", roc_auc=auc, train_seconds=seconds, cpu_seconds=cpu,
             trees=booster.best_iteration)


def reference_mode():
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for name, file, id_col, label, positive, drop in SETS:
        path = os.path.join(DATASETS_DIR, file)
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        split = pd.read_csv(os.path.join(os.path.dirname(path), "split.csv"), dtype=str)
        keys = df[id_col] if id_col else pd.Series([str(i + 1) for i in range(len(df))])
        part = keys.map(dict(zip(split["key"], split["split"])))
        y = (df[label] == positive).astype(int).to_numpy()
        feats = df.drop(columns=[c for c in df.columns if c in (id_col, label) or drop(c)])
        cols = []
        for c in feats.columns:
            num = pd.to_numeric(feats[c], errors="coerce")
            if num.notna().all():
                cols.append(num.rename(c))
            else:
                cols.append(pd.get_dummies(feats[c], prefix=c, prefix_sep="=").astype(float))
        x = pd.concat(cols, axis=1).to_numpy(dtype=np.float64)
        tr = (part == "train").to_numpy()
        te = (part == "test").to_numpy()
        models = {
            "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
            "random_forest": lambda: RandomForestClassifier(n_estimators=500, random_state=42, n_jobs=1),
            "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(random_state=42),
        }
        for model_name, make in models.items():
            t0 = time.perf_counter()
            m = make().fit(x[tr], y[tr])
            seconds = time.perf_counter() - t0
            emit(dataset=name, model=model_name, roc_auc=roc_auc_score(y[te], m.predict_proba(x[te])[:, 1]),
                 train_seconds=seconds)
        xf, xv, yf, yv = train_test_split(x[tr], y[tr], test_size=0.1, stratify=y[tr], random_state=42)
        t0 = time.perf_counter()
        booster = lightgbm_fit(xf, yf, xv, yv)
        seconds = time.perf_counter() - t0
        auc = roc_auc_score(y[te], booster.predict(x[te], num_iteration=booster.best_iteration))
        emit(dataset=name, model="lightgbm", roc_auc=auc, train_seconds=seconds, trees=booster.best_iteration)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--matrices":
        matrices_mode(sys.argv[2])
    elif len(sys.argv) == 1:
        reference_mode()
    else:
        sys.exit(__doc__)
