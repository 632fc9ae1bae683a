"""The advisers' side of a scoring service: the recent evaluations they decide on, their decisions, the
applicants' letters, and who owns what (only the identity that made an evaluation may decide on it or read
its letter; another's is unknown to them). Mixed into `api.scoring_service.ScoringService`, which scores,
logs and holds the dossiers these methods use."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from api.adviser import AdviserDecision, Evaluation, RecentEvaluations, decide
from api.letters import letter_html
from api.logger import PredictionLogger, log_prediction, new_request_id
from scoring.schema import ADVISER_DECISION_KEY, SOURCE_API

# One line per read of applicant data that the prediction log does not hold (letters), with the identity.
audit_log = logging.getLogger("api.audit")


class UnknownRequest(LookupError):
    """No recent evaluation has this request id (404)."""

    def __init__(self, request_id: str):
        self.request_id = request_id
        super().__init__(f"no recent evaluation {request_id[:64]!r} (this process keeps the last ones only)")


class AdviserDecisions:
    """Decisions and letters on a service's recent evaluations (`recent`)."""

    recent: RecentEvaluations
    logger: PredictionLogger
    refusals: Callable[..., Any]  # ScoringService.refusals: a refused request is one audit line
    dossier: Callable[..., Any]
    score_dossier: Callable[..., Any]

    def record_decision(self, of_request: str, decision: Any, reason: Any, *, source: str,
                        client: str | None = None, replace: bool = False) -> AdviserDecision:
        """The adviser's final decision on a recent evaluation, logged as a line of its own
        (`ADVISER_DECISION_KEY`, `prediction` null); raises UnknownRequest or `api.adviser.DecisionError`.

        Only the identity that made the evaluation may decide on it (another's is unknown to them: 404), and
        once: a second decision raises `DecisionError` (409) unless `replace`, then its line names the
        decision it replaces (`replaces`). Each refusal is one audit line."""
        started = time.perf_counter()
        sent = {"request_id": str(of_request)[:64], "decision": str(decision)[:40]}
        with self.refusals(request_id=new_request_id(), started=started, input=lambda: sent, client=client,
                           source=source):
            evaluation = self.own_evaluation(of_request, client)
            made = self.recent.record(decide(evaluation, decision, reason), replace=replace)
        log_prediction(request_id=new_request_id(), input={"request_id": of_request, "decision": decision,
                                                           "reason": made.reason}
                       | ({"replace": True} if made.replaces is not None else {}),
                       prediction=None, duration=time.perf_counter() - started,
                       model_version=evaluation.prediction.model_version, client=client, source=source,
                       applicant_id=evaluation.applicant_id, extra={ADVISER_DECISION_KEY: made.as_dict()},
                       logger=self.logger)
        return made

    def own_evaluation(self, request_id: Any, client: str | None) -> Evaluation:
        """The recent evaluation `request_id` made by `client`; another identity's is unknown (UnknownRequest)."""
        evaluation = self.recent.get(request_id) if isinstance(request_id, str) else None
        if evaluation is None or self.recent.owner(request_id) != client:
            raise UnknownRequest(str(request_id)[:64])
        return evaluation

    def letter_for_request(self, request_id: str, *, client: str | None = None, source: str | None = None) -> str:
        """The applicant's letter for a recent evaluation of `client` (with the adviser's decision when
        recorded); a refusal is one audit line."""
        with self.refusals(request_id=new_request_id(), started=time.perf_counter(),
                           input=lambda: {"letter_of": str(request_id)[:64]}, client=client, source=source):
            evaluation = self.own_evaluation(request_id, client)
        audit_log.info("letter read: request %s, applicant %s, client %s, via %s", request_id,
                       evaluation.applicant_id, client, source)
        return letter_html(evaluation, self.recent.decision(request_id))

    def letter_for_applicant(self, applicant_id: int, *, client: str | None = None) -> str:
        """The letter of the applicant's latest decided evaluation, else of their stored row scored now."""
        self.dossier(applicant_id)  # 503 without a store, 404 for an unknown number
        decided = self.recent.latest_decided(applicant_id)
        if decided is not None and self.recent.owner(decided[0].request_id) == client:
            audit_log.info("letter read: request %s, applicant %s, client %s, via %s", decided[0].request_id,
                           applicant_id, client, SOURCE_API)
            return letter_html(*decided)
        request_id = new_request_id()
        self.score_dossier(applicant_id, request_id=request_id, started=time.perf_counter(), client=client)
        return self.letter_for_request(request_id, client=client)
