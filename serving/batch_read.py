"""Reading a batch input in bounded chunks: CSV (plain or .gz) through pyarrow, Parquet batch by batch.

CSV: the file is read in blocks of bytes cut at a line end, and each block is parsed by
`pyarrow.csv.read_csv` with explicit column types (numbers as float64, the id as int64), on
pyarrow's threads, without the GIL. Owning the blocks (rather than one streaming reader) keeps the
line number of every row and lets a block whose fast parse fails (text in a numeric column, a row
with the wrong number of fields, blank lines) be parsed again with every column as text: the
checks (`serving.batch_check`) then say which row is wrong and why, and the next block goes on at
full speed. Parquet: `ParquetFile.iter_batches`, so memory does not depend on the row groups.

Line numbers are the file's: the header is line 1 (for Parquet, the row's position + 2, as if the
same rows were a CSV file with a header).
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# The spellings of a missing value that pandas reads as NaN (pyarrow's default list lacks a few).
NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
# Bytes read at the start of a CSV file to measure its mean line length (block size = rows x length).
SAMPLE_BYTES = 1 << 20
# A line longer than this is refused (a CSV of applicants has lines of a few KB): reading /dev/zero or a
# file without line ends stops here instead of filling memory.
MAX_LINE_BYTES = 1 << 20
_READ_ERRORS = (OSError, EOFError, zlib.error)  # EOFError: a truncated .gz; zlib.error: corrupt compressed data


def _read_failure(path: Path, exc: BaseException, line: int) -> InputFileError:
    if isinstance(exc, EOFError):
        return InputFileError(f"{path}: the compressed file is truncated (it ends inside line {line}); "
                              "copy it again")
    return InputFileError(f"{path}: cannot be read at line {line} ({exc})")


def _too_long(path: Path, line: int) -> InputFileError:
    return InputFileError(f"{path}: line {line} is longer than {MAX_LINE_BYTES} bytes (not a CSV of applicants?)")


def _header_line(fh, path: Path) -> bytes:
    """The header line, at most MAX_LINE_BYTES."""
    try:
        first = fh.readline(MAX_LINE_BYTES + 1)
    except _READ_ERRORS as exc:
        raise _read_failure(path, exc, 1) from exc
    if len(first) > MAX_LINE_BYTES:
        raise _too_long(path, 1)
    return first


def _check_line_lengths(path: Path, block: bytes, first_line: int) -> None:
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    lengths = np.diff(ends, prepend=-1)
    longest = int(np.argmax(lengths))
    if lengths[longest] > MAX_LINE_BYTES:
        raise _too_long(path, first_line + longest)


def bad_text_line(block: bytes, first_line: int) -> int | None:
    """The line number of the first line of `block` that is not UTF-8, or None."""
    for i, line in enumerate(block.split(b"\n")):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return first_line + i
    return None


class InputFileError(ValueError):
    """The file cannot be read at all (absent, empty, not CSV or Parquet, not UTF-8...)."""


@dataclass
class Chunk:
    """Rows of the input: a typed table when the fast parse worked, all text otherwise."""

    table: pa.Table
    lines: np.ndarray  # line number of each row of `table`
    malformed: list[tuple[int, str]]  # (line, reason) of rows that could not be split into fields


def is_parquet(path: Path) -> bool:
    return path.name.endswith(".parquet")


def _open_bytes(path: Path):
    try:
        return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be opened ({exc})") from exc


def read_header(path: Path) -> list[str]:
    """Column names of the file (CSV header line or Parquet schema)."""
    if is_parquet(path):
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except FileNotFoundError as exc:
            raise InputFileError(f"{path}: file not found") from exc
        except (OSError, pa.ArrowException) as exc:
            raise InputFileError(f"{path}: cannot be read as Parquet ({exc})") from exc
    with _open_bytes(path) as fh:
        first = _header_line(fh, path)
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: cannot be read as CSV at line 1 (not UTF-8 text: {exc})") from exc
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty; expected a CSV with a header line")
    if "\x00" in text:
        raise InputFileError(f"{path}: cannot be read as CSV (binary content)")
    try:
        return next(csv.reader([text]))
    except csv.Error as exc:
        raise InputFileError(f"{path}: line 1 is not a CSV header ({exc})") from exc


def _blocks(path: Path, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(line number of the block's first row, whole lines), after the header."""
    line = 2
    with _open_bytes(path) as fh:
        _header_line(fh, path)
        rest = b""
        while True:
            try:
                data = fh.read(block_bytes)
            except _READ_ERRORS as exc:
                raise _read_failure(path, exc, line + rest.count(b"\n")) from exc
            if not data:
                if rest:
                    yield line, rest
                return
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a block: read on, up to the longest line accepted
                if len(data) > MAX_LINE_BYTES:
                    raise _too_long(path, line)
                rest = data
                continue
            block, rest = data[:cut], data[cut:]
            if len(block) > MAX_LINE_BYTES:
                _check_line_lengths(path, block, line)
            yield line, block
            line += block.count(b"\n")


