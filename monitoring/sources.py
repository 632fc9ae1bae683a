"""Which files make up "the log": one path, several, or a glob (one log per app replica), each with its
rotated files (`predictions.log.N`, ..., `.1`, then the live file: the numbering of
`logging.handlers.RotatingFileHandler`, the highest number the oldest)."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

LogSpec = str | Path | Sequence[str | Path]
_GLOB_CHARS = frozenset("*?[")


class LogReadError(OSError):
    """The log cannot be read at all (missing, a folder, unreadable)."""


def log_files(path: Path) -> list[Path]:
    """The log and its rotated files, oldest first: `path.N`, ..., `path.1`, `path`."""
    rotated = []
    if path.parent.is_dir():
        for candidate in path.parent.glob(glob.escape(path.name) + ".*"):
            suffix = candidate.name[len(path.name) + 1:]
            if suffix.isdigit() and candidate.is_file():
                rotated.append((int(suffix), candidate))
    ordered = [p for _, p in sorted(rotated, reverse=True)]
    if path.is_file():
        ordered.append(path)
    return ordered


def _is_rotated_or_lock(path: Path) -> bool:
    stem, _, suffix = path.name.rpartition(".")
    return bool(stem) and (suffix.isdigit() or suffix == "lock")


def log_paths(spec: LogSpec) -> list[Path]:
    """The live logs named by `spec`: a path, a comma-separated list, a glob (`logs/*.log`) or a list of these.

    Rotated files and `.lock` files matched by a glob are left to their live log. Raises LogReadError
    when an item names nothing.
    """
    items = [spec] if isinstance(spec, str | Path) else list(spec)
    paths: list[Path] = []
    for item in items:
        for text in str(item).split(",") if isinstance(item, str) else [str(item)]:
            text = text.strip()
            if not text:
                continue
            if _GLOB_CHARS & set(text):
                matches = [Path(m) for m in sorted(glob.glob(text)) if not _is_rotated_or_lock(Path(m))]
                if not matches:
                    raise LogReadError(f"no log matches {text}")
                paths += matches
            else:
                paths.append(Path(text))
    if not paths:
        raise LogReadError("no log given")
    return list(dict.fromkeys(paths))


def expand(spec: LogSpec) -> list[Path]:
    """Every file to read for `spec`: each log's rotated files then itself, log after log."""
    files: list[Path] = []
    for path in log_paths(spec):
        if path.is_dir():
            raise LogReadError(f"{path} is a folder, expected a log file (JSON lines)")
        found = log_files(path)
        if not found:
            raise LogReadError(f"no log at {path} (nor rotated files {path.name}.1, ...)")
        files += found
    return files


def file_signature(spec: LogSpec) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime_ns, size) of every file of the logs: changes whenever a record is written."""
    try:
        paths = log_paths(spec)
    except LogReadError:
        return ()
    out = []
    for p in (f for path in paths for f in log_files(path)):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)
