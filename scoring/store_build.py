"""Build the feature store (`scoring.store`) from the lender's tables, and find the default one.

The rows come from the same `scoring.features.build_features` as training, over the training
applicants and the `application_test` ones (the Kaggle files when present, else the synthetic
twin's). The file is written to a temporary name beside the target and renamed into place, so a
reader never sees half a store. `open_default_store` opens the store of a model folder and, for
a model trained on the twin (the committed default), builds it deterministically when missing.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring import config
from scoring.artifacts import model_version_of
from scoring.data import (
    DataError,
    Tables,
    find_table,
    load_child_tables,
    load_tables,
    read_application_file,
    table_file_name,
)
from scoring.features import align_features, build_features
from scoring.schema import (
    APPLICATION_TEST,
    APPLICATION_TRAIN,
    FEATURES_FILE,
    ID_COLUMN,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    TARGET_COLUMN,
    THRESHOLD_FILE,
)
from scoring.store import CODECS, STORE_FORMAT, FeatureStore, StoreError

log = logging.getLogger(__name__)

CHUNK_ROWS = 20_000
# SQLite page size and codec of the stored values: zlib (level 1) makes a row ~2.6x smaller (1.6 KB of
# floats and 0.7 KB of raw fields -> ~0.9 KB) for ~10 us per look-up; 16 KB pages leave less unused space.
# benchmarks/bench_store.py measures each choice.
PAGE_SIZE = 16_384
CODEC = "zlib"


def _raw_lists(app: pd.DataFrame) -> list[list[Any]]:
    """Rows of `app` as lists of plain Python values (missing -> None), exact for floats."""
    out = app.astype(object).where(app.notna(), None)
    return out.to_numpy().tolist()


def _complete_features(tables: Tables, frame: pd.DataFrame | None, *, progress: bool) -> pd.DataFrame:
    """`frame` with the rows of the applicants of `tables` it lacks, computed by `build_features`."""
    if frame is None:
        return build_features(tables, progress=progress)
    ids = tables.application[ID_COLUMN].to_numpy()
    missing = ids[~np.isin(ids, frame.index.to_numpy())]
    if not len(missing):
        return frame
    rest = build_features(tables.restrict(missing), progress=progress)  # aggregates are per applicant
    return pd.concat([frame, rest.reindex(columns=frame.columns)])


def build_store(tables: Tables, features_frame: pd.DataFrame | None, feature_names: list[str], model_version: str,
                path: str | Path, *, progress: bool = True, info: dict[str, Any] | None = None,
                page_size: int = PAGE_SIZE, codec: str = CODEC) -> Path:
    """Write the store of every applicant of `tables.application` to `path` (atomically); returns `path`.

    `features_frame`: `build_features` rows already computed (indexed by SK_ID_CURR; e.g. training's, for
    its applicants), or None; the applicants it lacks are computed here from `tables`.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    path = Path(path)
    app = tables.application
    if app[ID_COLUMN].duplicated().any():
        raise DataError(f"{ID_COLUMN} {app.loc[app[ID_COLUMN].duplicated(), ID_COLUMN].iloc[0]} appears twice")
    features_frame = _complete_features(tables, features_frame, progress=progress)
    rows = align_features(features_frame, feature_names).reindex(app[ID_COLUMN].to_numpy())
    matrix = np.ascontiguousarray(rows.to_numpy(dtype=np.float32))
    raw = app.drop(columns=[TARGET_COLUMN], errors="ignore")
    raw_columns = [c for c in raw.columns if c != ID_COLUMN]
    order = np.argsort(app[ID_COLUMN].to_numpy(), kind="stable")  # appended in key order: a compact B-tree
    ids = app[ID_COLUMN].to_numpy(dtype="int64")

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    if codec not in CODECS:
        raise ValueError(f"codec {codec!r}: expected one of {', '.join(CODECS)}")
    encode = (lambda data: zlib.compress(data, 1)) if codec == "zlib" else (lambda data: data)
    meta = {
        "format": str(STORE_FORMAT),
        "codec": codec,
        "model_version": model_version,
        "features": json.dumps(list(feature_names)),
        "raw_columns": json.dumps(raw_columns),
    }
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute(f"PRAGMA page_size = {int(page_size)}")
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("CREATE TABLE applicants (sk_id_curr INTEGER PRIMARY KEY, row BLOB NOT NULL, "
                         "raw BLOB NOT NULL)")
            bar = tqdm(total=len(order), desc="feature store", unit="applicant", file=sys.stderr,
                       disable=not progress)
            for start in range(0, len(order), CHUNK_ROWS):
                chunk = order[start:start + CHUNK_ROWS]
                values = _raw_lists(raw.iloc[chunk][raw_columns])
                conn.executemany("INSERT INTO applicants VALUES (?, ?, ?)", (
                    (int(ids[i]), encode(matrix[i].tobytes()),
                     encode(json.dumps(v, separators=(",", ":"), allow_nan=False).encode()))
                    for i, v in zip(chunk, values, strict=True)))
                bar.update(len(chunk))
            bar.close()
            meta["info"] = json.dumps({**(info or {}), "applicants": int(len(order)),
                                       "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                       "build_seconds": round(time.perf_counter() - started, 1)})
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.commit()
        finally:
            conn.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp made it private; the store is read by the app's user
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("feature store: %d applicants written to %s in %.1f s", len(order), path, time.perf_counter() - started)
    return path


# --- The tables a store is built from --------------------------------------------------------


def with_test_applicants(tables: Tables, test_application: pd.DataFrame | None) -> Tables:
    """`tables` whose application table also holds the `application_test` applicants (no TARGET)."""
    if test_application is None or test_application.empty:
        return tables
    train = tables.application.drop(columns=[TARGET_COLUMN], errors="ignore")
    return replace(tables, application=pd.concat([train, test_application], ignore_index=True))


def kaggle_tables(data_dir: str | Path, *, progress: bool = True) -> Tables:
    """The Kaggle-named tables of `data_dir`: application_train and application_test together (either may
    be absent, not both; TARGET is not needed), with the child tables found there."""
    data_dir = Path(data_dir)
    train = find_table(data_dir, APPLICATION_TRAIN)
    test = find_table(data_dir, APPLICATION_TEST)
    if train is None and test is None:
        raise DataError(f"{data_dir}: no {table_file_name(APPLICATION_TRAIN)} nor {table_file_name(APPLICATION_TEST)}"
                        f" (.csv / .csv.gz / .parquet): nothing to build a feature store from")
    if train is None:
        return Tables(application=read_application_file(test), **load_child_tables(data_dir))
    tables = load_tables(data_dir, require_target=False, progress=progress)
    return with_test_applicants(tables, read_application_file(test) if test is not None else None)


def twin_tables(applicants: int, seed: int, *, progress: bool = True) -> Tables:
    """The synthetic twin (`applicants`, `seed`) with its application_test applicants."""
    from scoring import synthetic  # the generator needs pyarrow, which the served image does not install

    twin = synthetic.generate(applicants, seed, progress=progress, test_applicants=synthetic.DEFAULT_TEST_APPLICANTS)
    return with_test_applicants(twin.tables, twin.test_application)


# --- The store of a model folder ---------------------------------------------------------------


def model_identity(model_dir: str | Path) -> tuple[str, list[str], dict[str, Any]]:
    """(model_version, features, data_source of metrics.json) of a model folder, without loading the model."""

    model_dir = Path(model_dir)
    try:
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        features = [line for line in (model_dir / FEATURES_FILE).read_text(encoding="utf-8").splitlines() if line]
        threshold = json.loads((model_dir / THRESHOLD_FILE).read_text(encoding="utf-8"))
        metrics = json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))
        version = model_version_of(manifest["files"][MODEL_FILE], features, threshold)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{model_dir}: cannot read the model's identity ({exc})") from exc
    return version, features, metrics.get("data_source") or {}


