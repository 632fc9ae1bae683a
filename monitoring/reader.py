"""Reading the prediction log (and its rotated files) into one columnar frame.

The log is JSON lines written from `scoring.schema.LogRecord`. The reader:

- reads one log or several (one per app replica: paths, a list or a glob, see monitoring.sources),
  each with its rotated files, and merges the records in time order (whatever the order of the
  lines: a stable sort by timestamp);
- parses blocks of lines with pyarrow's JSON reader against a fixed schema (fast path), and falls
  back to a tolerant line-by-line parse for a block that pyarrow refuses (a corrupt or truncated
  line, the seed's older records whose `prediction` is a string, `true`/`false` inputs, ...);
- counts corrupt lines and skips them: not JSON, not an object, longer than MAX_LINE_BYTES (never
  held whole in memory), or a value of the wrong type or outside plausible bounds (see
  monitoring.records: a timestamp in [2000, 2100), a duration in [0, 3600] s, ...), never coerced;
- keeps only the columns monitoring needs, as numbers, so memory grows with the number of
  records (about 150 bytes each), never with the raw text: a block is parsed and dropped.

Each row remembers where it came from (`file`, `line`, 1-based) so alerts can point at it.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from monitoring.records import (
    CATEGORY_COLUMNS,
    CPU,
    DURATION,
    ERROR,
    FILE,
    FRAME_COLUMNS,
    HIGH_RISK,
    LINE,
    MAX_LINE_BYTES,
    MEMORY,
    NUMERIC_COLUMNS,
    OVERSIZED,
    REPLICA,
    SCORE,
    TIME,
    VERSION,
    implausible,
    number,
    parse_line,
    text,
)
from monitoring.sources import LogReadError, LogSpec, expand, log_paths
from scoring.schema import LABEL_HIGH_RISK, LABEL_LOW_RISK, STATUS_ERROR, UI_FEATURE_NAMES

BLOCK_BYTES = 16 << 20  # parse 16 MB of lines at a time: bounded memory, few pyarrow calls
USE_PYARROW = True  # False: always the line-by-line parser (benchmarks compare the two)
_ERROR_MARK = f'"status":"{STATUS_ERROR}"'.encode()  # as LogRecord.to_json writes it (no spaces)
_ARROW_ROW = re.compile(r"in row (\d+)")
_PLACEHOLDER = b'{"timestamp":"-"}\n'  # stands in for a rejected call's line while pyarrow reads the block
MIN_SPLIT_BYTES = 256 << 10  # a block pyarrow refuses is halved down to this size, then read line by line
HEAD_BYTES = 512  # compared on refresh to tell a file that grew from one rewritten

_SCHEMA = pa.schema(
    [
        ("timestamp", pa.string()),
        ("input", pa.struct([(name, pa.float64()) for name in UI_FEATURE_NAMES])),
        ("prediction", pa.struct([("score", pa.float64()), ("label", pa.string())])),
        ("duration", pa.float64()),
        ("cpu_percent", pa.float64()),
        ("memory_usage_MB", pa.float64()),
        ("model_version", pa.string()),
        ("status", pa.string()),
        ("replica", pa.string()),
    ]
)
_PARSE_OPTIONS = pa_json.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
# One thread over the whole block: measured faster here than pyarrow's threads on 2 busy cores, and
# a refusal then names the block's row (with threads, a row of pyarrow's own 2 MB piece).
_READ_OPTIONS = pa_json.ReadOptions(use_threads=False, block_size=BLOCK_BYTES + (1 << 20))


@dataclass(frozen=True)
class FileEnd:
    """How far a file was read, so that `refresh` can parse only what was appended since."""

    inode: int
    size: int  # the file's size when read
    mtime_ns: int
    head: bytes  # its first bytes: a file rewritten in place no longer starts the same
    consumed: int  # bytes up to and including the last newline
    next_line: int  # number of the first line not read whole
    partial: bool  # a last line without newline was counted as corrupt


@dataclass
class LogData:
    """The records of a log as one frame, plus what the reader had to skip."""

    frame: pd.DataFrame
    files: list[str]  # index in the `file` column -> path
    corrupt_lines: int = 0
    corrupt_examples: list[dict[str, Any]] = field(default_factory=list)  # first few: file, line, reason
    ends: dict[str, FileEnd] = field(default_factory=dict)  # path -> how far it was read

    @property
    def n(self) -> int:
        return len(self.frame)

    def where(self, row: int) -> dict[str, Any]:
        """File and line of the frame's row number `row`."""
        return {"file": self.files[int(self.frame[FILE].iat[row])], "line": int(self.frame[LINE].iat[row])}


