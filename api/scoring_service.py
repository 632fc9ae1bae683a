"""What the JSON API and the form share: the loaded predictor (or why it is absent), the
validator built from its training ranges, the feature store of known applicants (or why it is
absent), the prediction logger and the recent evaluations advisers decide on. No HTTP or UI code.

Every scored call is logged with its `source` (`scoring.schema.LOG_SOURCES`: form, api, batch,
dossier, what-if) and, for a dossier, its `applicant_id`; an adviser's decision is a line of its
own (`record_decision`)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from api.adviser import AdviserDecision, RecentEvaluations, decide, letter_html
from api.logger import PredictionLogger, log_prediction, new_request_id
from scoring import config
from scoring.artifacts import ArtifactError
from scoring.schema import (
    ADVISER_DECISION_KEY,
    ID_COLUMN,
    REPORT_FILE,
    SOURCE_API,
    SOURCE_BATCH,
    SOURCE_DOSSIER,
    SOURCE_WHAT_IF,
    STATUS_ERROR,
)
from scoring.store import StoreError
from scoring.store_build import model_identity, open_default_store
from serving.predictor import Prediction, Predictor
from serving.validation import Validator
from serving.whatif import WhatIfRules

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """No model is loaded; the message says why and what to do."""


class StoreUnavailable(RuntimeError):
    """No feature store is open (dossiers answer 503); the message says why."""


class UnknownApplicant(LookupError):
    """No stored applicant has this number (404)."""

    def __init__(self, applicant_id: int):
        self.applicant_id = applicant_id
        super().__init__(f"no applicant {applicant_id} in the feature store")


class UnknownRequest(LookupError):
    """No recent evaluation has this request id (404)."""

    def __init__(self, request_id: str):
        self.request_id = request_id
        super().__init__(f"no recent evaluation {request_id[:64]!r} (this process keeps the last ones only)")


@dataclass(frozen=True)
class DossierResult:
    """A stored applicant scored: their dossier, the decision on the row scored, and for a what-if
    the decision on their own stored row (`base`)."""

    dossier: Any
    result: Prediction
    base: Prediction | None
    source: str


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"/:,;()]+/)*([^\s'\"/:,;()]+)")


def shown_path(text: str | None) -> str | None:
    """A message fit for a response: every absolute path cut to its last two parts ("…/logs/x.log")."""
    if text is None:
        return None

    def cut(m: re.Match[str]) -> str:
        parts = m.group(0).rstrip("/").split("/")
        return "…/" + "/".join(parts[-2:]) if len(parts) > 2 else m.group(0)

    return _ABSOLUTE_PATH.sub(cut, text)


def load_predictor(model_dir: str | Path | None = None) -> tuple[Predictor | None, str | None]:
    """The verified predictor of `model_dir` (default `MODEL_DIR`), or None and why it could not be loaded."""
    model_dir = Path(model_dir or config.model_dir())
    try:
        return Predictor.from_dir(model_dir), None
    except ArtifactError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. a pickle from another xgboost: serve 503, say why
        return None, f"{model_dir} could not be loaded ({type(exc).__name__}: {exc})"


def validator_for(predictor: Predictor) -> Validator:
    """The input rules of a predictor's model (its training ranges): one for the service, one for
    `predict_credit_score` when it runs without a service."""
    return Validator(predictor.features, predictor.artifacts.reference.get("ranges", {}))


def refusal_message(exc: BaseException) -> str:
    """What the log says of a call that raised: the refusal's own words (bad input, no model), or the
    type and text of an unexpected error."""
    if isinstance(exc, ValueError | ModelUnavailable):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


class RefusalLog:
    """`with service.refusals(...)`: when the block raises, the call is logged once as refused (input as
    sent, `status="error"`), then the exception goes on to the caller, which answers it (422, 503, a
    French message in the form). The one place where the API and the form log refusals."""

    __slots__ = ("service", "request_id", "started", "input", "client", "source")

    def __init__(self, service: ScoringService, request_id: str, started: float, input: Callable[[], dict[str, Any]],
                 client: str | None, source: str | None):
        self.service, self.request_id, self.started = service, request_id, started
        self.input, self.client, self.source = input, client, source

    def __enter__(self) -> RefusalLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if isinstance(exc, Exception):
            self.service.log_refusal(request_id=self.request_id, input=self.input(), started=self.started,
                                     error=refusal_message(exc), client=self.client, source=self.source)
        return False


@dataclass
class ScoringService:
    predictor: Predictor | None
    logger: PredictionLogger
    load_error: str | None = None
    store: Any = None  # scoring.store.FeatureStore of the loaded model, or None (`store_reason` says why)
    store_reason: str | None = "no feature store configured"
    validator: Validator | None = field(default=None, init=False)
    what_if_rules: WhatIfRules | None = field(default=None, init=False)
    recent: RecentEvaluations = field(default_factory=RecentEvaluations, init=False)
    _store_to_build: Path | None = field(default=None, init=False, repr=False)
    started_at: float = field(default_factory=time.time, init=False)

    def __post_init__(self) -> None:
        if self.predictor is not None:
            self.validator = validator_for(self.predictor)
            self.what_if_rules = WhatIfRules(self.validator)
        self.attach_store(self.store, self.store_reason)

    def attach_store(self, store: Any, reason: str | None) -> None:
        """Use `store` for dossiers unless it was built for another model (then say why, in `/health`)."""
        if store is not None and self.predictor is not None:
            if store.model_version != self.predictor.model_version:
                reason = (f"the feature store was built for model {store.model_version}, not for the loaded model "
                          f"{self.predictor.model_version}: rebuild it (python build_store.py --help)")
                store = None
            elif list(store.features) != self.predictor.features:
                reason, store = "the feature store's columns are not the loaded model's features: rebuild it", None
        elif store is not None:
            reason, store = "no model loaded", None
        self.store, self.store_reason = store, (None if store is not None else reason)

    @classmethod
    def load(cls, model_dir: str | Path | None = None, log_path: str | Path | None = None) -> ScoringService:
        """Load the model; a bad or absent model folder leaves the service up without one (503)."""
        model_dir = Path(model_dir or config.model_dir())
        predictor, why = load_predictor(model_dir)
        service = cls(predictor, PredictionLogger(log_path or config.log_path()), load_error=why)
        if predictor is None:
            return service
        service.attach_store(*_open_store(model_dir, build=False))
        if service.store is None and _twin_model(model_dir):
            service._store_to_build = model_dir
            service.store_reason = ("being built from the synthetic twin the model was trained on (about 30 s "
                                    "at 30,000 applicants); dossiers answer 503 until then")
        return service

    def start_store_build(self) -> threading.Thread | None:
        """Build the default store of a twin-trained model in a thread (the app's start-up calls this,
        so the server answers at once; `/health` and dossiers say it is being built); attach it when
        done. None when there is nothing to build."""
        model_dir, self._store_to_build = self._store_to_build, None
        if model_dir is None:
            return None

        def build() -> None:
            store, reason = _open_store(model_dir, build=True)
            self.attach_store(store, reason)
            log.warning("feature store %s", f"ready ({len(self.store)} applicants)" if self.store is not None
                        else f"unavailable: {self.store_reason}")

        thread = threading.Thread(target=build, name="feature-store-build", daemon=True)
        thread.start()
        return thread

    def require_model(self) -> tuple[Predictor, Validator]:
        if self.predictor is None or self.validator is None:
            raise ModelUnavailable(f"no model loaded: {shown_path(self.load_error)}")
        return self.predictor, self.validator

    @property
    def model_version(self) -> str | None:
        return self.predictor.model_version if self.predictor else None

    def require_store(self) -> Any:
        if self.store is None:
            raise StoreUnavailable(f"no feature store of known applicants: {shown_path(self.store_reason)}")
        return self.store

    def score(self, features: dict[str, float], *, request_id: str, started: float,
              explain: bool = True, client: str | None = None, source: str = SOURCE_API) -> Prediction:
        """Score one valid applicant and log the call (`features` is logged as given: not copied)."""
        predictor, _ = self.require_model()
        result = predictor.predict(features, explain=explain)
        self._logged(request_id, features, result, started, client, source, None)
        return result

    def _logged(self, request_id: str, given: dict[str, Any], result: Prediction, started: float,
                client: str | None, source: str, applicant_id: int | None) -> None:
        log_prediction(request_id=request_id, input=given,
                       prediction={"score": result.score, "label": result.label, "decision": result.prediction,
                                   "grade": result.grade},
                       duration=time.perf_counter() - started, model_version=result.model_version, client=client,
                       source=source, applicant_id=applicant_id, logger=self.logger)
        self.recent.add(request_id, result, source, applicant_id)

    def dossier(self, applicant_id: int) -> Any:
        """The stored applicant (`scoring.store.Dossier`); raises StoreUnavailable / UnknownApplicant."""
        found = self.require_store().lookup(applicant_id)
        if found is None:
            raise UnknownApplicant(applicant_id)
        return found

    def score_dossier(self, applicant_id: int, overrides: dict[str, float] | None = None, *, request_id: str,
                      started: float, explain: bool = True, client: str | None = None) -> DossierResult:
        """Score a stored applicant on their own full row, or with `overrides` (what-if: the store
        recomputes the row from their raw fields, the base decision is their stored row's). Logged
        with source dossier / what-if and the applicant's number."""
        predictor, _ = self.require_model()
        dossier = self.dossier(applicant_id)
        stored = np.asarray(dossier.row, dtype=np.float32).reshape(1, -1)
        if overrides:
            row = np.asarray(self.store.what_if(dossier, overrides), dtype=np.float32).reshape(1, -1)
            result = predictor.predict_row(row, explain=explain)
            base, source = predictor.predict_row(stored, explain=False), SOURCE_WHAT_IF
        else:
            result, base, source = predictor.predict_row(stored, explain=explain), None, SOURCE_DOSSIER
        self._logged(request_id, {ID_COLUMN: applicant_id} | (overrides or {}), result, started, client, source,
                     applicant_id)
        return DossierResult(dossier, result, base, source)

    def record_decision(self, of_request: str, decision: Any, reason: Any, *, source: str,
                        client: str | None = None) -> AdviserDecision:
        """The adviser's final decision on a recent evaluation, logged as a line of its own
        (`ADVISER_DECISION_KEY`, `prediction` null); raises UnknownRequest or `api.adviser.DecisionError`."""
        started = time.perf_counter()
        evaluation = self.recent.get(of_request) if isinstance(of_request, str) else None
        if evaluation is None:
            raise UnknownRequest(str(of_request))
        made = decide(evaluation, decision, reason)
        self.recent.record(made)
        log_prediction(request_id=new_request_id(), input={"request_id": of_request, "decision": decision,
                                                           "reason": made.reason},
                       prediction=None, duration=time.perf_counter() - started,
                       model_version=evaluation.prediction.model_version, client=client, source=source,
                       applicant_id=evaluation.applicant_id, extra={ADVISER_DECISION_KEY: made.as_dict()},
                       logger=self.logger)
        return made

    def letter_for_request(self, request_id: str) -> str:
        """The applicant's letter for a recent evaluation (with the adviser's decision when recorded)."""
        evaluation = self.recent.get(request_id)
        if evaluation is None:
            raise UnknownRequest(request_id)
        return letter_html(evaluation, self.recent.decision(request_id))

    def letter_for_applicant(self, applicant_id: int, *, client: str | None = None) -> str:
        """The letter of the applicant's latest decided evaluation, else of their stored row scored now."""
        self.dossier(applicant_id)  # 503 without a store, 404 for an unknown number
        decided = self.recent.latest_decided(applicant_id)
        if decided is not None:
            return letter_html(*decided)
        request_id = new_request_id()
        self.score_dossier(applicant_id, request_id=request_id, started=time.perf_counter(), client=client)
        return self.letter_for_request(request_id)

    def score_rows(self, rows: list[dict[str, float]], *, request_id: str, started: float,
                   client: str | None = None, source: str | None = None) -> list[Prediction]:
        """Score valid applicants in one call; one log record per row (`<request_id>-<i>`)."""
        predictor, _ = self.require_model()
        results = predictor.predict_rows(rows)
        duration = (time.perf_counter() - started) / max(len(rows), 1)
        for i, (row, result) in enumerate(zip(rows, results, strict=True)):
            log_prediction(request_id=f"{request_id}-{i}", input=row,
                           prediction={"score": result.score, "label": result.label, "decision": result.prediction,
                                   "grade": result.grade},
                           duration=duration, model_version=result.model_version, client=client,
                           source=SOURCE_BATCH, logger=self.logger)
        return results

    def refusals(self, *, request_id: str, started: float, input: Callable[[], dict[str, Any]],
                 client: str | None = None, source: str | None = None) -> RefusalLog:
        """A `with` block whose exception is logged as a refused call (`input()` gives what was sent)."""
        return RefusalLog(self, request_id, started, input, client, source)

    def log_refusal(self, *, request_id: str, input: dict[str, Any], started: float, error: str,
                    client: str | None = None, source: str | None = None) -> None:
        applicant = input.get(ID_COLUMN)
        log_prediction(request_id=request_id, input=input, prediction=None, duration=time.perf_counter() - started,
                       model_version=self.model_version, status=STATUS_ERROR, error=error[:1000], client=client,
                       source=source, applicant_id=applicant if type(applicant) is int else None, logger=self.logger)

    def report_html(self) -> bytes | None:
        """The loaded model's report (`REPORT_FILE`, checked against the manifest at load), or None."""
        if self.predictor is None:
            return None
        artifacts = self.predictor.artifacts
        path = artifacts.directory / REPORT_FILE
        if REPORT_FILE not in artifacts.manifest.get("files", {}) or not path.is_file():
            return None
        return path.read_bytes()

    def health(self) -> dict[str, Any]:
        return {
            # degraded: predictions are served but the log is failing now (see logger.last_error)
            "status": "unavailable" if not self.predictor else "degraded" if self.logger.failing else "ok",
            "model_loaded": self.predictor is not None,
            "model_version": self.model_version,
            "reason": shown_path(self.load_error),
            "uptime_s": round(time.time() - self.started_at, 1),
            "logger": {k: shown_path(v) if k in ("path", "last_error") else v for k, v in self.logger.stats().items()},
            "feature_store": self.store_health(),
        }

    def store_health(self) -> dict[str, Any]:
        if self.store is None:
            return {"loaded": False, "reason": shown_path(self.store_reason)}
        return {"loaded": True, "applicants": len(self.store), "model_version": self.store.model_version}


def _open_store(model_dir: Path, *, build: bool) -> tuple[Any, str | None]:
    """The default feature store of `model_dir` (`FEATURE_STORE` overrides), or None and why."""
    try:
        return open_default_store(model_dir, build=build)
    except Exception as exc:  # noqa: BLE001 - the app serves without dossiers and /health says why
        return None, f"the feature store could not be opened ({type(exc).__name__}: {exc})"


def _twin_model(model_dir: Path) -> bool:
    """True when a missing default store would be built from the twin (no `FEATURE_STORE` set)."""
    if config.settings().feature_store is not None:
        return False
    try:
        source = model_identity(model_dir)[2]
    except StoreError:
        return False
    return isinstance(source, dict) and source.get("kind") == "synthetic"
