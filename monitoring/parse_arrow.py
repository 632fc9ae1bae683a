"""The fast path of the log reader: a block of JSON lines parsed by pyarrow against a fixed schema.

The schema and the columns come from `monitoring.records.FIELDS`, the mapping the line-by-line parser
(monitoring.blocks) reads too. pyarrow refuses a block holding anything the schema does not allow (a cut
line, a string where a number goes, the seed's string predictions...): the caller then reads the block
line by line.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from monitoring.records import (
    DECISION_KEY,
    ERROR,
    FIELDS,
    FLAG,
    HIGH_RISK,
    IDENTIFIER,
    INPUT,
    MEASURE,
    NAMES,
    OUT_OF_RANGE_SEP,
    STATUSES,
    TEXT,
)
from scoring.schema import ADVISER_DECISION_KEY, LABEL_HIGH_RISK, LABEL_LOW_RISK, STATUS_ERROR

BLOCK_BYTES = 16 << 20  # parse 16 MB of lines at a time: bounded memory, few pyarrow calls
USE_PYARROW = True  # False: always the line-by-line parser (benchmarks compare the two)
_ARROW_ROW = re.compile(r"in row (\d+)")
_TYPES = {TEXT: pa.string(), MEASURE: pa.float64(), INPUT: pa.float64(), IDENTIFIER: pa.int64(),
          FLAG: pa.bool_(), NAMES: pa.list_(pa.string())}


def _schema() -> pa.Schema:
    """Nested structs for the paths of FIELDS, plus `status` and the prediction's label and decision."""
    tree: dict[str, Any] = {"status": pa.string(), "request_id": pa.string(), ADVISER_DECISION_KEY: {},
                            "prediction": {"label": pa.string(), DECISION_KEY: pa.int64()}}
    for path, kind in FIELDS.values():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = _TYPES[kind]

    def arrow_type(node: Any) -> pa.DataType:
        return pa.struct([(k, arrow_type(v)) for k, v in node.items()]) if isinstance(node, dict) else node

    return pa.schema([(k, arrow_type(v)) for k, v in tree.items()])


SCHEMA = _schema()
_PARSE_OPTIONS = pa_json.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
# One thread over the whole block: measured faster here than pyarrow's threads on 2 busy cores, and
# a refusal then names the block's row (with threads, a row of pyarrow's own 2 MB piece).
_READ_OPTIONS = pa_json.ReadOptions(use_threads=False, block_size=BLOCK_BYTES + (1 << 20))


