"""A model swapped in the running service, without a restart: the champion's folder and the challenger's.

What triggers a look (docs/lifecycle.md): a watch thread every `MODEL_WATCH_SECONDS` (a look is a
stat() of the folder and of its manifest: `promote.py` swaps the folder in one rename, which changes
its inode), `POST /api/admin/reload` (behind the API tokens) and SIGHUP. A changed folder is loaded
through `Predictor.from_dir` (checksums, feature list) and `serving.model_checks.verify` (parity) while the
old model keeps serving; only a model that passes is installed, in one assignment
(`ScoringService.install`): a call holds the predictor it started with, so it is never scored by a
half-loaded model and its log line names the version that scored it. A refused model leaves the old
one serving; the reason is logged and shown in `/health` (`swap.refused`). A folder that changes while
it is read is read again.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scoring.schema import MANIFEST_FILE
from serving.model_checks import ModelRefused, verify
from serving.predictor import Predictor

log = logging.getLogger(__name__)

READ_ATTEMPTS = 3


def identity(folder: Path) -> tuple[int, int, int, int] | None:
    """What changes when a folder is swapped or its manifest rewritten; None when there is no folder."""
    try:
        d, m = os.stat(folder), os.stat(folder / MANIFEST_FILE)
    except OSError:
        return None
    return d.st_ino, m.st_ino, m.st_mtime_ns, m.st_size


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ModelSwapper:
    """Keeps a service's champion and challenger in step with their folders."""

    def __init__(self, service: Any, model_dir: Path, challenger_dir: Path | None):
        self.service, self.model_dir, self.challenger_dir = service, Path(model_dir), challenger_dir
        self._lock = threading.Lock()
        self._seen: dict[str, Any] = {"champion": identity(self.model_dir),
                                      "challenger": identity(challenger_dir) if challenger_dir else None}
        self.last_swap: dict[str, Any] | None = None
        self.refused: dict[str, Any] | None = None
        self.challenger_reason: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _load(self, folder: Path) -> tuple[Predictor, tuple | None]:
        for _ in range(READ_ATTEMPTS):
            before = identity(folder)
            predictor = Predictor.from_dir(folder)
            verify(predictor)
            after = identity(folder)
            if before == after:
                return predictor, after
        raise ModelRefused(f"{folder} kept changing while it was read")

    def check(self) -> dict[str, Any]:
        """Look at both folders now; install what changed and passes. Returns what happened."""
        with self._lock:
            return {"champion": self._check_champion(), "challenger": self._check_challenger()}

    def _check_champion(self) -> str:
        now = identity(self.model_dir)
        if now is None or now == self._seen["champion"]:
            return "unchanged"
        old = self.service.model_version
        try:
            predictor, now = self._load(self.model_dir)
        except Exception as exc:  # noqa: BLE001 - any failure (checksum, parity, unpickling): keep the old model
            self._seen["champion"] = now  # judged once; a new change of the folder is looked at again
            self.refused = {"at": _now(), "reason": str(exc), "serving": old}
            log.error("model swap refused, model %s keeps serving: %s", old, exc)
            return "refused"
        self._seen["champion"] = now
        self.refused = None
        if predictor.model_version == old:
            return "unchanged"
        self.service.install(predictor, self.model_dir)
        self.last_swap = {"at": _now(), "from": old, "to": predictor.model_version}
        log.warning("model %s replaced by %s without a restart", old, predictor.model_version)
        return "swapped"

    def _check_challenger(self) -> str:
        shadow = self.service.shadow
        if self.challenger_dir is None or shadow is None:
            return "off"
        now = identity(self.challenger_dir)
        if now == self._seen["challenger"] and (now is None) == (shadow.challenger is None):
            return "unchanged"
        self._seen["challenger"] = now
        if now is None:
            if shadow.challenger is not None:
                log.warning("challenger %s removed: shadow scoring off", shadow.challenger.model_version)
            shadow.challenger, self.challenger_reason = None, "no challenger folder"
            return "off"
        try:
            predictor, self._seen["challenger"] = self._load(self.challenger_dir)
        except Exception as exc:  # noqa: BLE001
            shadow.challenger, self.challenger_reason = None, f"challenger refused: {exc}"
            log.error("challenger refused, shadow scoring off: %s", exc)
            return "refused"
        shadow.challenger, self.challenger_reason = predictor, None
        log.warning("challenger %s loaded: every call is also scored by it, in the shadow", predictor.model_version)
        return "loaded"

    def start(self, every: float) -> None:
        """Look every `every` seconds on a daemon thread (0: never)."""
        if every <= 0 or self._thread is not None:
            return

        def watch() -> None:
            while not self._stop.wait(every):
                try:
                    self.check()
                except Exception as exc:  # noqa: BLE001 - the watch must outlive a bad look
                    log.error("model watch: %s", exc)

        self._thread = threading.Thread(target=watch, name="model-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def health(self) -> dict[str, Any]:
        return {"last_swap": self.last_swap, "refused": self.refused, "challenger_reason": self.challenger_reason}
