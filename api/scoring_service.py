"""What the JSON API and the form share: the loaded predictor (or why it is absent), the
validator built from its training ranges, and the prediction logger. No HTTP or UI code."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from api.logger import PredictionLogger, log_prediction
from api.predictor import Prediction, Predictor
from api.validation import Validator
from scoring import config
from scoring.artifacts import ArtifactError
from scoring.schema import REPORT_FILE, STATUS_ERROR


class ModelUnavailable(RuntimeError):
    """No model is loaded; the message says why and what to do."""


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
    validator: Validator | None = field(default=None, init=False)
    started_at: float = field(default_factory=time.time, init=False)

    def __post_init__(self) -> None:
        if self.predictor is not None:
            self.validator = validator_for(self.predictor)

    @classmethod
    def load(cls, model_dir: str | Path | None = None, log_path: str | Path | None = None) -> ScoringService:
        """Load the model; a bad or absent model folder leaves the service up without one (503)."""
        predictor, why = load_predictor(model_dir)
        return cls(predictor, PredictionLogger(log_path or config.log_path()), load_error=why)

    def require_model(self) -> tuple[Predictor, Validator]:
        if self.predictor is None or self.validator is None:
            raise ModelUnavailable(f"no model loaded: {shown_path(self.load_error)}")
        return self.predictor, self.validator

    @property
    def model_version(self) -> str | None:
        return self.predictor.model_version if self.predictor else None

    def score(self, features: dict[str, float], *, request_id: str, started: float,
              explain: bool = True, client: str | None = None, source: str | None = None) -> Prediction:
        """Score one valid applicant and log the call (`features` is logged as given: not copied)."""
        predictor, _ = self.require_model()
        result = predictor.predict(features, explain=explain)
        log_prediction(request_id=request_id, input=features,
                       prediction={"score": result.score, "label": result.label, "decision": result.prediction},
                       duration=time.perf_counter() - started, model_version=result.model_version, client=client,
                       source=source, logger=self.logger)
        return result

    def score_rows(self, rows: list[dict[str, float]], *, request_id: str, started: float,
                   client: str | None = None, source: str | None = None) -> list[Prediction]:
        """Score valid applicants in one call; one log record per row (`<request_id>-<i>`)."""
        predictor, _ = self.require_model()
        results = predictor.predict_rows(rows)
        duration = (time.perf_counter() - started) / max(len(rows), 1)
        for i, (row, result) in enumerate(zip(rows, results, strict=True)):
            log_prediction(request_id=f"{request_id}-{i}", input=row,
                           prediction={"score": result.score, "label": result.label, "decision": result.prediction},
                           duration=duration,
                           model_version=result.model_version, client=client, source=source, logger=self.logger)
        return results

    def refusals(self, *, request_id: str, started: float, input: Callable[[], dict[str, Any]],
                 client: str | None = None, source: str | None = None) -> RefusalLog:
        """A `with` block whose exception is logged as a refused call (`input()` gives what was sent)."""
        return RefusalLog(self, request_id, started, input, client, source)

    def log_refusal(self, *, request_id: str, input: dict[str, Any], started: float, error: str,
                    client: str | None = None, source: str | None = None) -> None:
        log_prediction(request_id=request_id, input=input, prediction=None, duration=time.perf_counter() - started,
                       model_version=self.model_version, status=STATUS_ERROR, error=error[:1000], client=client,
                       source=source, logger=self.logger)

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
        }
