"""The adviser's side of a decision: recent evaluations, the final decision, the applicant's letter.

- `RecentEvaluations`: the last `MAX_RECENT` scored calls of this process by request id (what a
  decision and a letter refer to), and the adviser decisions recorded on them. In memory: after a
  restart, or on another replica, an older request id is unknown (404) and is scored again.
- `decide`: the adviser's final decision on one evaluation: `accept`, `refuse` or `override`
  (the opposite of the model's decision). A reason is required whenever the final decision differs
  from the model's; in the grey zone ("à étudier") the model gives no decision, so there is nothing
  to override and accept/refuse need no reason.
- The applicant's letter is written by `api.letters`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from scoring.schema import ADVISER_ACCEPT as ACCEPT
from scoring.schema import ADVISER_OVERRIDE as OVERRIDE
from scoring.schema import ADVISER_REFUSE as REFUSE
from scoring.schema import MODEL_REVIEW as REVIEW
from serving.predictor import Prediction

ADVISER_DECISIONS = (ACCEPT, REFUSE, OVERRIDE)
DECISION_LABELS_FR = {ACCEPT: "Accepter", REFUSE: "Refuser", OVERRIDE: "Passer outre le modèle"}
MAX_RECENT = 10_000  # evaluations kept for decisions and letters (~1.7 KB each with reasons: ~17 MB)
MAX_REASON_CHARS = 1000



class DecisionError(ValueError):
    """A decision refused: `field` names what is wrong. `conflict`: the decision is well formed but
    conflicts with the model's decision on that request (no reason for an override, nothing to
    override in the grey zone): the API's 409; otherwise 422."""

    def __init__(self, field: str, message: str, *, conflict: bool = False, already: AdviserDecision | None = None):
        self.field = field
        self.conflict = conflict
        self.already = already  # the decision already recorded on that evaluation (a second one is refused)
        super().__init__(message)


@dataclass(frozen=True)
class Evaluation:
    """One scored call a decision or a letter can refer to."""

    request_id: str
    prediction: Prediction
    source: str
    applicant_id: int | None = None
    at: float = 0.0


@dataclass(frozen=True)
class AdviserDecision:
    of_request: str
    decision: str  # as given: accept / refuse / override
    final: str  # accept / refuse
    model_decision: str  # accept / refuse / review
    override: bool  # the final decision differs from the model's
    reason: str | None
    replaces: AdviserDecision | None = None  # the decision this one explicitly replaces (same evaluation)

    def as_dict(self) -> dict[str, Any]:
        out = {"request_id": self.of_request, "decision": self.decision, "final": self.final,
               "model_decision": self.model_decision, "override": self.override, "reason": self.reason}
        if self.replaces is not None:
            previous = self.replaces.as_dict()
            previous.pop("replaces", None)
            out["replaces"] = previous
        return out


def model_decision(prediction: Prediction) -> str:
    """What the model says: refuse at or above the threshold, accept below, review in the grey zone."""
    if prediction.review:
        return REVIEW
    return REFUSE if prediction.prediction else ACCEPT


def decide(evaluation: Evaluation, decision: Any, reason: Any) -> AdviserDecision:
    """The adviser's decision on `evaluation`; raises `DecisionError` naming the field."""
    if decision not in ADVISER_DECISIONS:
        raise DecisionError("decision", f"must be one of {', '.join(ADVISER_DECISIONS)}, got {decision!r:.60}")
    if reason is not None and not isinstance(reason, str):
        raise DecisionError("reason", "must be a string")
    if reason is not None and len(reason) > MAX_REASON_CHARS:  # refused, never cut without notice
        raise DecisionError("reason", f"at most {MAX_REASON_CHARS} characters, got {len(reason)}")
    reason = (reason or "").strip() or None
    model = model_decision(evaluation.prediction)
    if decision == OVERRIDE:
        if model == REVIEW:
            raise DecisionError("decision", "the model gives no decision to override (à étudier): "
                                            "choose accept or refuse", conflict=True)
        final = REFUSE if model == ACCEPT else ACCEPT
    else:
        final = decision
    override = model != REVIEW and final != model
    if override and not reason:
        raise DecisionError("reason", "a reason is required when the decision differs from the model's",
                            conflict=True)
    return AdviserDecision(evaluation.request_id, decision, final, model, override, reason)


