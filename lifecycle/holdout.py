"""The applicants both models are scored on: one features frame, its targets, and the fairness groups.

- `--holdout FILE`: a features table with TARGET (`scoring.datadir.load_features_table`);
- `--data-dir DIR`: the Kaggle tables (features built by `scoring.features`, as training does); give
  applicants neither model was trained on (e.g. a later extract);
- otherwise a fresh synthetic twin drawn with a seed no training uses by default (`HOLDOUT_SEED`):
  applicants neither model has seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.folders import portable
from scoring import data, features, synthetic
from scoring.datadir import load_features_table
from scoring.fairness import GENDER_F, GENDER_M, age_groups, gender_groups
from scoring.schema import TARGET_COLUMN

log = logging.getLogger(__name__)

HOLDOUT_SEED = 20_260  # train.py's default seed is 42: these applicants are new to a default-trained model
HOLDOUT_APPLICANTS = 10_000


@dataclass(frozen=True)
class Holdout:
    frame: pd.DataFrame  # features, one row per applicant (columns of any model; absent ones: the template)
    target: np.ndarray  # 1 = defaulted
    source: dict[str, Any]

    def groups(self) -> dict[str, pd.Series]:
        out = {}
        if GENDER_F in self.frame or GENDER_M in self.frame:
            out["gender"] = gender_groups(self.frame)
        if "DAYS_BIRTH" in self.frame:
            out["age"] = age_groups(self.frame)
        return out


def load_holdout(features_file: Path | None = None, data_dir: Path | None = None, *,
                 applicants: int = HOLDOUT_APPLICANTS, seed: int = HOLDOUT_SEED) -> Holdout:
    if features_file is not None:
        frame, target, source = load_features_table(Path(features_file))
        return Holdout(frame, target, source | {"file": portable(features_file)})
    if data_dir is not None:
        tables = data.load_tables(Path(data_dir), progress=False)
        source = {"kind": "kaggle", "data_dir": portable(data_dir)}
    else:
        log.info("holdout: a fresh synthetic twin of %d applicants (seed %d)", applicants, seed)
        tables = synthetic.generate(applicants, seed, progress=False).tables
        source = {"kind": "synthetic", "applicants": applicants, "seed": seed}
    frame = features.build_features(tables, progress=False)
    target = tables.application.set_index("SK_ID_CURR").loc[frame.index, TARGET_COLUMN].to_numpy(dtype=int)
    return Holdout(frame, target, source)
