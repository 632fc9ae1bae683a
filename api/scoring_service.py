"""What the JSON API and the form share: the loaded predictor (or why it is absent), the
validator built from its training ranges, the feature store of known applicants (or why it is
absent), the prediction logger and the recent evaluations advisers decide on. No HTTP or UI code.

Every scored call is logged with its `source` (`scoring.schema.LOG_SOURCES`: form, api, batch,
dossier, what-if) and, for a dossier, its `applicant_id`; an adviser's decision is a line of its
own (`record_decision`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from api.adviser import RecentEvaluations
from api.decisions import AdviserDecisions
from api.logger import PredictionLogger, log_prediction, new_request_id
from api.model_swap import ModelSwapper
from api.refusals import ModelUnavailable, RefusalLog, StoreUnavailable, UnknownApplicant, shown_path
from api.shadow import Shadow
from scoring import config
from scoring.artifacts import ArtifactError
from scoring.schema import (
    ID_COLUMN,
    MANIFEST_FILE,
    OUT_OF_RANGE_KEY,
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
from serving.whatif import WhatIfRules, check_derived

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DossierResult:
    """A stored applicant scored: their dossier, the decision on the row scored, and for a what-if
    the decision on their own stored row (`base`)."""

    dossier: Any
    result: Prediction
    base: Prediction | None
    source: str


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


def flagged(result: Prediction, validator: Validator, names: Any, values: Any) -> Prediction:
    """`result` with the features of the row scored (`names`, `values`) that lie past the widened training
    range (`serving.rules.Rules.out_of_range`): accepted, and said so at every door."""
    out = validator.rules.out_of_range(names, tuple(values))
    return dataclasses.replace(result, out_of_range=out) if out else result


def out_of_range_field(result: Prediction) -> dict[str, Any] | None:
    """The log record's `OUT_OF_RANGE_KEY` for a flagged call (None: nothing to add)."""
    return {OUT_OF_RANGE_KEY: list(result.out_of_range)} if result.out_of_range else None


