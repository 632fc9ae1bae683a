"""The answers of `GET /api/applicants/{id}` kept per applicant (issue 21: a look-up near a plain call).

A stored applicant's answer depends only on their stored row and the serving model: the store is
read-only and a model is immutable once loaded. So the first look-up's answer (the prediction with
its reasons, the row for the log, the JSON body without its `request_id`) is kept in a bounded LRU
and served again; every look-up, cached or not, is still one log line with its own request id,
identity and duration, and one recent evaluation of its caller (decisions, letters).

The cache belongs to one (predictor, store) pair: a model swap or another store empties it before
the next answer (`entry_for` compares identities, so no stale answer can be served). Size:
`DOSSIER_CACHE` answers (0: off); one answer is about 5 KB, so the default 4,096 hold ~20 MB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.config import settings
from serving.predictor import Prediction


@dataclass(frozen=True)
class CachedDossier:
    """One applicant's answer: the prediction, the stored row with its feature names (what the log and
    the shadow read) and the JSON body without its request id (it ends with `}`)."""

    result: Prediction
    names: tuple[str, ...]  # the model's features, the row's order
    row: np.ndarray
    body: bytes

    def body_for(self, request_id: str) -> bytes:
        """The body with `request_id` as its last key (where `dossier_body` puts it)."""
        return b'%s,"request_id":"%s"}' % (self.body[:-1], request_id.encode())


class DossierCache:
    """A thread-safe LRU of `CachedDossier` per applicant, for one (predictor, store) pair at a time."""

    def __init__(self, size: int | None = None):
        self.size = settings().dossier_cache if size is None else size
        self._entries: OrderedDict[int, CachedDossier] = OrderedDict()
        self._owner: tuple[Any, Any] = (None, None)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, predictor: Any, store: Any, applicant_id: int) -> CachedDossier | None:
        with self._lock:
            if self._owner[0] is not predictor or self._owner[1] is not store:
                self._entries.clear()
                self._owner = (predictor, store)
            entry = self._entries.get(applicant_id)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(applicant_id)
            self.hits += 1
            return entry

    def put(self, predictor: Any, store: Any, applicant_id: int, entry: CachedDossier) -> None:
        """Keep `entry` unless the model or the store changed since it was computed."""
        if self.size <= 0:
            return
        with self._lock:
            if self._owner[0] is not predictor or self._owner[1] is not store:
                return
            self._entries[applicant_id] = entry
            self._entries.move_to_end(applicant_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