def _parse(block: bytes, names: list[str], read: list[str], types: dict[str, pa.DataType], *,
           text: bool) -> tuple[pa.Table, list[tuple[int | None, str, int]]]:
    malformed: list[tuple[int | None, str, int]] = []

    def skip(row) -> str:
        malformed.append((row.number, row.text, row.actual_columns))
        return "skip"

    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in read} if text else types, include_columns=read,
        null_values=list(NA_VALUES), strings_can_be_null=True, quoted_strings_can_be_null=True)
    table = pacsv.read_csv(
        pa.BufferReader(block),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=len(block) + 1),
        parse_options=pacsv.ParseOptions(invalid_row_handler=skip, ignore_empty_lines=not text),
        convert_options=convert)
    return table, malformed


def _slow_chunk(path: Path, block: bytes, first_line: int, names: list[str], read: list[str],
                types: dict[str, pa.DataType]) -> Chunk:
    """Every column as text, one thread (so that pyarrow numbers the rows it cannot split)."""
    try:
        table, bad = _parse(block, names, read, types, text=True)
    except pa.ArrowInvalid as exc:  # e.g. invalid UTF-8: name its line
        bad = bad_text_line(block, first_line)
        where = f"at line {bad} (not UTF-8 text)" if bad is not None else f"near line {first_line} ({exc})"
        raise InputFileError(f"{path}: cannot be read as CSV {where}") from exc
    physical = np.arange(first_line, first_line + table.num_rows + len(bad))
    skipped = np.array([number - 1 for number, _, _ in bad], dtype=np.int64)
    malformed = [(first_line + number - 1, f"has {fields} fields, expected {len(names)}")
                 for number, _, fields in bad]
    lines = np.delete(physical, skipped)
    blank = first_line + np.flatnonzero([not line.strip() for line in block.split(b"\n")])
    if blank.size:  # a blank line is not a row (as in the fast parse)
        keep = ~np.isin(lines, blank)
        table, lines = table.filter(pa.array(keep)), lines[keep]
    return Chunk(table, lines, malformed)


def _csv_chunk(path: Path, first_line: int, block: bytes, names: list[str], read: list[str],
               types: dict[str, pa.DataType]) -> Chunk:
    lines = block.count(b"\n") + (not block.endswith(b"\n"))
    try:
        table, bad = _parse(block, names, read, types, text=False)
        if not bad and table.num_rows == lines:
            return Chunk(table, np.arange(first_line, first_line + lines), [])
    except pa.ArrowInvalid:
        pass
    return _slow_chunk(path, block, first_line, names, read, types)


def csv_tasks(path: Path, names: list[str], read: list[str], types: dict[str, pa.DataType],
              chunk_rows: int) -> Iterator[Callable[[], Chunk]]:
    """One parse task per block of about `chunk_rows` rows (the blocks are read as tasks are taken)."""
    with _open_bytes(path) as fh:
        _header_line(fh, path)
        try:
            sample = fh.read(SAMPLE_BYTES)
        except _READ_ERRORS as exc:
            raise _read_failure(path, exc, 2) from exc
    line_bytes = len(sample) / max(sample.count(b"\n"), 1)
    block_bytes = max(1, int(chunk_rows * line_bytes))
    for first_line, block in _blocks(path, block_bytes):
        yield partial(_csv_chunk, path, first_line, block, names, read, types)


def parquet_chunks(path: Path, read: list[str], chunk_rows: int) -> Iterator[Chunk]:
    """Batches of at most `chunk_rows` rows of the columns `read`, whatever the row groups."""
    try:
        parquet = pq.ParquetFile(path)
        line = 2
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=read):
            yield Chunk(pa.Table.from_batches([batch]), np.arange(line, line + batch.num_rows), [])
            line += batch.num_rows
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except (OSError, pa.ArrowException) as exc:
        raise InputFileError(f"{path}: cannot be read as Parquet ({exc})") from exc


def read_chunks(path: Path, names: list[str], read: list[str], types: dict[str, pa.DataType],
                chunk_rows: int, *, prepare: Callable[[Chunk], Any] = lambda chunk: chunk, workers: int = 2,
                ahead: int = 3) -> Iterator[Any]:
    """`prepare(chunk)` for the chunks of the file in order, run ahead by `workers` threads.

    At most `ahead` chunks are in flight, so memory depends on the chunk size only. CSV blocks are
    parsed in parallel, each on one thread (no GIL; measured: less CPU per row than pyarrow's own
    multi-threaded parse of one block). Parquet batches are read in order by one thread (pyarrow
    decodes a batch on its own threads).
    """
    if is_parquet(path):
        batches = parquet_chunks(path, read, chunk_rows)

        def next_batch() -> Any:
            chunk = next(batches, None)
            return None if chunk is None else prepare(chunk)

        tasks: Iterator[Callable[[], Any]] = iter(lambda: next_batch, None)
        workers = 1
    else:
        tasks = (lambda task=task: prepare(task()) for task in csv_tasks(path, names, read, types, chunk_rows))
    with ThreadPoolExecutor(workers, thread_name_prefix="batch-read") as pool:
        pending: deque[Future] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(task))
                if len(pending) >= ahead:
                    item = pending.popleft().result()
                    if item is None:
                        return
                    yield item
            while pending:
                item = pending.popleft().result()
                if item is not None:
                    yield item
        finally:
            for future in pending:
                future.cancel()
