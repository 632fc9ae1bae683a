"""Row-level checks of a batch chunk, vectorised: one reason per row that cannot be scored.

A row is refused when its SK_ID_CURR is empty, not an integer or repeats an earlier row's, or
when a numeric column holds text or an infinity (a missing value is fine: the model knows NaN), or (a
features file) a value the model's rules call impossible (`serving.rules`: outside its domain, a flag
other than 0/1, two options of a group). A value past the training range is scored and flagged: the
row's `out_of_range` names those features.
The first problem found is the row's reason, in this order: the id, the columns from left to
right, then the repetition. Columns are checked whole with numpy and pandas; only the refused rows
are turned into messages, one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.data import parse_numbers
from serving.batch_read import Chunk
from serving.rules import GROUP, Rules, Violation

_EMPTY_ID = -2
_NOT_INTEGER_ID = -3
_REPEATED = -4
_GROUP = -5
_FINE = -1


@dataclass(frozen=True)
class RowError:
    line: int  # line number in the input file (the header is line 1)
    applicant: str  # the row's SK_ID_CURR as written, or "" when absent
    reason: str


@dataclass
class Checked:
    ok: np.ndarray  # bool per row of the chunk's table
    ids: np.ndarray  # int64 id of the rows that passed (the line number when the file has no id)
    matrix: np.ndarray  # the numeric columns of the rows that passed (see `Layout`)
    errors: list[RowError] = field(default_factory=list)
    out_of_range: np.ndarray | None = None  # per row that passed: the features past the training range ("a;b")


@dataclass(frozen=True)
class Layout:
    """Where the numeric columns go in the matrix handed to the scorer, and its type.

    Features files: the model's columns in its order, float32 (what the predictor scores), absent
    ones NaN. Applicants: the numeric columns in file order, float64 (exact amounts and days).
    """

    numeric: list[str]  # the file's numeric columns, in file order
    positions: list[int]  # the matrix column of each
    width: int
    dtype: type
    rules: Rules | None = None  # the model's input rules (a features file); None: only text and infinities

    @property
    def absent(self) -> np.ndarray:
        """The matrix columns no file column fills (NaN)."""
        return np.setdiff1d(np.arange(self.width), self.positions)


@dataclass
class Numbers:
    """A chunk's numeric columns as one matrix, with the first refused column of each row."""

    matrix: np.ndarray  # rows x layout.width, C order
    first_bad: np.ndarray  # per row: index in layout.numeric of the first refused cell, or -1
    texts: dict[int, np.ndarray]  # the cells of the columns that were text, by index in layout.numeric
    groups: dict[int, str] = field(default_factory=dict)  # rows with two options of a group at 1: why
    unseen: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (feature, rows past its training range)


class SeenIds:
    """The ids already scored, as a sorted array (membership by binary search, merged per chunk)."""

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.int64)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        if not len(self._sorted):
            return np.zeros(len(ids), dtype=bool)
        at = np.minimum(np.searchsorted(self._sorted, ids), len(self._sorted) - 1)
        return self._sorted[at] == ids

    def add(self, ids: np.ndarray) -> None:
        new = np.sort(ids)
        self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, new), new)


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
        or pa.types.is_decimal(kind) or pa.types.is_null(kind)


