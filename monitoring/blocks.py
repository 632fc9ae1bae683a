"""Blocks of log lines into frame rows: the file cut into blocks of whole lines, each block parsed by
pyarrow (monitoring.parse_arrow) where it can and line by line (monitoring.records) where it cannot,
corrupt lines counted and set aside, and every row numbered with its line in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd

from monitoring import parse_arrow
from monitoring.parse_arrow import BLOCK_BYTES, arrow_table, columns_from_arrow
from monitoring.records import (
    APPLICANT,
    ERROR,
    FIELDS,
    FILE,
    FRAME_COLUMNS,
    HIGH_RISK,
    LINE,
    MAX_LINE_BYTES,
    NAMES,
    OVERSIZED,
    TEXT,
    TIME,
    implausible,
    parse_line,
)
from scoring.schema import STATUS_ERROR

if TYPE_CHECKING:
    from monitoring.reader import LogData

ERROR_MARK = f'"status":"{STATUS_ERROR}"'.encode()  # as LogRecord.to_json writes it (no spaces)
# stands in for a rejected call's line while pyarrow reads the block (a record of the right shape: it is dropped after)
_PLACEHOLDER = b'{"timestamp":"-","request_id":"-","input":{},"prediction":null,"status":"error"}\n'
MIN_SPLIT_BYTES = 256 << 10  # a block pyarrow refuses is halved down to this size, then read line by line


def blocks(fh: BinaryIO, position: list) -> Iterator[tuple[int, int, bytes]]:
    """Blocks of whole lines (about BLOCK_BYTES each) from the file's current offset:
    (1-based number of the first line, lines, block).

    `position` is [offset, next line number, partial] and follows the reading: offset after the last
    newline, and whether a last line without newline was given out (as a line of its own). A line
    longer than MAX_LINE_BYTES is never held: its bytes are skipped and it comes out as `OVERSIZED`.
    """
    rest, skipped = b"", 0  # skipped: bytes of an oversized line dropped while looking for its end
    while True:
        raw = fh.read(BLOCK_BYTES)
        if not raw:
            break
        if skipped:
            cut = raw.find(b"\n")
            if cut < 0:
                skipped += len(raw)
                continue
            yield position[1], 1, OVERSIZED
            position[0] += skipped + cut + 1
            position[1] += 1
            skipped, raw = 0, raw[cut + 1:]
        buf = rest + raw
        cut = buf.rfind(b"\n")
        block, rest = (buf[: cut + 1], buf[cut + 1:]) if cut >= 0 else (b"", buf)
        if block:
            count = block.count(b"\n")
            yield position[1], count, block
            position[0] += len(block)
            position[1] += count
        if len(rest) > MAX_LINE_BYTES:
            skipped, rest = len(rest), b""
    if skipped or rest:
        position[2] = True
        yield position[1], 1, OVERSIZED if skipped else rest + b"\n"


def _line_starts(block: bytes) -> np.ndarray:
    """Byte offset of the start of each line of the block (plus its end), found with numpy."""
    return np.r_[0, np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + 1]


def _columns(block: bytes, n_lines: int, first_line: int, file_index: int, data: LogData,
             max_examples: int) -> dict[str, Any]:
    """Columns of a block of `n_lines` lines, `_line_offset` counted from the block's first line.

    pyarrow first. When it refuses the block at a row, the rows before it go to pyarrow again, that
    row to the line-by-line parser, and the rows after it the same way from the start; without a row
    number the block is halved, down to MIN_SPLIT_BYTES. The line-by-line parser is right for any
    line, so a wrong hint costs time, never correctness.
    """
    table, row = arrow_table(block, n_lines)
    if table is not None:
        return columns_from_arrow(table)
    if not parse_arrow.USE_PYARROW or n_lines <= 1 or (row is None and len(block) <= MIN_SPLIT_BYTES):
        return columns_from_lines(block, first_line, file_index, data, max_examples)
    starts = _line_starts(block)
    if row is not None and 0 <= row < n_lines:
        spans = [(0, row, False), (row, row + 1, True), (row + 1, n_lines, False)]
    else:
        half = n_lines // 2
        spans = [(0, half, False), (half, n_lines, False)]
    parts = []
    for first, stop, by_line in spans:
        if first == stop:
            continue
        piece = block[starts[first]:starts[stop]]
        cols = (columns_from_lines(piece, first_line + first, file_index, data, max_examples) if by_line
                else _columns(piece, stop - first, first_line + first, file_index, data, max_examples))
        cols["_line_offset"] = cols["_line_offset"] + first
        parts.append(cols)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _error_lines(block: bytes, starts: np.ndarray) -> np.ndarray:
    """0-based numbers of the lines holding the error marker (rejected calls); `starts` from _line_starts."""
    found, pos = [], block.find(ERROR_MARK)
    while pos >= 0:
        found.append(pos)
        pos = block.find(ERROR_MARK, pos + 1)
    return np.unique(np.searchsorted(starts, np.array(found, dtype=np.int64), side="right") - 1)


def _unterminated_lines(block: bytes, starts: np.ndarray) -> np.ndarray:
    """0-based numbers of the lines that do not end with "}" (cut short, blank, or not a record)."""
    ends = starts[1:] - 2  # the byte before each newline
    last = np.frombuffer(block, dtype=np.uint8)[np.maximum(ends, 0)]
    return np.flatnonzero((ends < starts[:-1]) | (last != ord("}")))


def _may_hold_a_long_line(block: bytes) -> bool:
    """False when no line is longer than MAX_LINE_BYTES: each aligned half-cap window holds a newline (a longer
    line would cover one whole). A few `find` calls per block instead of locating every line."""
    half = MAX_LINE_BYTES // 2
    return any(block.find(b"\n", start, start + half) < 0 for start in range(0, len(block) - half + 1, half))


def parse_block(block: bytes, n_lines: int, first_line: int, file_index: int, data: LogData,
                max_examples: int) -> pd.DataFrame:
    """The frame rows of a block of `n_lines` lines starting at line `first_line` of file `file_index`;
    corrupt lines are counted in `data` (with the first `max_examples` examples) and left out."""
    known = len(data.corrupt_examples)  # the block's examples are found in several passes: listed by line
    frame = _parse_block(block, n_lines, first_line, file_index, data, max_examples)
    data.corrupt_examples[known:] = sorted(data.corrupt_examples[known:], key=lambda e: e["line"])
    return frame


def _parse_block(block: bytes, n_lines: int, first_line: int, file_index: int, data: LogData,
                 max_examples: int) -> pd.DataFrame:
    failed = np.array([], dtype=np.int64)
    if ERROR_MARK in block or _may_hold_a_long_line(block):  # needs line offsets: set cut lines apart too
        starts = _line_starts(block)
        failed = np.union1d(_error_lines(block, starts), _unterminated_lines(block, starts))
        failed = np.union1d(failed, np.flatnonzero(np.diff(starts) > MAX_LINE_BYTES + 1))
    columns = None
    if not failed.size:
        table, _ = arrow_table(block, n_lines)
        if table is not None:
            columns = columns_from_arrow(table)
        else:  # most often a line cut short by a crash: set such lines apart rather than halving the block
            failed = _unterminated_lines(block, _line_starts(block))
            if not failed.size:
                columns = _columns(block, n_lines, first_line, file_index, data, max_examples)
    if columns is None:
        columns = _columns_around(block, n_lines, failed, first_line, file_index, data, max_examples)
    lines = columns.pop("_line_offset")
    shape = columns.pop("_shape")
    frame = pd.DataFrame(columns)
    frame[TIME] = pd.to_datetime(frame[TIME], utc=True, format="ISO8601", errors="coerce")
    frame[APPLICANT] = frame[APPLICANT].astype("Int64")
    reasons = implausible(frame)
    reasons = np.where(reasons == "", shape, reasons)
    bad = reasons != ""
    if bad.any():
        for offset in np.flatnonzero(bad)[: max(0, max_examples - len(data.corrupt_examples))]:
            data.corrupt_examples.append({"file": data.files[file_index], "line": int(first_line + lines[offset]),
                                          "reason": str(reasons[offset])})
        data.corrupt_lines += int(bad.sum())
        frame = frame[~bad]
        lines = lines[~bad]
    frame.insert(1, FILE, np.full(len(frame), file_index, dtype=np.int32))
    frame.insert(2, LINE, first_line + lines)
    return frame[list(FRAME_COLUMNS)]


def _columns_around(block: bytes, n_lines: int, failed: np.ndarray, first_line: int, file_index: int,
                    data: LogData, max_examples: int) -> dict[str, Any]:
    """Rejected calls log what the caller sent (strings, missing fields), which pyarrow's typed parse
    refuses: such lines (`failed`) are swapped for a placeholder, read line by line, and put back in place."""
    starts = _line_starts(block)
    pieces, previous = [], 0
    for row in failed:
        pieces += [block[starts[previous]:starts[row]], _PLACEHOLDER]
        previous = row + 1
    pieces.append(block[starts[previous]:])
    masked = _columns(b"".join(pieces), n_lines, first_line, file_index, data, max_examples)
    keep = ~np.isin(masked["_line_offset"], failed)
    known = len(data.corrupt_examples)
    rejected = columns_from_lines(b"".join(block[starts[r]:starts[r + 1]] for r in failed), 0, file_index,
                                  data, max_examples)
    for example in data.corrupt_examples[known:]:
        example["line"] = first_line + int(failed[example["line"]])
    rejected["_line_offset"] = failed[rejected["_line_offset"]]
    order = np.argsort(np.concatenate([masked["_line_offset"][keep], rejected["_line_offset"]]), kind="stable")
    return {key: np.concatenate([masked[key][keep], rejected[key]])[order] for key in masked}


def columns_from_lines(block: bytes, first_line: int, file_index: int, data: LogData,
                       max_examples: int) -> dict[str, Any]:
    """Tolerant parse, one line at a time (the same columns as columns_from_arrow); corrupt lines are
    counted and left out."""
    rows: list[dict[str, Any]] = []
    offsets: list[int] = []
    for offset, raw in enumerate(block.split(b"\n")[:-1]):
        if not raw.strip():
            continue
        parsed = parse_line(raw)
        if isinstance(parsed, str):
            data.corrupt_lines += 1
            if len(data.corrupt_examples) < max_examples:
                data.corrupt_examples.append({"file": data.files[file_index], "line": first_line + offset,
                                              "reason": parsed})
            continue
        rows.append(parsed)
        offsets.append(offset)
    columns: dict[str, Any] = {}
    for column, (_, kind) in FIELDS.items():
        columns[column] = np.array([r[column] for r in rows], dtype=object if kind in (TEXT, NAMES) else np.float64)
    columns[HIGH_RISK] = np.array([r[HIGH_RISK] for r in rows], dtype=np.float64)
    columns[ERROR] = np.array([r[ERROR] for r in rows], dtype=bool)
    columns["_line_offset"] = np.array(offsets, dtype=np.int64)
    columns["_shape"] = np.full(len(rows), "", dtype=object)  # a line of the wrong shape is already set apart
    return columns
