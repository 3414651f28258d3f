"""Measure how learnable the `churn init` example data is, with scikit-learn.

Not part of the test run (it needs Python with pandas and scikit-learn):
    python3 -m venv ~/.cache/churn-test/venv-bench
    ~/.cache/churn-test/venv-bench/bin/pip install scikit-learn pandas
    churn init --bucket /tmp/example
    ~/.cache/churn-test/venv-bench/bin/python components/example-bucket/learnability.py /tmp/example/input/history.csv

Prints held-out (stratified 30%) ROC-AUC of logistic regression, histogram
gradient boosting and a random forest, and single-column ROC-AUCs. The design
asks for 0.85-0.95 from a good model, and the linear model clearly below it.
On the real BankChurners.csv the same script gives 0.916 / 0.993 / 0.987,
matching the reference numbers in the data sets' README.
"""
import sys, pandas as pd, numpy as np
from sklearn.model_selection import train_test_split
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler, OneHotEncoder
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.metrics import roc_auc_score
df = pd.read_csv(sys.argv[1])
y = (df.Attrition_Flag == "Attrited Customer").astype(int)
X = df.drop(columns=["CLIENTNUM","Attrition_Flag"] + [c for c in df.columns if c.startswith("Naive")])
cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
num = [c for c in X.columns if c not in cat]
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
print("rows", len(df), "churn", round(y.mean(),4))
lr = make_pipeline(ColumnTransformer([("n", StandardScaler(), num), ("c", OneHotEncoder(handle_unknown="ignore"), cat)]), LogisticRegression(max_iter=2000))
lr.fit(Xtr, ytr); print("logistic", round(roc_auc_score(yte, lr.predict_proba(Xte)[:,1]),4))
Xtr2 = Xtr.copy(); Xte2 = Xte.copy()
for c in cat:
    Xtr2[c] = Xtr2[c].astype("category"); Xte2[c] = pd.Categorical(Xte2[c], categories=Xtr2[c].cat.categories)
hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
hgb.fit(Xtr2, ytr); print("hist_gbdt", round(roc_auc_score(yte, hgb.predict_proba(Xte2)[:,1]),4))
rf = make_pipeline(ColumnTransformer([("n", "passthrough", num), ("c", OneHotEncoder(handle_unknown="ignore"), cat)]), RandomForestClassifier(n_estimators=300, min_samples_leaf=5, n_jobs=1, random_state=0))
rf.fit(Xtr, ytr); print("random_forest", round(roc_auc_score(yte, rf.predict_proba(Xte)[:,1]),4))
for c in ["Total_Trans_Ct","Total_Trans_Amt","Total_Revolving_Bal","Total_Ct_Chng_Q4_Q1"]:
    print("single", c, round(1-roc_auc_score(y, df[c]),4))
