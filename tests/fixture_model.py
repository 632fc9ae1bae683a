"""A small but plausible model folder for the serving tests (and the benchmark when no real model).

The frame holds the 11 UI features plus a few application columns and one extra education
one-hot column, so that templates, exclusive groups and monotone constraints are exercised the
way the real model will exercise them. The target depends on the features through a logistic link.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from scoring import schema
from scoring.master_scale import build_master_scale
from scoring.publish import write_model
from scoring.reference import build_reference
from scoring.store_build import build_store, model_identity

# `python train.py` on a small synthetic twin, the quick path: the run the training, MLflow and store tests share
# (`trained_twin`, tests/conftest.py); the determinism test runs it a second time.
TWIN_TRAIN_ARGS = ("--applicants", "1500", "--folds", "2", "--seed", "3", "--no-tune", "--repeats", "1",
                   "--no-variant", "--no-benchmark", "--exclude-features", "CODE_GENDER_*", "--quiet")
EXTRA_FEATURES = ("DAYS_BIRTH", "AMT_CREDIT", "AMT_INCOME_TOTAL", "NAME_EDUCATION_TYPE_Academic degree",
                  "CODE_GENDER_XNA", "ALL_MISSING")


def make_frame(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    ext = rng.beta(4, 3, size=(n, 3))
    ext[rng.random((n, 3)) < 0.2] = np.nan  # EXT_SOURCE_* are often missing in the real tables
    edu = rng.choice(3, size=n, p=[0.25, 0.7, 0.05])
    female = rng.random(n) < 0.65
    frame = pd.DataFrame({
        schema.EXT_SOURCE_1: ext[:, 0],
        schema.EXT_SOURCE_2: ext[:, 1],
        schema.EXT_SOURCE_3: ext[:, 2],
        schema.EDUCATION_HIGHER: (edu == 0).astype(float),
        schema.EDUCATION_SECONDARY: (edu == 1).astype(float),
        "NAME_EDUCATION_TYPE_Academic degree": (edu == 2).astype(float),
        schema.CARD_ATM_DRAWINGS: np.where(rng.random(n) < 0.7, np.nan, rng.gamma(1.0, 2.0, n)),
        schema.INCOME_WORKING: (rng.random(n) < 0.5).astype(float),
        schema.GENDER_F: female.astype(float),
        schema.GENDER_M: (~female).astype(float),
        "CODE_GENDER_XNA": np.zeros(n),
        schema.DOCUMENT_3: (rng.random(n) < 0.7).astype(float),
        schema.BUREAU_OVERDUE_MAX: np.where(rng.random(n) < 0.95, 0.0, rng.gamma(1.0, 3000.0, n)),
        "DAYS_BIRTH": -rng.integers(21 * 365, 69 * 365, n).astype(float),
        "AMT_CREDIT": rng.lognormal(13, 0.6, n),
        "AMT_INCOME_TOTAL": rng.lognormal(12, 0.5, n),
        "ALL_MISSING": np.full(n, np.nan),
    })
    filled = frame.fillna(frame.median())
    ext_sum = filled[schema.EXT_SOURCE_1] + filled[schema.EXT_SOURCE_2] + filled[schema.EXT_SOURCE_3]
    logit = (-1.0 - 2.5 * (ext_sum - 1.7)
             + 0.4 * filled[schema.GENDER_M] - 0.3 * filled[schema.EDUCATION_HIGHER]
             + 0.05 * filled[schema.CARD_ATM_DRAWINGS] + 0.0002 * filled[schema.BUREAU_OVERDUE_MAX]
             - 0.3 * filled[schema.DOCUMENT_3] + 0.00004 * (filled["DAYS_BIRTH"] + 16000))
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, target


def build_model_dir(model_dir: Path, *, n: int = 3000, seed: int = 0, n_estimators: int = 60,
                    exclude: tuple[str, ...] = ()) -> Path:
    """Train the fixture model and write a complete, verified artifact folder into `model_dir`
    (`exclude`: feature names left out, as `train.py --exclude-features` does)."""
    full, target = make_frame(n, seed)
    frame = full.drop(columns=list(exclude))
    monotone = {name: -1 for name in (schema.EXT_SOURCE_1, schema.EXT_SOURCE_2, schema.EXT_SOURCE_3)}
    model = xgb.XGBClassifier(tree_method="hist", n_estimators=n_estimators, max_depth=4, learning_rate=0.1,
                              monotone_constraints=monotone, n_jobs=1, random_state=seed)
    model.fit(frame, target)
    scores = model.predict_proba(frame)[:, 1]
    threshold = float(np.quantile(scores, 0.7))
    write_model(
        model_dir,
        model=model,
        features=list(frame.columns),
        threshold={"threshold": threshold, "cost_fn": 10.0, "cost_fp": 1.0,
                   "grey_zone": {"low": threshold - 0.03, "high": threshold + 0.03}, "selected_on": "out-of-fold",
                   "master_scale": build_master_scale(target, scores)},
        metrics={"auc": 0.75, "business_cost": 1.0, "threshold": threshold, "data_source": "fixture",
                 "n_train": n},
        reference=build_reference(full, scores),  # left-out form features still described, as train.py does
    )
    return Path(model_dir)


def store_for(model_dir: Path, tables, path: Path) -> Path:
    """The feature store of `tables` built for the model of `model_dir` (its features and version)."""
    version, features, _ = model_identity(model_dir)
    return build_store(tables, None, features, version, path, progress=False)
