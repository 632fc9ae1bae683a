"""The prediction log's files on disk: size rotation and the bounds of age and total size.

Called by api/logger.py under the log's exclusive flock, so one process at a time renames or deletes.
Numbering as `logging.handlers.RotatingFileHandler`: `.1` is the most recent rotated file.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import time
from datetime import datetime
from pathlib import Path

ROTATE_EVERY_S = 86_400.0  # the live file is rotated once its first record is a day old (age bound at low traffic)
_ROTATED = re.compile(r"\.[0-9]+")
_FIRST_STAMP = re.compile(rb'\{"timestamp":"([^"]{10,40})"')


def rotate(path: Path, backups: int) -> None:
    """`path` -> `path.1` -> `path.2` ... (the oldest past `backups` is overwritten); no backup: truncate."""
    for i in range(backups - 1, 0, -1):
        src = path.with_name(f"{path.name}.{i}")
        if src.exists():
            os.replace(src, path.with_name(f"{path.name}.{i + 1}"))
    if backups > 0:
        os.replace(path, path.with_name(f"{path.name}.1"))
    else:
        os.truncate(path, 0)


def retain(path: Path, live_size: int, max_age_s: float, max_total_bytes: int) -> None:
    """Delete rotated files whose last record is older than `max_age_s`, then the oldest ones while the log
    and its rotated files exceed `max_total_bytes` (the live file is never deleted)."""
    now = time.time()
    rotated = sorted(((int(p.name.rsplit(".", 1)[1]), p) for p in path.parent.glob(glob.escape(path.name) + ".*")
                      if _ROTATED.fullmatch(p.name[len(path.name):])), reverse=True)
    stats = {p: p.stat() for _, p in rotated}
    total = live_size + sum(st.st_size for st in stats.values())
    for _, p in rotated:  # oldest first
        st = stats[p]
        if now - st.st_mtime > max_age_s or total > max_total_bytes:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
            total -= st.st_size


def first_record_time(path: Path) -> float | None:
    """Time of the first record of a log file (LogRecord writes its timestamp first), or None."""
    try:
        with open(path, "rb") as fh:
            match = _FIRST_STAMP.match(fh.read(120))
        return datetime.fromisoformat(match.group(1).decode()).timestamp() if match else None
    except (OSError, ValueError):
        return None
