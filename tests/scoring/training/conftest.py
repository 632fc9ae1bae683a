"""A small trained model on a synthetic feature frame, shared by the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.schema import UI_FEATURES
from scoring.training import TrainConfig, train_model


def make_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The 11 UI features plus two others, and a target drawn from a known probability."""
    rng = np.random.default_rng(seed)
    cols = {}
    for f in UI_FEATURES:
        cols[f.name] = rng.integers(0, 2, n).astype(float) if f.binary else rng.uniform(f.minimum, f.maximum, n)
    frame = pd.DataFrame(cols)
    frame["DAYS_BIRTH"] = -rng.uniform(7000, 25000, n)
    frame["AMT_CREDIT"] = rng.lognormal(13, 0.5, n)
    frame.loc[rng.random(n) < 0.3, "EXT_SOURCE_1"] = np.nan
    logit = (-2.6 - 2.5 * (frame["EXT_SOURCE_2"] - 0.5) - 2.0 * (frame["EXT_SOURCE_3"] - 0.5)
             + 0.05 * frame["CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean"] + 0.4 * frame["CODE_GENDER_M"])
    prob = 1 / (1 + np.exp(-logit.to_numpy()))
    return frame, (rng.random(n) < prob).astype(int), prob


@pytest.fixture(scope="session")
def small_training():
    frame, y, prob = make_frame(3000, seed=3)
    cfg = TrainConfig(n_splits=3, n_repeats=1, tune=False, max_rounds=300, early_stopping_rounds=20,
                      learning_rate=0.1, seed=3, n_jobs=1)
    return frame, y, prob, cfg, train_model(frame, y, cfg, true_probability=prob, groups_from=frame, quiet=True)