def empty_frame() -> pd.DataFrame:
    columns: dict[str, Any] = {
        TIME: pd.Series([], dtype="datetime64[ns, UTC]"),
        FILE: np.array([], dtype=np.int32),
        LINE: np.array([], dtype=np.int64),
        ERROR: np.array([], dtype=bool),
        VERSION: pd.Series([], dtype="category"),
        REPLICA: pd.Series([], dtype="category"),
    }
    for name in (*NUMERIC_COLUMNS, *UI_FEATURE_NAMES):
        columns[name] = np.array([], dtype=np.float64)
    return pd.DataFrame(columns)[list(FRAME_COLUMNS)]


def read_log(path: LogSpec, since: datetime | None = None, until: datetime | None = None,
             *, max_examples: int = 5) -> LogData:
    """Read the log(s) at `path` (see monitoring.sources) with their rotated files, merged in time order;
    keep records with since <= timestamp < until.

    Raises LogReadError when a log names no file.
    """
    files = expand(path)
    data = LogData(frame=empty_frame(), files=[str(p) for p in files])
    chunks = [chunk for index, file_path in enumerate(files)
              for chunk in _read_file(file_path, index, data, max_examples, _utc(since), _utc(until))]
    if chunks:
        data.frame = _concat(chunks)
    return data


def refresh(data: LogData, path: Path | str, *, max_examples: int = 5) -> LogData:
    """`data` (a whole log read by read_log) brought up to date.

    When the log only grew since (no rotation, no rewrite), only the appended lines are parsed;
    otherwise the whole log is read again. A line that was cut short at the end and has been
    completed since is read again and no longer counted as corrupt.
    """
    try:
        live = log_paths(path)
        files = expand(path)
    except LogReadError:
        return read_log(path, max_examples=max_examples)
    if [str(p) for p in files] != data.files or set(data.ends) != set(data.files):
        return read_log(path, max_examples=max_examples)
    if len(live) > 1:  # several logs (replicas): re-read unless nothing changed
        unchanged = all((st.st_ino, st.st_size, st.st_mtime_ns) == (e.inode, e.size, e.mtime_ns)
                        for st, e in ((p.stat(), data.ends[str(p)]) for p in files))
        return data if unchanged else read_log(path, max_examples=max_examples)
    try:
        stats = [p.stat() for p in files]
    except OSError:
        return read_log(path, max_examples=max_examples)
    same = [(st.st_ino, st.st_size, st.st_mtime_ns) == (e.inode, e.size, e.mtime_ns)
            for st, e in zip(stats, (data.ends[str(p)] for p in files), strict=True)]
    last, end, st = files[-1], data.ends[str(files[-1])], stats[-1]
    if (not all(same[:-1]) or st.st_ino != end.inode or st.st_size < end.consumed
            or (not same[-1] and _head(last) != end.head)):
        return read_log(path, max_examples=max_examples)
    if same[-1]:
        return data
    examples = [e for e in data.corrupt_examples
                if not (end.partial and e["file"] == str(last) and e["line"] == end.next_line)]
    fresh = LogData(frame=data.frame, files=data.files, corrupt_lines=data.corrupt_lines - int(end.partial),
                    corrupt_examples=examples, ends=dict(data.ends))
    chunks = list(_read_file(last, len(files) - 1, fresh, max_examples, None, None, end))
    if chunks:
        fresh.frame = _concat([data.frame, *chunks])
    return fresh


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError:
        return b""