def _cells(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(float64 values with NaN for missing, mask of cells that are text, the cells as text or None)."""
    if _is_numeric(column.type):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        return values, np.zeros(len(values), dtype=bool), None
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = column.to_numpy(zero_copy_only=False)
        values, is_text = parse_numbers(text)
        return values, is_text, text
    text = column.cast(pa.string()).to_numpy(zero_copy_only=False)  # dates, lists...: not numbers
    return np.full(len(text), np.nan), pd.notna(text), text


def _shown(text: np.ndarray | None, values: np.ndarray, i: int) -> str:
    if text is not None:
        return "" if text[i] is None else str(text[i])
    return "" if np.isnan(values[i]) else str(values[i])


def _shown_id(text: np.ndarray | None, values: np.ndarray, i: int) -> str:
    """An id as the errors file writes it: an integer when it is one (101121, not 101121.0: a features
    file exported by pandas holds its ids as floats when a column had a gap), else the cell as written."""
    x = float(values[i])
    return str(int(x)) if math.isfinite(x) and x.is_integer() else _shown(text, values, i)


def numbers_of(chunk: Chunk, layout: Layout) -> Numbers:
    """The numeric columns of `chunk` in `layout` (run by the reader threads, ahead of the checks).

    Column-major fill (each column written contiguously), the model's rules on each column as read
    (float64, before the matrix's float32: a value just beyond a bound stays beyond it), one
    vectorised test for infinities, then one copy to row-major order for the scorer.
    """
    table = chunk.table
    n = table.num_rows
    filled = np.empty((n, layout.width), dtype=layout.dtype, order="F")
    filled[:, layout.absent] = np.nan  # usually none: a features file has every model column
    texts: dict[int, np.ndarray] = {}
    flagged: list[tuple[int, np.ndarray]] = []  # (matrix column, cells refused): text, or a rule broken
    ones: dict[str, np.ndarray] = {}  # the options of exclusive groups: cells at 1
    unseen: list[tuple[str, np.ndarray]] = []
    rules = layout.rules
    for j, (name, position) in enumerate(zip(layout.numeric, layout.positions, strict=True)):
        column = table[name]
        if pa.types.is_floating(column.type):
            values, text = column.to_numpy(zero_copy_only=False), None
        else:
            values, is_text, text = _cells(column)
            if text is not None:
                texts[j] = text
                flagged.append((position, is_text))
        filled[:, position] = values
        if rules is not None and name in rules:
            flagged.append((position, rules.refused(name, values)))
            past = rules.out_of_range_columns(name, values)
            if past is not None and past.any():
                unseen.append((name, past))
            if rules[name].binary:
                ones[name] = values == 1
    bad = np.isinf(filled)
    for position, cells in flagged:
        bad[:, position] |= cells
    groups = _group_reasons(rules, ones) if rules is not None else {}
    first_bad = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size:
        to_numeric = np.argsort(layout.positions)  # matrix column -> index in layout.numeric
        by_position = bad[rows][:, np.sort(layout.positions)]
        first_bad[rows] = to_numeric[by_position.argmax(axis=1)]
    return Numbers(np.ascontiguousarray(filled), first_bad, texts, groups, unseen)


def unseen_names(unseen: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    """Per row, the features flagged past their training range joined by ";" ("" when none)."""
    out = np.full(n, "", dtype=object)
    for name, rows in unseen:
        for i in np.flatnonzero(rows):
            out[i] = f"{out[i]};{name}" if out[i] else name
    return out


def _group_reasons(rules: Rules, ones: dict[str, np.ndarray]) -> dict[int, str]:
    """The rows with two options of an exclusive group at 1, with the reason (`Rules.group_rows`)."""
    out: dict[int, str] = {}
    for (group, members), rows in rules.group_rows(ones):
        for i in rows:
            chosen = tuple(m for m in members if ones[m][i])
            out.setdefault(int(i), Violation(",".join(chosen), GROUP, group=group, members=tuple(members)).message())
    return out


def check_chunk(chunk: Chunk, id_column: str | None, layout: Layout, numbers: Numbers, seen: SeenIds) -> Checked:
    """The rows of `chunk` that can be scored, their ids and numbers, and the errors of the others."""
    table = chunk.table
    code = numbers.first_bad.copy()
    for i in numbers.groups:
        if code[i] == _FINE:
            code[i] = _GROUP
    if id_column is None:
        ids, id_text, id_values = chunk.lines.astype(np.int64), None, None
    else:
        id_values, _, id_text = _cells(table[id_column])
        empty = np.isnan(id_values) & (pd.isna(id_text) if id_text is not None else True)
        fractional = ~np.isfinite(id_values) | (id_values != np.round(id_values))
        code[fractional] = _NOT_INTEGER_ID
        code[empty] = _EMPTY_ID
        ids = np.where(code == _FINE, id_values, 0).astype(np.int64)
        if pa.types.is_integer(table[id_column].type):  # exact beyond 2**53
            ids = np.where(code == _FINE, pc.fill_null(table[id_column], 0).to_numpy(), 0).astype(np.int64)
    if id_column is not None:
        candidates = np.flatnonzero(code == _FINE)
        repeated = pd.Index(ids[candidates]).duplicated(keep="first") | seen.contains(ids[candidates])
        code[candidates[repeated]] = _REPEATED
    ok = code == _FINE
    if id_column is not None:
        seen.add(ids[ok])
    errors = []
    for i in np.flatnonzero(~ok):
        applicant = "" if id_column is None else _shown_id(id_text, id_values, i)
        reason = {
            _EMPTY_ID: f"{id_column} is empty",
            _NOT_INTEGER_ID: f"{id_column} must be an integer; got {applicant!r}",
            _REPEATED: f"{id_column} {applicant} appears earlier in the file",
            _GROUP: numbers.groups.get(i),
        }.get(int(code[i]))
        if reason is None:
            reason = _cell_reason(layout, numbers, int(code[i]), i)
        errors.append(RowError(int(chunk.lines[i]), applicant, reason))
    matrix = numbers.matrix if ok.all() else numbers.matrix[ok]
    return Checked(ok, ids[ok], matrix, errors, unseen_names(numbers.unseen, len(ok))[ok])


def _cell_reason(layout: Layout, numbers: Numbers, j: int, i: int) -> str:
    """Why the cell of row `i` in numeric column `j` is refused: text or an infinity, else the rule it breaks."""
    name = layout.numeric[j]
    x = float(numbers.matrix[i, layout.positions[j]])
    if layout.rules is not None and math.isfinite(x):
        return f"column {name}: {layout.rules.refusal(name, x).message()}"
    cell = _shown(numbers.texts.get(j), numbers.matrix[:, layout.positions[j]], i)
    return f"column {name} must hold a finite number; got {cell!r}"


def malformed_errors(chunk: Chunk) -> list[RowError]:
    """Rows the CSV parser could not split into the header's fields."""
    return [RowError(line, "", reason) for line, reason in chunk.malformed]
