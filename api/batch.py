"""Batch scoring of a CSV file, in chunks, with the serving predictor.

The input is either application-like rows (raw Home Credit columns; the child tables come from a
data folder) or an already-engineered features file (columns named as in `features.txt`). Rows
that cannot be scored are never dropped silently: each is reported with its line number and the
reason, in an errors file beside the output and on stderr.
"""

from __future__ import annotations

import csv
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from scoring import data, features
from scoring.schema import APPLICATION_TEST, ID_COLUMN, TARGET_COLUMN, label_for, prediction_for

DEFAULT_CHUNK_SIZE = 5_000
OUTPUT_COLUMNS = (ID_COLUMN, "score", "prediction", "label")
# An input with at least this share of the model's feature names is taken as a features file.
FEATURES_FILE_SHARE = 0.5


class BatchInputError(ValueError):
    """The input file cannot be used at all (unreadable, no header, no ID column...)."""


@dataclass(frozen=True)
class RowError:
    line: int  # line number in the input file (the header is line 1)
    applicant: str  # the row's SK_ID_CURR as written, or "" when absent
    reason: str


@dataclass
class BatchReport:
    kind: str  # "application" or "features"
    output: Path
    errors_path: Path
    rows: int = 0
    scored: int = 0
    high_risk: int = 0
    errors: list[RowError] = field(default_factory=list)


def _chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The input as text, chunk by chunk (numbers are parsed per row later, to report bad ones)."""
    try:
        if path.name.endswith(".parquet"):
            frame = pd.read_parquet(path)
            for start in range(0, len(frame), chunk_size):
                yield frame.iloc[start:start + chunk_size].astype("object").where(lambda f: f.notna(), None)
            return
        yield from pd.read_csv(path, dtype=str, encoding="utf-8-sig", chunksize=chunk_size, keep_default_na=True)
    except FileNotFoundError as exc:
        raise BatchInputError(f"{path}: file not found") from exc
    except pd.errors.EmptyDataError as exc:
        raise BatchInputError(f"{path}: the file is empty; expected a CSV with a header line") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise BatchInputError(f"{path}: cannot be read as CSV ({exc})") from exc


def detect_kind(columns: list[str], model_features: list[str]) -> str:
    """'features' when the file carries most of the model's columns, else 'application'."""
    known = set(model_features)
    share = sum(c in known for c in columns) / max(len(known), 1)
    return "features" if share >= FEATURES_FILE_SHARE else "application"


def _numeric_columns(kind: str, columns: list[str]) -> list[str]:
    if kind == "features":
        return [c for c in columns if c != ID_COLUMN]
    schema = data.COLUMNS[APPLICATION_TEST]
    return [c for c in columns if schema.get(c) in ("int", "float") and c != ID_COLUMN]


def _validate_rows(chunk: pd.DataFrame, kind: str, first_line: int, seen: set[str]) -> tuple[pd.Series, list[RowError]]:
    """Mask of usable rows and the errors of the others (one reason per row, the first found)."""
    reasons = pd.Series("", index=chunk.index, dtype=object)
    ids = chunk[ID_COLUMN]
    as_int = pd.to_numeric(ids, errors="coerce")
    bad_id = ids.isna() | as_int.isna() | (as_int != np.round(as_int))
    reasons[bad_id] = f"{ID_COLUMN} must be an integer; got " + ids[bad_id].map(repr)
    reasons[ids.isna()] = f"{ID_COLUMN} is empty"
    for col in _numeric_columns(kind, list(chunk.columns)):
        values = chunk[col]
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & (numbers.isna() | np.isinf(numbers.fillna(0)))
        fresh = bad & (reasons == "")
        reasons[fresh] = f"column {col} must hold a finite number; got " + values[fresh].map(repr)
    errors: list[RowError] = []
    for pos, (idx, reason) in enumerate(reasons.items()):
        sid = "" if pd.isna(ids[idx]) else str(ids[idx])
        if not reason and sid in seen:
            reason = f"{ID_COLUMN} {sid} appears earlier in the file"
        if reason:
            errors.append(RowError(first_line + pos, sid, reason))
            reasons[idx] = reason
        else:
            seen.add(sid)
    return reasons == "", errors


def load_children(data_dir: Path | None) -> data.Tables:
    """The six child tables of `data_dir` (absent ones None, with a warning)."""
    empty = pd.DataFrame({ID_COLUMN: pd.Series(dtype="int64")})
    if data_dir is None:
        warnings.warn("no --data-dir: the child-table features of every applicant are missing (NaN)", stacklevel=2)
        return data.Tables(application=empty)
    return data.Tables(application=empty, **data.load_child_tables(Path(data_dir)))


def _features_of(chunk: pd.DataFrame, kind: str, children: data.Tables | None,
                 model_features: list[str], source: Path) -> pd.DataFrame:
    if kind == "features":
        frame = chunk.set_index(pd.to_numeric(chunk[ID_COLUMN]).astype("int64")).drop(columns=[ID_COLUMN])
        frame = frame.apply(pd.to_numeric)
    else:
        app = data.coerce_table(chunk.drop(columns=[TARGET_COLUMN], errors="ignore"), source, APPLICATION_TEST)
        tables = replace(children.restrict(app[ID_COLUMN].to_numpy()), application=app)
        frame = features.build_features(tables, progress=False)
    return features.align_features(frame, model_features)


def score_file(input_path: Path, output: Path, *, predictor, data_dir: Path | None = None,
               chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = True) -> BatchReport:
    """Score every row of `input_path` into `output` (CSV); rows that fail go to `<output>.errors.csv`."""
    input_path, output = Path(input_path), Path(output)
    errors_path = output.with_name(output.stem + ".errors.csv")
    chunks = _chunks(input_path, chunk_size)
    try:
        first = next(chunks)
    except StopIteration as exc:
        raise BatchInputError(f"{input_path}: no rows to score") from exc
    if ID_COLUMN not in first.columns:
        raise BatchInputError(f"{input_path}: column {ID_COLUMN} is missing; every row needs the applicant's id")
    kind = detect_kind(list(first.columns), predictor.features)
    report = BatchReport(kind=kind, output=output, errors_path=errors_path)
    children = load_children(data_dir) if kind == "application" else None
    output.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    line = 2
    with open(output, "w", newline="", encoding="utf-8") as out, \
            tqdm(desc="scoring", unit="row", file=sys.stderr, disable=not progress) as bar:
        writer = csv.writer(out)
        writer.writerow(OUTPUT_COLUMNS)
        for chunk in chain([first], chunks):
            chunk = chunk.reset_index(drop=True)
            ok, errors = _validate_rows(chunk, kind, line, seen)
            report.errors.extend(errors)
            good = chunk[ok.to_numpy()]
            if len(good):
                frame = _features_of(good, kind, children, predictor.features, input_path)
                scores = predictor.predict_many(frame)
                for sid, score in zip(frame.index, scores, strict=True):
                    pred = prediction_for(score, predictor.threshold)
                    writer.writerow((int(sid), f"{score:.6f}", pred, label_for(score, predictor.threshold)))
                    report.high_risk += pred
                report.scored += len(frame)
            report.rows += len(chunk)
            line += len(chunk)
            bar.update(len(chunk))
    if report.errors:
        with open(errors_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(("line", ID_COLUMN, "reason"))
            writer.writerows((e.line, e.applicant, e.reason) for e in report.errors)
    elif errors_path.exists():
        errors_path.unlink()  # a stale report from an earlier run would mislead
    return report