@dataclass
class ScoringService(AdviserDecisions):
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
    # The model a call uses, read once per call: (predictor, validator), replaced in one assignment.
    _model: tuple[Predictor, Validator] | None = field(default=None, init=False, repr=False)
    shadow: Shadow | None = field(default=None, init=False)  # the challenger's worker (api/shadow.py)
    swapper: ModelSwapper | None = field(default=None, init=False)  # watches the folders (api/model_swap.py)
    # the form's queue (`api.form_queue.QueueGuard.health`), set when the form is mounted
    queue_health: Callable[[], dict[str, Any]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._report: tuple[Predictor, bytes | None] | None = None
        self.report_html()  # read with the model, so a later train.py into the folder does not change it
        if self.predictor is not None:
            self.validator = validator_for(self.predictor)
            self.what_if_rules = WhatIfRules(self.validator)
            self._model = (self.predictor, self.validator)
        self.attach_store(self.store, self.store_reason)

    def install(self, predictor: Predictor, model_dir: Path | None = None) -> None:
        """Serve `predictor` from the next call on (a verified model: `api.model_swap`). Calls under way
        finish with the model they started with; the feature store follows the new model's folder."""
        validator = validator_for(predictor)
        rules = WhatIfRules(validator)
        self._model = (predictor, validator)  # the one assignment calls read
        self.predictor, self.validator, self.what_if_rules, self.load_error = predictor, validator, rules, None
        if model_dir is not None:
            self.attach_store(*_open_store(Path(model_dir), build=False))
            if self.store is None and _twin_model(Path(model_dir)):
                self._store_to_build = Path(model_dir)
                self.start_store_build()

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
        service.shadow = Shadow(service.logger, share=config.shadow_share())
        service.swapper = ModelSwapper(service, model_dir, config.challenger_dir(model_dir))
        service.swapper.check()  # the challenger, when its folder holds one
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
            if self.store is not None:
                log.info("feature store ready (%d applicants)", len(self.store))
            else:
                log.warning("feature store unavailable: %s", self.store_reason)

        thread = threading.Thread(target=build, name="feature-store-build", daemon=True)
        thread.start()
        return thread

    def require_model(self) -> tuple[Predictor, Validator]:
        model = self._model
        if model is None:
            raise ModelUnavailable(f"no model loaded: {shown_path(self.load_error)}")
        return model

    @property
    def model_version(self) -> str | None:
        return self.predictor.model_version if self.predictor else None

    def require_store(self) -> Any:
        if self.store is None:
            raise StoreUnavailable(f"no feature store of known applicants: {shown_path(self.store_reason)}")
        return self.store

    def score(self, features: dict[str, float], *, request_id: str, started: float,
              explain: bool = True, client: str | None = None, source: str = SOURCE_API,
              model: tuple[Predictor, Validator] | None = None) -> Prediction:
        """Score one valid applicant and log the call (`features` is logged as given: not copied).
        `model`: the (predictor, validator) the caller validated with (default: the serving one); the
        model reads the features without the recorded-only ones (gender)."""
        predictor, validator = model or self.require_model()
        scored = validator.scored(features)
        result = flagged(predictor.predict(scored, explain=explain), validator, tuple(scored), scored.values())
        self._logged(request_id, features, result, started, client, source, None,
                     (tuple(scored), tuple(scored.values())))
        return result

    def _logged(self, request_id: str, given: dict[str, Any], result: Prediction, started: float,
                client: str | None, source: str, applicant_id: int | None,
                scored: tuple[tuple[str, ...], Any]) -> None:
        self._emit({"request_id": request_id, "input": given,
                    "prediction": {"score": result.score, "label": result.label, "decision": result.prediction,
                                   "grade": result.grade},
                    "duration": time.perf_counter() - started, "model_version": result.model_version,
                    "client": client, "source": source, "applicant_id": applicant_id,
                    "extra": out_of_range_field(result)}, *scored)
        self.recent.add(request_id, result, source, applicant_id, owner=client)

    def _emit(self, record: dict[str, Any], names: tuple[str, ...], values: Any) -> None:
        """Log a scored call: through the shadow worker when a challenger is set (it adds its fields)."""
        if self.shadow is None or not self.shadow.submit(record, names, values):
            log_prediction(**record, logger=self.logger)

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
        predictor, validator = self.require_model()
        dossier = self.dossier(applicant_id)
        stored = np.asarray(dossier.row, dtype=np.float32).reshape(1, -1)
        if overrides:  # recorded-only fields (gender) are logged, not scored
            kept = validator.scored(overrides)
            row = np.asarray(self.store.what_if(dossier, kept), dtype=np.float32).reshape(1, -1)
            self.check_derived(stored[0], row[0], kept)
            result = predictor.predict_row(row, explain=explain)
            base, source = predictor.predict_row(stored, explain=False), SOURCE_WHAT_IF
        else:
            result, base, source = predictor.predict_row(stored, explain=explain), None, SOURCE_DOSSIER
            row = stored
        result = flagged(result, validator, predictor.features, row[0].tolist())
        self._logged(request_id, {ID_COLUMN: applicant_id} | (overrides or {}), result, started, client, source,
                     applicant_id, (tuple(predictor.features), row[0]))
        return DossierResult(dossier, result, base, source)

    def log_dossier(self, applicant_id: int, result: Prediction, scored: tuple[tuple[str, ...], Any], *,
                    request_id: str, started: float, client: str | None = None) -> None:
        """Log a stored applicant's look-up answered from `api.dossier_cache` as `score_dossier` logs one
        (`scored`: the feature names and the stored row), and keep it as the caller's recent evaluation."""
        self._logged(request_id, {ID_COLUMN: applicant_id}, result, started, client, SOURCE_DOSSIER, applicant_id,
                     scored)

    def check_derived(self, stored: np.ndarray, changed: np.ndarray, overrides: dict[str, float]) -> None:
        """`serving.whatif.check_derived` with the loaded model's features and rules (raises `InputError`)."""
        predictor, validator = self.require_model()
        check_derived(validator, predictor.features, stored, changed, overrides)

    def score_rows(self, rows: list[dict[str, float]], *, request_id: str, started: float,
                   client: str | None = None, source: str | None = None) -> list[Prediction]:
        """Score valid applicants in one call; one log record per row (`<request_id>-<i>`)."""
        predictor, validator = self.require_model()
        scored = [validator.scored(row) for row in rows]
        results = [flagged(r, validator, tuple(kept), kept.values())
                   for r, kept in zip(predictor.predict_rows(scored), scored, strict=True)]
        duration = (time.perf_counter() - started) / max(len(rows), 1)
        for i, (row, kept, result) in enumerate(zip(rows, scored, results, strict=True)):
            self._emit({"request_id": f"{request_id}-{i}", "input": row,
                        "prediction": {"score": result.score, "label": result.label, "decision": result.prediction,
                                   "grade": result.grade},
                        "duration": duration, "model_version": result.model_version, "client": client,
                        "source": SOURCE_BATCH, "extra": out_of_range_field(result)}, tuple(kept), tuple(kept.values()))
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

    def audit_refusal(self, method: str, path: str, why: str, client: str | None = None) -> None:
        """One audit line for a request refused before any route ran (401, 403, 405, 413: `api.middleware`)."""
        self.log_refusal(request_id=new_request_id(), input={"method": method, "path": path},
                         started=time.perf_counter(), error=why, client=client)

    def report_html(self) -> bytes | None:
        """The loaded model's report (`REPORT_FILE`), read once per loaded model and checked against the
        manifest it was loaded with: a later `train.py` into the same folder does not change what the
        running model reports (None when absent or no longer the loaded model's)."""
        predictor = self.predictor
        if predictor is None:
            return None
        cached = self._report
        if cached is None or cached[0] is not predictor:
            cached = self._report = (predictor, _verified_report(predictor.artifacts))
        return cached[1]

    def model_folder_changed(self) -> str | None:
        """The model version now written in the loaded model's folder when it is not the loaded one
        (someone trained into it since), else None."""
        if self.predictor is None:
            return None
        try:
            manifest = json.loads((self.predictor.artifacts.directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "unreadable"
        on_disk = manifest.get("model_version")
        return None if on_disk == self.model_version else str(on_disk)

    def health(self) -> dict[str, Any]:
        changed = self.model_folder_changed()
        reason = shown_path(self.load_error)
        if changed is not None:
            reason = (f"the model folder now holds model {changed}, not the loaded {self.model_version}: "
                      "restart the service (or promote the new model) to serve it")
        queue = self.queue_health() if self.queue_health is not None else None
        shadow = self.shadow.stats() if self.shadow is not None else None
        degraded = (self.logger.failing or changed is not None or (queue is not None and queue["status"] != "ok")
                    or (shadow is not None and shadow["status"] == "degraded"))
        return {
            # degraded: predictions are served but the log is failing now (see logger.last_error), the model
            # folder was overwritten since loading (the service still serves the model it loaded), or the
            # form's queue is stopped (it is restarted within a second: api.form_queue), or the challenger's
            # process is down (the champion answers; calls are logged `challenger_skipped: worker_down`)
            "status": "unavailable" if not self.predictor else "degraded" if degraded else "ok",
            "model_loaded": self.predictor is not None,
            "model_version": self.model_version,
            "reason": reason,
            "uptime_s": round(time.time() - self.started_at, 1),
            "logger": {k: shown_path(v) if k in ("path", "last_error") else v for k, v in self.logger.stats().items()},
            "feature_store": self.store_health(),
            "swap": self.swapper.health() if self.swapper is not None else None,
            "shadow": shadow,
            **({"queue": queue} if queue is not None else {}),
        }

    def close(self) -> None:
        """Stop watching, log the calls the challenger still holds, then close the log."""
        if self.swapper is not None:
            self.swapper.stop()
        if self.shadow is not None:
            self.shadow.close()
        self.logger.close()

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


def _verified_report(artifacts: Any) -> bytes | None:
    """The report of `artifacts` when its bytes match the manifest the model was loaded with."""
    expected = artifacts.manifest.get("files", {}).get(REPORT_FILE)
    path = artifacts.directory / REPORT_FILE
    if expected is None or not path.is_file():
        return None
    data = path.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == expected else None
