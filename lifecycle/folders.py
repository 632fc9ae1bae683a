"""The folder the service reads, replaced in one step; the replaced folders kept; the history of changes.

`install` copies a model folder next to the serving folder (same file system), then swaps the two
names in one system call (Linux `renameat2(RENAME_EXCHANGE)`): a reader sees the old folder or the new
one, never a mix and never no folder. A serving path that is a symbolic link is swapped by replacing
the link (also one step). Elsewhere (no renameat2) the old folder is renamed away then the new one
renamed in: two steps, logged as such. The replaced folder is moved into the lifecycle folder's
`archive/`, so that `rollback` can put it back; every change is one line of `history.jsonl`.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HISTORY_FILE = "history.jsonl"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def exchange(a: Path, b: Path) -> bool:
    """Swap the names `a` and `b` atomically; False when the system cannot (then nothing changed)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), f"{a} <-> {b}")


def staging_copy(source: Path, serving: Path) -> Path:
    """A copy of `source` beside `serving` (same file system: the swap is a rename), hidden by its name."""
    staging = serving.parent / f".{serving.name}.incoming-{uuid.uuid4().hex[:8]}"
    shutil.copytree(source, staging, symlinks=False)
    return staging


def swap_in(staging: Path, serving: Path, archive: Path) -> Path | None:
    """Make `staging` the serving folder in one step; the folder it replaces goes to `archive` (returned;
    None when there was none)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    if serving.is_symlink():
        old_target = serving.resolve()
        target = serving.parent / f".{serving.name}.{archive.name}"
        staging.rename(target)
        link = serving.parent / f".{serving.name}.link-{uuid.uuid4().hex[:8]}"
        link.symlink_to(target.name)
        os.replace(link, serving)
        shutil.move(str(old_target), str(archive))
        return archive
    if not serving.exists():
        staging.rename(serving)
        return None
    if not exchange(staging, serving):
        log.warning("this system cannot swap two folders in one step: %s is replaced in two renames", serving)
        aside = serving.parent / f".{serving.name}.outgoing-{uuid.uuid4().hex[:8]}"
        serving.rename(aside)
        staging.rename(serving)
        staging = aside
    shutil.move(str(staging), str(archive))  # `staging` now holds the replaced folder
    return archive


def portable(source: str | Path) -> str:
    """How a decision names a model folder or version: a registry version as it is, a folder relative to the
    working folder when it is inside it, else by its name (a decision ships with the model: no /tmp path)."""
    text = str(source)
    if text.isdigit():
        return text
    path = Path(text).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def append_history(lifecycle_dir: Path, entry: dict[str, Any]) -> dict[str, Any]:
    lifecycle_dir.mkdir(parents=True, exist_ok=True)
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **entry}
    with open(lifecycle_dir / HISTORY_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry


def history(lifecycle_dir: Path) -> list[dict[str, Any]]:
    path = lifecycle_dir / HISTORY_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