def replace_decision(decision: AdviserDecision, previous: AdviserDecision) -> AdviserDecision:
    """`decision` marked as replacing `previous` (only the one it replaces is kept, not the chain)."""
    plain_previous = AdviserDecision(previous.of_request, previous.decision, previous.final, previous.model_decision,
                                     previous.override, previous.reason)
    return AdviserDecision(decision.of_request, decision.decision, decision.final, decision.model_decision,
                           decision.override, decision.reason, plain_previous)


class RecentEvaluations:
    """The last `limit` evaluations by request id, and the decisions recorded on them (thread-safe).

    Each is kept as one flat tuple of plain values (`Prediction.packed`), which the garbage collector
    stops tracking: as dataclasses, 10,000 evaluations with reasons were 160,000 tracked objects and
    every full collection walked them (72 ms, now and then in the middle of a request: the API's p99)."""

    def __init__(self, limit: int = MAX_RECENT):
        self.limit = limit
        self._items: OrderedDict[str, tuple] = OrderedDict()  # request id -> (source, id, at, *packed prediction)
        self._decisions: dict[str, AdviserDecision] = {}
        self._latest_decided: dict[int, str] = {}  # applicant id -> request id of their latest decision
        self._owners: dict[str, str] = {}  # request id -> identity that made the evaluation (access control on)
        self._lock = threading.Lock()

    def add(self, request_id: str, prediction: Prediction, source: str, applicant_id: int | None,
            owner: str | None = None) -> None:
        with self._lock:
            self._items[request_id] = (source, applicant_id, time.time(), *prediction.packed())
            if owner is not None:
                self._owners[request_id] = owner
            while len(self._items) > self.limit:
                old, _ = self._items.popitem(last=False)
                self._decisions.pop(old, None)
                self._owners.pop(old, None)

    def owner(self, request_id: str) -> str | None:
        """The identity that made the evaluation (None: made without access control)."""
        with self._lock:
            return self._owners.get(request_id)

    def get(self, request_id: str) -> Evaluation | None:
        with self._lock:
            kept = self._items.get(request_id)
        return None if kept is None else self._evaluation(request_id, kept)

    @staticmethod
    def _evaluation(request_id: str, kept: tuple) -> Evaluation:
        return Evaluation(request_id, Prediction.unpacked(kept[3:]), kept[0], kept[1], kept[2])

    def record(self, decision: AdviserDecision, *, replace: bool = False) -> AdviserDecision:
        """Record `decision`: one per evaluation. A second one raises `DecisionError` (409) unless
        `replace`; then it is returned with `replaces` set to the one it replaces (logged as such)."""
        with self._lock:
            kept = self._items.get(decision.of_request)
            if kept is None:
                return decision
            previous = self._decisions.get(decision.of_request)
            if previous is not None and not replace:
                raise DecisionError("decision", "a decision is already recorded on this evaluation (one per "
                                                "evaluation): send replace=true to replace it", conflict=True,
                                    already=previous)
            if previous is not None:
                decision = replace_decision(decision, previous)
            self._decisions[decision.of_request] = decision
            applicant_id = kept[1]
            if applicant_id is not None:
                self._latest_decided[applicant_id] = decision.of_request
            return decision

    def decision(self, request_id: str) -> AdviserDecision | None:
        with self._lock:
            return self._decisions.get(request_id)

    def latest_decided(self, applicant_id: int) -> tuple[Evaluation, AdviserDecision] | None:
        """The applicant's most recent evaluation that carries an adviser decision, with it."""
        with self._lock:
            request_id = self._latest_decided.get(applicant_id)
            if request_id is None or request_id not in self._decisions:
                return None
            return self._evaluation(request_id, self._items[request_id]), self._decisions[request_id]