def _concat(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame in time order: replicas' logs interleave, and lines of one file may be out of order."""
    frame = pd.concat(chunks, ignore_index=True)
    for column in CATEGORY_COLUMNS:
        frame[column] = frame[column].astype("category")
    if not frame[TIME].is_monotonic_increasing:
        frame = frame.sort_values(TIME, kind="stable", ignore_index=True)
    return frame


def _read_file(path: Path, index: int, data: LogData, max_examples: int, since: pd.Timestamp | None,
               until: pd.Timestamp | None, start: FileEnd | None = None) -> Iterator[pd.DataFrame]:
    """Frames of the records of one file (from where `start` left it), recording in `data.ends` how far it got."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            head = start.head if start else fh.read(HEAD_BYTES)
            position = [start.consumed if start else 0, start.next_line if start else 1, False]
            fh.seek(position[0])
            for first_line, n_lines, block in _blocks(fh, position):
                chunk = _parse_block(block, n_lines, first_line, index, data, max_examples)
                if since is not None:
                    chunk = chunk[chunk[TIME] >= since]
                if until is not None:
                    chunk = chunk[chunk[TIME] < until]
                if len(chunk):
                    yield chunk
    except OSError as exc:
        raise LogReadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    data.ends[str(path)] = FileEnd(st.st_ino, max(st.st_size, position[0]), st.st_mtime_ns, head, *position)


def _utc(moment: datetime | None) -> pd.Timestamp | None:
    if moment is None:
        return None
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _blocks(fh: BinaryIO, position: list) -> Iterator[tuple[int, int, bytes]]:
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


def _arrow_table(block: bytes, n_lines: int) -> tuple[pa.Table | None, int | None]:
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
    table, row = _arrow_table(block, n_lines)
    if table is not None:
        return _columns_from_arrow(table)
    if not USE_PYARROW or n_lines <= 1 or (row is None and len(block) <= MIN_SPLIT_BYTES):
        return _columns_from_lines(block, first_line, file_index, data, max_examples)
    if row is not None and 0 <= row < n_lines:
        starts = _line_starts(block)
        spans = [(0, row, False), (row, row + 1, True), (row + 1, n_lines, False)]
    else:
        starts = _line_starts(block)
        half = n_lines // 2
        spans = [(0, half, False), (half, n_lines, False)]
    parts = []
    for first, stop, by_line in spans:
        if first == stop:
            continue
        piece = block[starts[first]:starts[stop]]
        cols = (_columns_from_lines(piece, first_line + first, file_index, data, max_examples) if by_line
                else _columns(piece, stop - first, first_line + first, file_index, data, max_examples))
        cols["_line_offset"] = cols["_line_offset"] + first
        parts.append(cols)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _error_lines(block: bytes, starts: np.ndarray) -> np.ndarray:
    """0-based numbers of the lines holding the error marker (rejected calls); `starts` from _line_starts."""
    found, pos = [], block.find(_ERROR_MARK)
    while pos >= 0:
        found.append(pos)
        pos = block.find(_ERROR_MARK, pos + 1)
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


def _parse_block(block: bytes, n_lines: int, first_line: int, file_index: int, data: LogData,
                 max_examples: int) -> pd.DataFrame:
    failed = np.array([], dtype=np.int64)
    if _ERROR_MARK in block or _may_hold_a_long_line(block):  # needs line offsets: set cut lines apart too
        starts = _line_starts(block)
        failed = np.union1d(_error_lines(block, starts), _unterminated_lines(block, starts))
        failed = np.union1d(failed, np.flatnonzero(np.diff(starts) > MAX_LINE_BYTES + 1))
    columns = None
    if not failed.size:
        table, _ = _arrow_table(block, n_lines)
        if table is not None:
            columns = _columns_from_arrow(table)
        else:  # most often a line cut short by a crash: set such lines apart rather than halving the block
            failed = _unterminated_lines(block, _line_starts(block))
            if not failed.size:
                columns = _columns(block, n_lines, first_line, file_index, data, max_examples)
    if columns is None:
        # Rejected calls log what the caller sent (strings, missing fields), which pyarrow's typed parse
        # refuses: such lines are swapped for a placeholder, read line by line, and put back in place.
        starts = _line_starts(block)
        pieces, previous = [], 0
        for row in failed:
            pieces += [block[starts[previous]:starts[row]], _PLACEHOLDER]
            previous = row + 1
        pieces.append(block[starts[previous]:])
        masked = _columns(b"".join(pieces), n_lines, first_line, file_index, data, max_examples)
        keep = ~np.isin(masked["_line_offset"], failed)
        known = len(data.corrupt_examples)
        rejected = _columns_from_lines(b"".join(block[starts[r]:starts[r + 1]] for r in failed), 0, file_index,
                                       data, max_examples)
        for example in data.corrupt_examples[known:]:
            example["line"] = first_line + int(failed[example["line"]])
        rejected["_line_offset"] = failed[rejected["_line_offset"]]
        order = np.argsort(np.concatenate([masked["_line_offset"][keep], rejected["_line_offset"]]), kind="stable")
        columns = {key: np.concatenate([masked[key][keep], rejected[key]])[order] for key in masked}
    lines = columns.pop("_line_offset")
    frame = pd.DataFrame(columns)
    frame[TIME] = pd.to_datetime(frame[TIME], utc=True, format="ISO8601", errors="coerce")
    reasons = implausible(frame)
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


def _columns_from_arrow(table: pa.Table) -> dict[str, Any]:
    def numbers(arr: pa.ChunkedArray) -> np.ndarray:
        return arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)

    inputs = table.column("input")
    prediction = table.column("prediction")
    label = pc.struct_field(prediction, "label")
    high = pc.if_else(pc.equal(label, LABEL_HIGH_RISK), 1.0,
                      pc.if_else(pc.equal(label, LABEL_LOW_RISK), 0.0, pa.scalar(None, pa.float64())))
    status = table.column("status")
    columns: dict[str, Any] = {
        TIME: table.column("timestamp").to_numpy(zero_copy_only=False),
        DURATION: numbers(table.column("duration")),
        CPU: numbers(table.column("cpu_percent")),
        MEMORY: numbers(table.column("memory_usage_MB")),
        SCORE: numbers(pc.struct_field(prediction, "score")),
        HIGH_RISK: numbers(high),
        ERROR: pc.fill_null(pc.equal(status, STATUS_ERROR), False).to_numpy(zero_copy_only=False),
        VERSION: table.column("model_version").to_numpy(zero_copy_only=False),
        REPLICA: table.column("replica").to_numpy(zero_copy_only=False),
    }
    for name in UI_FEATURE_NAMES:
        columns[name] = numbers(pc.struct_field(inputs, name))
    columns["_line_offset"] = np.arange(table.num_rows, dtype=np.int64)
    return columns


def _columns_from_lines(block: bytes, first_line: int, file_index: int, data: LogData,
                        max_examples: int) -> dict[str, Any]:
    """Tolerant parse, one line at a time; corrupt lines are counted and left out."""
    records: list[dict[str, Any]] = []
    measures: list[tuple[float, ...]] = []
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
        records.append(parsed[0])
        measures.append(parsed[1])
        offsets.append(offset)
    values = np.array(measures, dtype=np.float64).reshape(len(records), 5)
    inputs = [r.get("input") if isinstance(r.get("input"), dict) else {} for r in records]
    columns: dict[str, Any] = {
        TIME: np.array([r["timestamp"] for r in records], dtype=object),
        DURATION: values[:, 0], CPU: values[:, 1], MEMORY: values[:, 2], SCORE: values[:, 3], HIGH_RISK: values[:, 4],
        ERROR: np.array([r.get("status") == STATUS_ERROR for r in records], dtype=bool),
        VERSION: np.array([text(r.get("model_version")) for r in records], dtype=object),
        REPLICA: np.array([text(r.get("replica")) for r in records], dtype=object),
    }
    for name in UI_FEATURE_NAMES:
        columns[name] = np.array([number(i.get(name)) for i in inputs], dtype=np.float64)
    columns["_line_offset"] = np.array(offsets, dtype=np.int64)
    return columns


def window(data: LogData, since: datetime | None = None, until: datetime | None = None) -> LogData:
    """The records of `data` with since <= timestamp < until (the same files and corrupt count)."""
    mask = np.ones(len(data.frame), dtype=bool)
    if since is not None:
        mask &= (data.frame[TIME] >= _utc(since)).to_numpy()
    if until is not None:
        mask &= (data.frame[TIME] < _utc(until)).to_numpy()
    frame = data.frame if mask.all() else data.frame[mask].reset_index(drop=True)
    return LogData(frame=frame, files=data.files, corrupt_lines=data.corrupt_lines,
                   corrupt_examples=data.corrupt_examples)
