"""Features on the cluster: `scoring.features.build_features` mapped over co-partitioned tables.

The data folder is a layout written by `python -m scoring.partition` (`_partitioning.json` and
one folder per part holding every row of its applicants in all seven tables). Each part is
loaded and featurised by one task with the single-process code (`scoring.data.load_tables`,
`scoring.features.build_features`), so a worker's memory grows with the size of a part, not with
the data set, and the feature definitions exist once.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import data, features
from scoring.partition import PARTITIONING_FILE, TRUE_PROBABILITY_COLUMN, part_name
from scoring.schema import APPLICATION_TRAIN, TARGET_COLUMN
from scoring.tables import empty_table

RERUN = "re-run python -m scoring.partition"


@dataclass(frozen=True)
class Layout:
    directory: Path
    parts: int
    tables: dict[str, int]  # rows per table
    source: dict

    def part_dir(self, part: int) -> Path:
        return self.directory / part_name(part)


def is_layout(data_dir: str | Path | None) -> bool:
    return data_dir is not None and (Path(data_dir) / PARTITIONING_FILE).is_file()


def open_layout(data_dir: str | Path) -> Layout:
    """The partitioned dataset of `data_dir`, or a `DataError` that says how to write one."""
    data_dir = Path(data_dir)
    path = data_dir / PARTITIONING_FILE
    if not path.is_file():
        raise data.DataError(
            f"{data_dir}: not a partitioned dataset ({PARTITIONING_FILE} missing); the cluster reads the "
            f"tables partitioned by applicant: python -m scoring.partition --data-dir {data_dir} "
            f"--out {data_dir / 'parquet'}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        layout = Layout(data_dir, int(doc["parts"]), dict(doc["tables"]), dict(doc.get("source", {})))
    except (ValueError, KeyError, TypeError) as exc:
        raise data.DataError(f"{path}: not a partitioning document ({exc}); {RERUN}") from exc
    missing = [part_name(p) for p in range(layout.parts) if not layout.part_dir(p).is_dir()]
    if missing:
        raise data.DataError(f"{data_dir}: parts {', '.join(missing[:5])} are missing; {RERUN}")
    return layout


def part_features(part_dir: str | Path, application: str = APPLICATION_TRAIN, *,
                  labelled: bool = True) -> pd.DataFrame:
    """Features of one part (index SK_ID_CURR), with TARGET (and the twin's true probability)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an absent optional table is expected (features NaN)
        tables = data.load_tables(part_dir, application=application, require_target=labelled, progress=False)
    frame = features.build_features(tables, progress=False)
    if labelled:
        app = tables.application.set_index(data.ID_COLUMN)
        truth = app.get(TRUE_PROBABILITY_COLUMN, np.nan)
        labels = pd.DataFrame({TARGET_COLUMN: app[TARGET_COLUMN].astype("float64"),
                               TRUE_PROBABILITY_COLUMN: pd.Series(truth, index=app.index, dtype="float64")})
        frame = pd.concat([frame, labels.reindex(frame.index)], axis=1)
    return frame.copy()  # one block: cheaper to move and to hand to XGBoost


def _meta(labelled: bool) -> pd.DataFrame:
    empty = features.build_features(data.Tables(application=empty_table(APPLICATION_TRAIN)), progress=False)
    if labelled:
        labels = pd.DataFrame({TARGET_COLUMN: [], TRUE_PROBABILITY_COLUMN: []}, dtype="float64", index=empty.index)
        empty = pd.concat([empty, labels], axis=1)
    return empty


def feature_frame(layout: Layout, application: str = APPLICATION_TRAIN, *, labelled: bool = True):
    """A dask DataFrame of features, one partition per part of the layout (nothing computed yet)."""
    import dask.dataframe as dd

    dirs = [str(layout.part_dir(p)) for p in range(layout.parts)]
    return dd.from_map(part_features, dirs, application=application, labelled=labelled,
                       meta=_meta(labelled), label="features", enforce_metadata=False)
