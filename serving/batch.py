"""Batch scoring of a file (CSV, .csv.gz or Parquet), in bounded chunks, with the serving predictor.

The input is either application-like rows (raw Home Credit columns; the child tables come from a
data folder) or an already-engineered features file (columns named as in `features.txt`); any
other table (e.g. bureau.csv) is refused. Rows that cannot be scored are never dropped silently:
each is reported with its line number and the reason, in `<output stem>.errors.csv` beside the
output and on stderr.

Both cores: two threads parse the next chunks (`serving.batch_read`; pyarrow works without the GIL)
while this one checks (`serving.batch_check`), scores and writes the current one. At most three
chunks wait, so memory depends on the chunk size, not on the file's size.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from scoring import data, features, tables
from scoring.child_spill import PIECE_SIZE, ChildSpill
from scoring.master_scale import LETTERS, grade_index
from scoring.schema import (
    APPLICATION_TEST,
    CHILD_TABLES,
    ID_COLUMN,
    LABEL_HIGH_RISK,
    LABEL_LOW_RISK,
    OUT_OF_RANGE_KEY,
    TARGET_COLUMN,
)
from serving.batch_check import Checked, Layout, RowError, SeenIds, check_chunk, malformed_errors, numbers_of
from serving.batch_read import Chunk, InputFileError, is_parquet, read_chunks, read_header
from serving.rules import Rules

DEFAULT_CHUNK_SIZE = 20_000
LINE_COLUMN = "line"  # the identifier column of the output when the input has no SK_ID_CURR
# The output column naming the features of a row past their training range (scored, flagged: serving.rules),
# joined by ";"; empty when none. The same word as the answers' and the log's key.
OUT_OF_RANGE_COLUMN = OUT_OF_RANGE_KEY
OUTPUT_COLUMNS = (ID_COLUMN, "score", "prediction", "label", "review", "grade")
UTF8_BOM = b"\xef\xbb\xbf"
ERRORS_SUFFIX = ".errors.csv"
# An input with at least this share of the model's feature names is taken as a features file.
FEATURES_FILE_SHARE = 0.5

__all__ = ["BatchInputError", "BatchReport", "RowError", "detect_kind", "errors_path_for", "score_file"]


class BatchInputError(ValueError):
    """The input file cannot be used at all (unreadable, no header, no ID column, not applicants...)."""


@dataclass
class BatchReport:
    kind: str  # "application" or "features"
    output: Path
    errors_path: Path
    rows: int = 0
    scored: int = 0
    high_risk: int = 0
    review: int = 0
    errors: list[RowError] = field(default_factory=list)


def errors_path_for(output: Path) -> Path:
    """Where the refused rows of `output` are listed: ``scores.csv`` -> ``scores.errors.csv``."""
    output = Path(output)
    return output.with_name(output.stem + ERRORS_SUFFIX)


def _child_table_of(columns: list[str]) -> str | None:
    """The child table (bureau, previous_application...) the columns belong to, if any."""
    own = set(columns) - {ID_COLUMN, TARGET_COLUMN}
    application = len(own & set(tables.COLUMNS[APPLICATION_TEST]))
    best, hits = None, 0
    for name in CHILD_TABLES:
        n = len(own & (set(tables.COLUMNS[name]) - {ID_COLUMN}))
        if n > hits:
            best, hits = name, n
    return best if hits > application else None


def detect_kind(columns: list[str], model_features: list[str]) -> str:
    """'features' when the file carries most of the model's columns, 'application' when it has
    application columns; `BatchInputError` for anything else (a child table, unrelated columns)."""
    known = set(model_features)
    if sum(c in known for c in columns) / max(len(known), 1) >= FEATURES_FILE_SHARE:
        return "features"
    child = _child_table_of(columns)
    if child is not None:
        raise BatchInputError(
            f"this file looks like the {child} table, which is not a list of applicants: give it with the other "
            f"child tables through --data-dir, and as --input the applicants (application_test.csv) or a features file")
    if not set(columns) & (set(tables.COLUMNS[APPLICATION_TEST]) - {ID_COLUMN}):
        raise BatchInputError(
            "this file holds neither applicants nor features: expected application columns (such as AMT_CREDIT, "
            f"EXT_SOURCE_2, as in application_test.csv) or at least {FEATURES_FILE_SHARE:.0%} of the model's "
            "features (models/features.txt)")
    return "application"


@dataclass(frozen=True)
class _Plan:
    """What to read from the file and how."""

    kind: str
    names: list[str]  # the file's header
    read: list[str]  # the columns read
    types: dict[str, pa.DataType]  # their types for the fast CSV parse
    id_column: str | None
    numeric: list[str]  # the columns checked as numbers


def _plan(path: Path, names: list[str], model_features: list[str]) -> _Plan:
    if len(names) == 1 and ";" in names[0]:
        raise BatchInputError(f"{path}: the columns are separated by ';'; expected a CSV separated by commas")
    try:
        kind = detect_kind(names, model_features)
    except BatchInputError as exc:
        raise BatchInputError(f"{path}: {exc}") from exc
    id_column = ID_COLUMN if ID_COLUMN in names else None
    if kind == "features":
        known = set(model_features)
        numeric = [c for c in names if c in known]
        ignored = [c for c in names if c not in known and c != ID_COLUMN]
        if ignored:
            more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
            shown = ", ".join(repr(c) for c in ignored[:5]) + more
            warnings.warn(f"{path}: columns {shown} are not model features: ignored", stacklevel=3)
        if id_column is None:
            warnings.warn(f"{path}: no {ID_COLUMN} column: rows are identified by their line number "
                          f"(column {LINE_COLUMN!r} of the output)", stacklevel=3)
        read = ([id_column] if id_column else []) + numeric
    else:
        if id_column is None:
            raise BatchInputError(f"{path}: column {ID_COLUMN} is missing; every applicant needs its id to find "
                                  "its rows in the child tables")
        schema = tables.COLUMNS[APPLICATION_TEST]
        numeric = [c for c in names if schema.get(c) in ("int", "float") and c != ID_COLUMN]
        read = list(dict.fromkeys(names))
    types = {c: pa.float64() for c in numeric} | {c: pa.string() for c in read if c not in numeric}
    if id_column:
        types[id_column] = pa.int64()
    return _Plan(kind, names, read, types, id_column, numeric)


def _input_ids(path: Path, names: list[str], chunk_size: int) -> np.ndarray:
    """The applicant ids of the input in file order (rows whose id is not an integer left out: refused later)."""
    parts = []
    for chunk in read_chunks(path, names, [ID_COLUMN], {ID_COLUMN: pa.string()}, chunk_size):
        if chunk.table.num_rows:
            values, _ = data.parse_numbers(chunk.table.column(ID_COLUMN).to_pandas())
            parts.append(values[np.isfinite(values) & (values == np.round(values))].astype(np.int64))
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def load_children(data_dir: Path | None, input_path: Path, names: list[str], chunk_size: int) -> ChildSpill | None:
    """The child tables of `data_dir` for the applicants of the input, split on disk (`ChildSpill`), or
    None without a data folder (then every child feature is missing, with a warning)."""
    if data_dir is None:
        warnings.warn("no --data-dir: the child-table features of every applicant are missing (NaN)", stacklevel=2)
        return None
    return ChildSpill(data_dir, _input_ids(input_path, names, chunk_size), min(PIECE_SIZE, chunk_size))


def _layout(plan: _Plan, predictor) -> Layout:
    if plan.kind == "features":  # the matrix the predictor scores: model order, float32, absent columns NaN
        # The model's rules, as at every door: impossible values refused, values past the training range flagged
        rules = Rules.compile(predictor.features, predictor.artifacts.reference.get("ranges", {}))
        return Layout(plan.numeric, [predictor.index[c] for c in plan.numeric], len(predictor.features), np.float32,
                      rules)
    return Layout(plan.numeric, list(range(len(plan.numeric))), len(plan.numeric), np.float64)


Scored = tuple[np.ndarray, np.ndarray, np.ndarray, list[RowError]]  # ids, scores, out_of_range, rows refused


class _Scorer:
    """Turns checked rows into (ids, scores, the features of each past its training range: "a;b", the rows
    refused once their features were built: an impossible value computed from a raw application).

    Application rows with spilled child tables: the rows of the last piece of a chunk wait for the next
    chunk (input chunks are cut by bytes, the spill's pieces by applicants), so each piece's child rows
    are read once and hold only applicants being scored; `finish` scores what still waits.
    """

    def __init__(self, plan: _Plan, predictor, children: ChildSpill | None, source: Path, rules: Rules):
        self.plan, self.predictor, self.children, self.source, self.rules = plan, predictor, children, source, rules
        self.waiting: pd.DataFrame | None = None
        self.line_of: dict[int, int] = {}  # the input line of each application row not scored yet

    def __call__(self, chunk: Chunk, checked: Checked) -> Scored:
        if self.plan.kind == "features":
            return checked.ids, self.predictor.score_matrix(checked.matrix), checked.out_of_range, []
        self.line_of.update(zip(checked.ids.tolist(), chunk.lines[checked.ok].tolist(), strict=True))
        others = [c for c in chunk.table.column_names if c not in set(self.plan.numeric) | {ID_COLUMN}]
        frame = chunk.table.select(others).filter(pa.array(checked.ok)).to_pandas()
        numbers = pd.DataFrame(checked.matrix, columns=self.plan.numeric, index=frame.index)
        frame = pd.concat([pd.DataFrame({ID_COLUMN: checked.ids}, index=frame.index), numbers, frame], axis=1)
        app = data.coerce_table(frame.drop(columns=[TARGET_COLUMN], errors="ignore"), self.source, APPLICATION_TEST)
        if self.children is None:
            return self._score(data.Tables(application=app))
        if self.waiting is not None:
            app = pd.concat([self.waiting, app], ignore_index=True)
        app, waiting = self.children.split_last_piece(app)
        self.waiting = waiting if len(waiting) else None
        return self._score(self.children.restrict(app))

    def finish(self) -> Scored:
        waiting, self.waiting = self.waiting, None
        if waiting is None or self.children is None:
            return np.empty(0, np.int64), np.empty(0), np.empty(0, dtype=object), []
        return self._score(self.children.restrict(waiting))

    def _score(self, tables: data.Tables) -> Scored:
        if not len(tables.application):
            return np.empty(0, np.int64), np.empty(0), np.empty(0, dtype=object), []
        aligned = features.align_features(features.build_features(tables, progress=False), self.predictor.features)
        aligned, errors = self._possible(aligned)
        flags = np.array([";".join(f) for f in self.rules.out_of_range_frame(aligned)], dtype=object)
        scores = self.predictor.predict_many(aligned) if len(aligned) else np.empty(0)
        return aligned.index.to_numpy(dtype=np.int64), scores, flags, errors

    def _possible(self, aligned: pd.DataFrame) -> tuple[pd.DataFrame, list[RowError]]:
        """The built rows without those holding an impossible value (the rules of every door, as a features
        file's), and why each of those is refused, with its input line."""
        lines = [self.line_of.pop(int(i), 0) for i in aligned.index]
        broken = self.rules.check_frame(aligned)
        refused = [i for i, row in enumerate(broken) if row]
        if not refused:
            return aligned, []
        errors = [RowError(lines[i], str(aligned.index[i]),
                           "; ".join(f"column {v.feature} (built from the tables): {v.message()}" for v in broken[i]))
                  for i in refused]
        return aligned.drop(index=aligned.index[refused]), errors


def _output_table(id_name: str, ids: np.ndarray, scores: np.ndarray, flags: np.ndarray,
                  predictor) -> tuple[pa.Table, int, int]:
    scores64 = np.asarray(scores, dtype=np.float64)
    high = scores64 >= predictor.threshold
    low_edge, high_edge = predictor.grey_zone
    review = (scores64 >= low_edge) & (scores64 <= high_edge)
    table = pa.table({
        id_name: pa.array(ids, pa.int64()),
        "score": pa.array(np.round(scores64, 6)),
        "prediction": pa.array(high.astype(np.int8)),
        "label": pc.if_else(pa.array(high), LABEL_HIGH_RISK, LABEL_LOW_RISK),
        "review": pa.array(review.astype(np.int8)),
        "grade": _grades(scores64, predictor.grade_edges),
        OUT_OF_RANGE_COLUMN: pa.array(flags, pa.string()),
    })
    return table, int(high.sum()), int(review.sum())


def _grades(scores: np.ndarray, edges: list[float] | None) -> pa.Array:
    """The master-scale grade of each score (null for a model without a master scale)."""
    if edges is None:
        return pa.nulls(len(scores), pa.string())
    letters = np.array(list(LETTERS[:len(edges) + 1]))
    return pa.array(letters[grade_index(edges, scores)], pa.string())


def _error_ids(errors: list[RowError]) -> pa.Array:
    """The errors file's SK_ID_CURR column: integers (empty when absent) when every id given is one, as the
    output writes them; else the ids as written (text)."""
    given = [e.applicant for e in errors]
    if all(a == "" or (a.lstrip("-").isdigit() and len(a) <= 18) for a in given):
        return pa.array([int(a) if a else None for a in given], pa.int64())
    return pa.array(given, pa.string())


def _write_errors(errors: list[RowError], path: Path) -> None:
    if errors:
        table = pa.table({"line": [e.line for e in errors], ID_COLUMN: _error_ids(errors),
                          "reason": [e.reason for e in errors]})
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    elif path.exists():
        path.unlink()  # a stale report from an earlier run would mislead


def score_file(input_path: Path, output: Path, *, predictor, data_dir: Path | None = None,
               chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = True) -> BatchReport:
    """Score every row of `input_path` into `output` (CSV); refused rows go to `errors_path_for(output)`.

    Output columns: SK_ID_CURR (or `line` when the input has no ids), score, prediction (1 = high
    risk), label, review (1 = in the grey zone around the threshold: to be studied by a person), grade (the
    master-scale risk grade, A = lowest risk), out_of_range (the features past the range seen in training,
    joined by ";": scored and flagged, see `serving.rules`).
    """
    input_path, output = Path(input_path), Path(output)
    try:
        names = read_header(input_path)
    except InputFileError as exc:
        raise BatchInputError(str(exc)) from exc
    plan = _plan(input_path, names, predictor.features)
    report = BatchReport(kind=plan.kind, output=output, errors_path=errors_path_for(output))
    seen = SeenIds()
    id_name = ID_COLUMN if plan.id_column else LINE_COLUMN
    schema = pa.schema([(id_name, pa.int64()), ("score", pa.float64()), ("prediction", pa.int8()),
                        ("label", pa.string()), ("review", pa.int8()), ("grade", pa.string()),
                        (OUT_OF_RANGE_COLUMN, pa.string())])
    total = pq.ParquetFile(input_path).metadata.num_rows if is_parquet(input_path) else None
    output.parent.mkdir(parents=True, exist_ok=True)
    try:  # the child tables, split on disk for the applicants of the input (a first pass over their ids)
        children = load_children(data_dir, input_path, names, chunk_size) if plan.kind == "application" else None
    except InputFileError as exc:
        raise BatchInputError(str(exc)) from exc
    if children is not None:  # application rows: as many as their child rows' byte budget allows
        chunk_size = min(chunk_size, children.chunk_size())
    layout = _layout(plan, predictor)
    scorer = _Scorer(plan, predictor, children, input_path,
                     layout.rules or Rules.compile(predictor.features, predictor.artifacts.reference.get("ranges", {})))
    chunks = read_chunks(input_path, names, plan.read, plan.types, chunk_size,
                         prepare=lambda chunk: (chunk, numbers_of(chunk, layout)))
    # Written aside and renamed when complete: a failed run leaves no output that looks done (and
    # none of an earlier run either: it was replaced by this one's attempt).
    output.unlink(missing_ok=True)
    partial_path = output.with_name(output.name + ".partial")
    try:
        with open(partial_path, "wb") as sink, \
                pacsv.CSVWriter(sink, schema, write_options=pacsv.WriteOptions(include_header=False,
                                                                               quoting_style="none")) as writer, \
                tqdm(desc="scoring", unit="row", total=total, file=sys.stderr, disable=not progress) as bar:
            # UTF-8 with a byte-order mark: Excel then reads the labels' accents and symbols as UTF-8 (without
            # it, a French Excel shows "âœ… Faible risque"); pandas and csv readers with utf-8-sig skip it.
            sink.write(UTF8_BOM + (",".join(schema.names) + "\n").encode())
            def write(ids: np.ndarray, scores: np.ndarray, flags: np.ndarray, refused: list[RowError]) -> None:
                report.errors.extend(refused)
                if len(ids):
                    table, high, review = _output_table(id_name, ids, scores, flags, predictor)
                    writer.write_table(table)
                    report.scored += len(ids)
                    report.high_risk += high
                    report.review += review

            for chunk, numbers in chunks:
                checked = check_chunk(chunk, plan.id_column, layout, numbers, seen)
                report.errors.extend(sorted(malformed_errors(chunk) + checked.errors, key=lambda e: e.line))
                if len(checked.ids):
                    write(*scorer(chunk, checked))
                n = chunk.table.num_rows + len(chunk.malformed)
                report.rows += n
                bar.update(n)
            write(*scorer.finish())
        report.errors.sort(key=lambda e: e.line)  # rows refused once built may come from an earlier chunk
    except InputFileError as exc:
        partial_path.unlink(missing_ok=True)
        raise BatchInputError(str(exc)) from exc
    except BaseException:
        partial_path.unlink(missing_ok=True)
        raise
    finally:
        chunks.close()
        if children is not None:
            children.close()
    if report.rows == 0:
        partial_path.unlink(missing_ok=True)
        raise BatchInputError(f"{input_path}: no rows to score")
    partial_path.replace(output)
    _write_errors(report.errors, report.errors_path)
    return report
