"""`inference.py --cluster`: score a folder or glob of Parquet/CSV files on Dask, file by file.

Each input file is one task that runs the single-process batch scorer (`serving.batch.score_file`:
same validation, features, model and output format) into ``OUT/part-<i>.csv`` (and
``part-<i>.errors.csv``), so a worker holds one file's rows at a time and the scores equal the
single-process ones. A task only writes its own part and rewrites it from scratch when run again,
so a task retried after a lost worker leaves no partial or repeated rows.

Child tables, for application-like input, come from a partitioned dataset (`--data-dir`, written
by `python -m scoring.partition`): the task reads only the parts its applicants belong to, and
within them only their rows (a Parquet filter). A file written part by part (its applicants in
one part) reads one part. An applicant repeated across files is scored once: the first file (in
name order) keeps it, later ones list it among the errors, as a file repeating an applicant does.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import glob
import logging
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster import connect, parse_spec
from cluster.features import is_layout, open_layout
from scoring import data
from scoring.artifacts import verify_manifest
from scoring.partition import part_name, part_of
from scoring.schema import BUREAU, BUREAU_BALANCE, CHILD_TABLES, ID_COLUMN, TABLE_EXTENSIONS
from scoring.tables import BUREAU_ID
from serving.backends import BATCH_RUN_ROW_BACKEND
from serving.batch import BatchInputError, detect_kind, score_file
from serving.predictor import Predictor

log = logging.getLogger(__name__)

ERRORS_FILE = "errors.csv"


@dataclass
class ClusterBatchReport:
    output_dir: Path
    files: int = 0
    rows: int = 0
    scored: int = 0
    high_risk: int = 0
    errors: list[tuple[str, int | str, str, str]] = field(default_factory=list)  # file, line, id, reason

    @property
    def errors_path(self) -> Path:
        return self.output_dir / ERRORS_FILE


def input_files(spec: str | Path) -> list[Path]:
    """The .csv / .csv.gz / .parquet files of a folder, or matching a glob, in name order."""
    path = Path(spec)
    candidates = sorted(path.iterdir()) if path.is_dir() else sorted(Path(p) for p in glob.glob(str(spec)))
    files = [p for p in candidates if p.is_file() and p.name.endswith(TABLE_EXTENSIONS)]
    if not files:
        raise BatchInputError(f"{spec}: no {' / '.join(TABLE_EXTENSIONS)} file to score (a folder or a glob)")
    return files


_LOADING = threading.Lock()


def _predictor(model_dir: str, version: str):
    """The model, loaded once per worker process (`version` keys the cache to the artifacts): the worker
    threads that ask for it at the same time wait for one load."""
    with _LOADING:
        return _load_predictor(model_dir, version)


def _warm(model_dir: str, version: str) -> None:
    """Load the model ahead of the tasks; a failure is theirs to report (the first task raises it again)."""
    with contextlib.suppress(Exception):
        _predictor(model_dir, version)


@functools.lru_cache(maxsize=2)
def _load_predictor(model_dir: str, version: str):
    return Predictor.from_dir(model_dir, row_backend=BATCH_RUN_ROW_BACKEND)


def _columns(path: Path) -> list[str]:
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)


def _ids(path: Path) -> np.ndarray:
    """The valid integer SK_ID_CURR of a file (invalid ones are the scorer's to report)."""
    raw = (pd.read_parquet(path, columns=[ID_COLUMN])[ID_COLUMN] if path.name.endswith(".parquet")
           else pd.read_csv(path, usecols=[ID_COLUMN], dtype=str, encoding="utf-8-sig")[ID_COLUMN])
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    values = values[np.isfinite(values) & (values == np.round(values))]
    return np.unique(values.astype("int64"))


def _children_dir(path: Path, layout_dir: Path, parts: int, scratch: Path) -> Path:
    """A data folder with the child rows of the applicants of `path`: their part, or a gathered copy."""
    ids = _ids(path)
    wanted = np.unique(part_of(ids, parts))
    if wanted.size == 1:
        return layout_dir / part_name(int(wanted[0]))
    bureau_ids = None
    for name in CHILD_TABLES:
        files = [layout_dir / part_name(int(p)) / f"{name}.parquet" for p in wanted]
        if not all(f.is_file() for f in files):
            continue  # an absent table stays absent
        key, values = ((BUREAU_ID, bureau_ids) if name == BUREAU_BALANCE else (ID_COLUMN, ids))
        rows = pd.concat([pd.read_parquet(f, filters=[(key, "in", values.tolist())]) for f in files],
                         ignore_index=True)
        if name == BUREAU:
            bureau_ids = rows[BUREAU_ID].to_numpy()
        rows.to_parquet(scratch / f"{name}.parquet", index=False)
    return scratch


def score_part(index: int, path: str, output_dir: str, model_dir: str, version: str, data_dir: str | None,
               parts: int | None, chunk_size: int) -> dict[str, Any]:
    """One task: score one input file into part-<index>.csv; a summary with the scored ids."""
    path, output = Path(path), Path(output_dir) / f"{part_name(index)}.csv"
    predictor = _predictor(model_dir, version)
    with tempfile.TemporaryDirectory(prefix="children-") as scratch:
        try:
            children = Path(data_dir) if data_dir else None
            try:
                columns = _columns(path)
            except (ValueError, OSError):
                columns = []  # the scorer below says what is wrong with the file
            if parts and ID_COLUMN in columns and detect_kind(columns, predictor.features) == "application":
                children = _children_dir(path, Path(data_dir), parts, Path(scratch))
            report = score_file(path, output, predictor=predictor, data_dir=children, chunk_size=chunk_size,
                                progress=False)
        except (BatchInputError, data.DataError, OSError, ValueError) as exc:
            return {"file": str(path), "failed": str(exc), "ids": np.empty(0, dtype="int64")}
    has_ids = ID_COLUMN in pd.read_csv(output, nrows=0).columns  # rows without ids are named by their line
    scored = (pd.read_csv(output, usecols=[ID_COLUMN])[ID_COLUMN].to_numpy(dtype="int64") if has_ids
              else np.empty(0, dtype="int64"))
    return {"file": str(path), "output": str(output), "rows": report.rows, "scored": report.scored,
            "high_risk": report.high_risk, "errors": [(e.line, e.applicant, e.reason) for e in report.errors],
            "ids": scored}


def drop_repeated(output: str, path: str, ids: np.ndarray) -> list[tuple[int, str]]:
    """Remove `ids` (scored from an earlier file) from a part; their (line, id) in the input file."""
    frame = pd.read_csv(output, dtype={ID_COLUMN: "int64", "score": str})
    frame.loc[~frame[ID_COLUMN].isin(ids)].to_csv(output, index=False)
    raw = (pd.read_parquet(path, columns=[ID_COLUMN])[ID_COLUMN] if path.endswith(".parquet")
           else pd.read_csv(path, usecols=[ID_COLUMN], dtype=str, encoding="utf-8-sig")[ID_COLUMN])
    numbers = pd.to_numeric(raw, errors="coerce")
    lines = []
    for sid in ids:
        first = int(np.flatnonzero((numbers == sid).to_numpy())[0])
        lines.append((first + 2, str(raw.iloc[first])))
    return lines


def _cross_file_repeats(results: list[dict[str, Any]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{file index: (ids scored in an earlier file, index of that earlier file)}."""
    owner: dict[int, int] = {}
    repeats = {}
    for i, result in enumerate(results):
        ids = result["ids"]
        earlier = np.array([owner.get(int(s), -1) for s in ids], dtype="int64") if owner else np.full(len(ids), -1)
        if (earlier >= 0).any():
            repeats[i] = (ids[earlier >= 0], earlier[earlier >= 0])
        owner.update((int(s), i) for s in ids[earlier < 0])
    return repeats


def score_on_cluster(inputs: str | Path, output_dir: str | Path, *, cluster: str, model_dir: str | Path,
                     data_dir: str | Path | None = None, chunk_size: int = 5_000,
                     progress: bool = True) -> ClusterBatchReport:
    """Score every file of `inputs` on the cluster into `output_dir` (parts + errors.csv)."""
    from tqdm.auto import tqdm

    parse_spec(cluster)  # a typo fails before any work
    files = input_files(inputs)
    model_dir = Path(model_dir).resolve()
    version = str(verify_manifest(model_dir)["model_version"])
    parts = open_layout(data_dir).parts if is_layout(data_dir) else None
    if data_dir is not None and parts is None:
        log.warning("%s is not a partitioned dataset: every task loads its child tables whole "
                    "(python -m scoring.partition bounds that)", data_dir)
    output_dir = Path(output_dir)
    report = ClusterBatchReport(output_dir=output_dir, files=len(files))
    results: list[dict[str, Any]] = [{}] * len(files)
    if parse_spec(cluster).get("local"):  # the worker runs in this process: its model loads while the cluster starts
        threading.Thread(target=_warm, args=(str(model_dir), version), name="load-model", daemon=True).start()
    from distributed import as_completed

    with connect(cluster, in_process=True) as client:
        # only once the cluster answers: an unreachable scheduler leaves no folder and an earlier run's parts
        output_dir.mkdir(parents=True, exist_ok=True)
        for stale in output_dir.glob("part-*.csv"):
            stale.unlink()
        futures = client.map(score_part, range(len(files)), [str(f.resolve()) for f in files],
                             output_dir=str(output_dir.resolve()), model_dir=str(model_dir), version=version,
                             data_dir=str(Path(data_dir).resolve()) if data_dir else None, parts=parts,
                             chunk_size=chunk_size, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        with tqdm(total=len(files), desc="scoring (dask)", unit="file", disable=not progress) as bar:
            for future in as_completed(futures):
                results[index[future.key]] = future.result()
                bar.update()
        repeats = _cross_file_repeats(results)
        dropped = {i: client.submit(drop_repeated, results[i]["output"], results[i]["file"], ids, pure=False)
                   for i, (ids, _) in repeats.items()}
        dropped = {i: future.result() for i, future in dropped.items()}
    for i, result in enumerate(results):
        name = Path(result["file"]).name
        if "failed" in result:
            report.errors.append((name, "", "", result["failed"]))
            continue
        report.rows += result["rows"]
        report.scored += result["scored"]
        report.high_risk += result["high_risk"]
        report.errors.extend((name, line, sid, reason) for line, sid, reason in result["errors"])
        if i in dropped:
            report.scored -= len(dropped[i])
            earlier = repeats[i][1]
            report.errors.extend((name, line, sid, f"{ID_COLUMN} {sid} appears earlier in the input "
                                  f"({Path(results[j]['file']).name})") for (line, sid), j in zip(dropped[i], earlier,
                                                                                                   strict=True))
    if dropped:  # a removed repeat may have been high risk: count from the parts as written
        report.high_risk = sum(int(pd.read_csv(r["output"], usecols=["prediction"])["prediction"].sum())
                               for r in results if "output" in r)
    if report.errors:
        with open(report.errors_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(("file", "line", ID_COLUMN, "reason"))
            writer.writerows(report.errors)
    elif report.errors_path.exists():
        report.errors_path.unlink()
    return report