def build_model_store(model_dir: str | Path, path: str | Path, *, data_dir: str | Path | None = None,
                      applicants: int | None = None, seed: int | None = None, progress: bool = True) -> Path:
    """Build the store of the model in `model_dir` from the tables of `data_dir`, or else from the synthetic
    twin: by default the one the model was trained on (its metrics.json data source), deterministic."""
    version, features, source = model_identity(model_dir)
    if data_dir is not None:
        tables = kaggle_tables(data_dir, progress=progress)
        info: dict[str, Any] = {"kind": "tables", "data_dir": str(data_dir)}
    else:
        trained_on_twin = source.get("kind") == "synthetic"
        if applicants is None:
            applicants = int(source["applicants"]) if trained_on_twin else config.DEFAULT_SYNTHETIC_APPLICANTS
        if seed is None:
            seed = int(source["seed"]) if trained_on_twin else config.DEFAULT_SEED
        tables = twin_tables(applicants, seed, progress=progress)
        info = {"kind": "synthetic", "applicants": applicants, "seed": seed}
    return build_store(tables, None, features, version, path, progress=progress, info={"source": info})


def open_default_store(model_dir: str | Path | None = None, *, build: bool = True) -> tuple[FeatureStore | None, str]:
    """The store of the model in `model_dir` (default `config.model_dir()`) at `config.feature_store_path`,
    and "" — or None and the reason it is absent, for /health.

    With `build`, a missing or outdated store at the default path of a model trained on the twin is
    built from the same twin first (deterministic; about half a minute at the default 30,000 applicants).
    `FEATURE_STORE` set to a missing file is reported, never built.
    """
    model_dir = Path(model_dir if model_dir is not None else config.model_dir())
    path = config.feature_store_path(model_dir)
    explicit = config.settings().feature_store is not None
    try:
        version, features, source = model_identity(model_dir)
    except StoreError as exc:
        return None, str(exc)
    try:
        return FeatureStore.open(path, features=features, model_version=version), ""
    except StoreError as exc:
        reason = str(exc)
    if not build or explicit or source.get("kind") != "synthetic":
        return None, reason
    started = time.perf_counter()
    log.info("%s; building it from the synthetic twin the model was trained on", reason)
    try:
        build_model_store(model_dir, path, progress=False)
        store = FeatureStore.open(path, features=features, model_version=version)
    except (StoreError, DataError, OSError, sqlite3.Error) as exc:
        return None, f"{reason}; building it from the twin failed: {exc}"
    log.info("feature store built at %s in %.1f s", path, time.perf_counter() - started)
    return store, ""
