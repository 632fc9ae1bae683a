"""What `train.py` was given, and nothing ignored: the Kaggle tables, a features table with TARGET, or
nothing (then the synthetic twin).

A features table is one row per applicant with model feature columns (named as `features.txt`: the 11
form features among them), a `TARGET` column of 0/1 and optionally `SK_ID_CURR` - what
`scoring.features.build_features` writes, what `inference.py` scores, and the seed's `train_final.csv`.
A data file that is neither is refused with what would be accepted, never skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.data import DataError, find_table
from scoring.schema import (
    APPLICATION_TEST,
    APPLICATION_TRAIN,
    CHILD_TABLES,
    ID_COLUMN,
    TABLE_EXTENSIONS,
    TARGET_COLUMN,
    UI_FEATURE_NAMES,
)

log = logging.getLogger(__name__)

KAGGLE = "kaggle"
FEATURES = "features"
SYNTHETIC = "synthetic"
KAGGLE_NAMES = (APPLICATION_TRAIN, APPLICATION_TEST, *CHILD_TABLES, "HomeCredit_columns_description",
                "sample_submission")


@dataclass(frozen=True)
class TrainingSource:
    kind: str  # KAGGLE, FEATURES or SYNTHETIC
    path: Path | None  # the data folder (Kaggle) or the features table


def data_files(folder: Path) -> list[Path]:
    """The data files (.csv, .csv.gz, .parquet) directly inside `folder`, by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_EXTENSIONS))


def _table_name(path: Path) -> str:
    name = path.name
    for ext in TABLE_EXTENSIONS:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def _columns(path: Path) -> list[str]:
    """The header of a CSV or Parquet file (nothing else is read)."""
    try:
        if path.name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        return list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is refused with its reason
        raise DataError(f"{path}: cannot be read as a CSV or Parquet table ({exc})") from exc


ACCEPTED = (f"a folder with {APPLICATION_TRAIN}.csv (and the other Kaggle tables), or one features table "
            f"(.csv / .csv.gz / .parquet) with a {TARGET_COLUMN} column and the model's feature columns "
            f"(--features FILE), or an empty folder (the synthetic twin)")


def training_source(path: Path, *, explicit: bool = False) -> TrainingSource:
    """What training will use from `path` (a folder or a features file). Raises DataError on anything it
    cannot use; `explicit`: the path was given by the user, so an absent one is an error, not the twin."""
    path = Path(path)
    if path.is_file():
        _check_features_header(path)
        return TrainingSource(FEATURES, path)
    if not path.exists():
        if explicit:
            raise DataError(f"{path}: no such file or folder; expected {ACCEPTED}")
        return TrainingSource(SYNTHETIC, None)
    if find_table(path, APPLICATION_TRAIN) is not None:
        others = [p.name for p in data_files(path) if _table_name(p) not in KAGGLE_NAMES]
        if others:
            log.warning("%s: using the Kaggle tables; %s not used (train on it with --features FILE)",
                        path, ", ".join(others))
        return TrainingSource(KAGGLE, path)
    files = data_files(path)
    if not files:
        return TrainingSource(SYNTHETIC, None)
    kaggle = [p.name for p in files if _table_name(p) in KAGGLE_NAMES]
    others = [p for p in files if _table_name(p) not in KAGGLE_NAMES]
    if kaggle and not others:
        raise DataError(f"{path} holds {', '.join(kaggle)} but no {APPLICATION_TRAIN} file: training needs "
                        f"{APPLICATION_TRAIN} (the applicants with {TARGET_COLUMN}); expected {ACCEPTED}")
    with_target = [p for p in others if TARGET_COLUMN in _columns(p)]
    refused = [p.name for p in others if p not in with_target] + kaggle
    if len(with_target) == 1 and not refused:
        _check_features_header(with_target[0])
        return TrainingSource(FEATURES, with_target[0])
    if len(with_target) > 1:
        raise DataError(f"{path} holds several tables with {TARGET_COLUMN} ({', '.join(p.name for p in with_target)}):"
                        f" choose one with --features FILE")
    raise DataError(f"{path}: cannot train on {', '.join(refused)} (no {TARGET_COLUMN} column, or beside a "
                    f"features table: choose it with --features FILE); expected {ACCEPTED}")


def _check_features_header(path: Path) -> None:
    columns = _columns(path)
    if TARGET_COLUMN not in columns:
        raise DataError(f"{path}: a features table needs a {TARGET_COLUMN} column (0/1) to train on; expected "
                        f"{ACCEPTED}")
    missing = [name for name in UI_FEATURE_NAMES if name not in columns]
    if missing:
        raise DataError(f"{path}: a features table needs the form's features as columns; missing "
                        f"{', '.join(missing)}")


def load_features_table(path: Path) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    """(features indexed by SK_ID_CURR, target, source description) of a features table with TARGET."""
    _check_features_header(path)
    try:
        frame = pd.read_parquet(path) if path.name.endswith(".parquet") else pd.read_csv(path, encoding="utf-8-sig",
                                                                                         low_memory=False)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot be read ({exc})") from exc
    target = pd.to_numeric(frame.pop(TARGET_COLUMN), errors="coerce")
    bad = ~target.isin([0, 1])
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise DataError(f"{path}: {TARGET_COLUMN} must be 0 or 1 on every row; {int(bad.sum())} rows are not "
                        f"(first at line {line})")
    if ID_COLUMN in frame:
        frame = frame.set_index(ID_COLUMN)
    else:
        log.warning("%s has no %s column: rows are identified by their line numbers", path, ID_COLUMN)
        frame.index = pd.RangeIndex(2, len(frame) + 2, name=ID_COLUMN)
    text = [c for c in frame.columns if not (pd.api.types.is_numeric_dtype(frame[c])
                                             or pd.api.types.is_bool_dtype(frame[c]))]
    if text:
        raise DataError(f"{path}: features must be numbers; columns {', '.join(map(str, text[:5]))} are not "
                        f"(one-hot encode categories as <COLUMN>_<category>)")
    frame = frame.astype(np.float64)
    infinite = [c for c in frame.columns if np.isinf(frame[c].to_numpy()).any()]
    if infinite:
        raise DataError(f"{path}: infinite values in {', '.join(infinite[:5])}")
    source = {"kind": FEATURES, "file": str(path), "row_counts": {FEATURES: len(frame)}}
    return frame, target.to_numpy(dtype=int), source
