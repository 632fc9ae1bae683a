"""Reading the prediction log (and its rotated files) into one columnar frame.

The log is JSON lines written from `scoring.schema.LogRecord`. The reader:

- reads one log or several (one per app replica: paths, a list or a glob, see monitoring.sources),
  each with its rotated files, and merges the records in time order (whatever the order of the
  lines: a stable sort by timestamp);
- parses blocks of lines with pyarrow's JSON reader against a fixed schema (fast path,
  monitoring.parse_arrow), and falls back to a tolerant line-by-line parse for a block that pyarrow
  refuses (a corrupt or truncated line, the seed's older records whose `prediction` is a string,
  `true`/`false` inputs, ...; monitoring.blocks); both read the record's keys through one mapping
  (`monitoring.records.FIELDS`);
- takes the decision (1 high risk) from the record's `prediction.decision`, or, in records written
  before it was logged, from the label;
- counts corrupt lines and skips them: not JSON, not an object, longer than MAX_LINE_BYTES (never
  held whole in memory), or a value of the wrong type or outside plausible bounds (see
  monitoring.records: a timestamp in [2000, 2100), a duration in [0, 3600] s, ...), never coerced;
- keeps only the columns monitoring needs, as numbers, so memory grows with the number of
  records (about 150 bytes each), never with the raw text: a block is parsed and dropped.

Each row remembers where it came from (`file`, `line`, 1-based) so alerts can point at it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.blocks import blocks, parse_block
from monitoring.records import (
    ADVISER,
    ADVISER_OF,
    APPLICANT,
    CATEGORY_COLUMNS,
    ERROR,
    FILE,
    FRAME_COLUMNS,
    LINE,
    NUMERIC_COLUMNS,
    TIME,
)
from monitoring.sources import LogReadError, LogSpec, expand, log_paths
from scoring.schema import UI_FEATURE_NAMES

HEAD_BYTES = 512  # compared on refresh to tell a file that grew from one rewritten


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
        APPLICANT: pd.Series([], dtype="Int64"),
    }
    columns |= {name: pd.Series([], dtype="category") for name in CATEGORY_COLUMNS}
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
            for first_line, n_lines, block in blocks(fh, position):
                chunk = parse_block(block, n_lines, first_line, index, data, max_examples)
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


def _rows(data: LogData, mask: np.ndarray) -> LogData:
    """The rows of `mask`; categories only they hold (a model version only decisions name is no call's)."""
    frame = data.frame
    if not mask.all():
        frame = frame[mask].reset_index(drop=True)
        for column in CATEGORY_COLUMNS:
            frame[column] = frame[column].cat.remove_unused_categories()
    return LogData(frame=frame, files=data.files, corrupt_lines=data.corrupt_lines,
                   corrupt_examples=data.corrupt_examples, ends=data.ends)


def split_calls(data: LogData) -> tuple[LogData, LogData]:
    """(the calls, the advisers' decisions) of `data`: a decision line (`ADVISER` set) is not a call, and
    nothing that counts calls (counts, latency, errors, drift, shares, sources) may see it."""
    decided = data.frame[ADVISER].notna().to_numpy()
    return _rows(data, ~decided), _rows(data, decided & final_decisions(data.frame))


def final_decisions(frame: pd.DataFrame) -> np.ndarray:
    """True on each evaluation's last decision line: an explicit replacement (`replaces`) supersedes
    the earlier decision on the same evaluation, so counts and the override rate see final decisions."""
    of = frame[ADVISER_OF].astype(object)
    keyed = of.notna().to_numpy()
    last = ~of.where(keyed, None).duplicated(keep="last").to_numpy() | ~keyed
    return last