def arrow_table(block: bytes, n_lines: int) -> tuple[pa.Table | None, int | None]:
    """(table, None) when pyarrow parses the whole block against the schema; else (None, the 0-based
    row pyarrow stopped at, when its message says so)."""
    # pyarrow skips blank lines, which would shift line numbers: such blocks take the slow path.
    if not USE_PYARROW or b"\n\n" in block or block.startswith(b"\n") or b"\r" in block:
        return None, None
    try:
        table = pa_json.read_json(io.BytesIO(block), read_options=_READ_OPTIONS, parse_options=_PARSE_OPTIONS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        match = _ARROW_ROW.search(str(exc))
        return None, int(match.group(1)) if match else None
    return (table, None) if table.num_rows == n_lines else (None, None)


def _field(table: pa.Table, path: tuple[str, ...]) -> pa.ChunkedArray:
    array = table.column(path[0])
    for key in path[1:]:
        array = pc.struct_field(array, key)
    return array


def _numbers(array: pa.ChunkedArray) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _decision(table: pa.Table) -> pa.ChunkedArray:
    """The logged 0/1 decision; for older records (none logged) the one their label says."""
    logged = pc.cast(_field(table, ("prediction", DECISION_KEY)), pa.float64())
    logged = pc.if_else(pc.is_in(logged, pa.array([0.0, 1.0])), logged, pa.scalar(None, pa.float64()))
    label = _field(table, ("prediction", "label"))
    # as records.decision_of_label: the label holds the high-risk label, else the low-risk one
    from_label = pc.if_else(pc.match_substring(label, LABEL_HIGH_RISK), 1.0,
                            pc.if_else(pc.match_substring(label, LABEL_LOW_RISK), 0.0, pa.scalar(None, pa.float64())))
    return pc.coalesce(logged, from_label)


def columns_from_arrow(table: pa.Table) -> dict[str, Any]:
    """The frame's columns of a parsed block (with `_line_offset`, the row in the block)."""
    columns: dict[str, Any] = {}
    for column, (path, kind) in FIELDS.items():
        array = _field(table, path)
        if kind == FLAG:
            array = pc.cast(array, pa.float64())
        if kind == NAMES:  # as records.names: a list with a null item or no item is None
            joined = pc.binary_join(array, OUT_OF_RANGE_SEP)
            array = pc.if_else(pc.fill_null(pc.greater(pc.list_value_length(array), 0), False), joined,
                               pa.scalar(None, pa.string()))
        columns[column] = array.to_numpy(zero_copy_only=False) if kind in (TEXT, NAMES) else _numbers(array)
    columns[HIGH_RISK] = _numbers(_decision(table))
    columns[ERROR] = pc.fill_null(pc.equal(table.column("status"), STATUS_ERROR), False).to_numpy(zero_copy_only=False)
    columns["_line_offset"] = np.arange(table.num_rows, dtype=np.int64)
    columns["_shape"] = shape_problems(table)
    return columns


def shape_problems(table: pa.Table) -> np.ndarray:
    """Per row, why the record is not a call ("" when it is): `records.shape_problem`'s rules that a typed
    parse leaves to check (a wrong type already made pyarrow refuse the row, which the line parser reads)."""
    status = table.column("status")
    current = pc.is_valid(status).to_numpy(zero_copy_only=False)
    error = pc.fill_null(pc.equal(status, STATUS_ERROR), False).to_numpy(zero_copy_only=False)
    bad_status = (current & ~pc.fill_null(pc.is_in(status, pa.array(STATUSES)), False)
                  .to_numpy(zero_copy_only=False))
    no_id = current & pc.is_null(table.column("request_id")).to_numpy(zero_copy_only=False)
    no_input = pc.is_null(table.column("input")).to_numpy(zero_copy_only=False)
    prediction = table.column("prediction")
    adviser = pc.is_valid(table.column(ADVISER_DECISION_KEY)).to_numpy(zero_copy_only=False)
    no_prediction = pc.is_null(prediction).to_numpy(zero_copy_only=False) & ~error & ~adviser
    unanswered = (pc.is_valid(prediction).to_numpy(zero_copy_only=False) & ~error
                  & (pc.is_null(_field(table, ("prediction", "score"))).to_numpy(zero_copy_only=False)
                     | pc.is_null(_field(table, ("prediction", "label"))).to_numpy(zero_copy_only=False)))
    nan = np.zeros(table.num_rows, dtype=bool)  # NaN / Infinity literals: not JSON (the line parser refuses them)
    for path, kind in FIELDS.values():
        if kind in (MEASURE, INPUT):
            values = pc.cast(_field(table, path), pa.float64())
            nan |= pc.fill_null(pc.invert(pc.is_finite(values)), False).to_numpy(zero_copy_only=False)
    reasons = np.full(table.num_rows, "", dtype=object)
    for wrong, why in ((nan, "not valid JSON (NaN or Infinity)"),
                       (unanswered, "prediction: an answered call without a score or a label"),
                       (no_prediction, "prediction: missing on an answered call"),
                       (no_input, "input: missing or not an object"), (no_id, "request_id: missing or not text"),
                       (bad_status, "status: expected ok or error")):
        reasons[wrong] = why  # the last rule that holds wins, as the first one checked in records.shape_problem
    return reasons
