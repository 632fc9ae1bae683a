"""The adviser's side of a decision: recent evaluations, the final decision, the applicant's letter.

- `RecentEvaluations`: the last `MAX_RECENT` scored calls of this process by request id (what a
  decision and a letter refer to), and the adviser decisions recorded on them. In memory: after a
  restart, or on another replica, an older request id is unknown (404) and is scored again.
- `decide`: the adviser's final decision on one evaluation: `accept`, `refuse` or `override`
  (the opposite of the model's decision). A reason is required whenever the final decision differs
  from the model's; in the grey zone ("à étudier") the model gives no decision, so there is nothing
  to override and accept/refuse need no reason.
- `letter_html`: a printable page for the applicant in plain French: the decision and the main
  elements of their file behind it, without score, threshold or model vocabulary.
"""

from __future__ import annotations

import html
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scoring.schema import ADVISER_ACCEPT as ACCEPT
from scoring.schema import ADVISER_OVERRIDE as OVERRIDE
from scoring.schema import ADVISER_REFUSE as REFUSE
from scoring.schema import FEATURE_LABELS
from scoring.schema import MODEL_REVIEW as REVIEW
from serving.predictor import Prediction

ADVISER_DECISIONS = (ACCEPT, REFUSE, OVERRIDE)
DECISION_LABELS_FR = {ACCEPT: "Accepter", REFUSE: "Refuser", OVERRIDE: "Passer outre le modèle"}
MAX_RECENT = 10_000  # evaluations kept for decisions and letters (~1.7 KB each with reasons: ~17 MB)
MAX_REASON_CHARS = 1000

_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")


class DecisionError(ValueError):
    """A decision refused: `field` names what is wrong. `conflict`: the decision is well formed but
    conflicts with the model's decision on that request (no reason for an override, nothing to
    override in the grey zone): the API's 409; otherwise 422."""

    def __init__(self, field: str, message: str, *, conflict: bool = False):
        self.field = field
        self.conflict = conflict
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

    def as_dict(self) -> dict[str, Any]:
        return {"request_id": self.of_request, "decision": self.decision, "final": self.final,
                "model_decision": self.model_decision, "override": self.override, "reason": self.reason}


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
    reason = (reason or "").strip()[:MAX_REASON_CHARS] or None
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
        self._lock = threading.Lock()

    def add(self, request_id: str, prediction: Prediction, source: str, applicant_id: int | None) -> None:
        with self._lock:
            self._items[request_id] = (source, applicant_id, time.time(), *prediction.packed())
            while len(self._items) > self.limit:
                old, _ = self._items.popitem(last=False)
                self._decisions.pop(old, None)

    def get(self, request_id: str) -> Evaluation | None:
        with self._lock:
            kept = self._items.get(request_id)
        return None if kept is None else self._evaluation(request_id, kept)

    @staticmethod
    def _evaluation(request_id: str, kept: tuple) -> Evaluation:
        return Evaluation(request_id, Prediction.unpacked(kept[3:]), kept[0], kept[1], kept[2])

    def record(self, decision: AdviserDecision) -> None:
        with self._lock:
            kept = self._items.get(decision.of_request)
            if kept is None:
                return
            self._decisions[decision.of_request] = decision
            applicant_id = kept[1]
            if applicant_id is not None:
                self._latest_decided[applicant_id] = decision.of_request

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


def _french_date(moment: float) -> str:
    d = datetime.fromtimestamp(moment, UTC)
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


LETTER_CSS = """
body {font-family: Georgia, 'DejaVu Serif', serif; max-width: 42em; margin: 2em auto; line-height: 1.5; color: #111;}
header {display: flex; justify-content: space-between; border-bottom: 1px solid #999; margin-bottom: 1.5em;}
.decision {font-weight: bold;} .print {margin-top: 2em;} @media print {.print {display: none;}}
"""


def _grade_line(p: Prediction) -> str:
    """The risk grade and probability of default, as the letter states them (nothing for a model without grades)."""
    if p.grade is None:
        return ""
    percent = f"{p.score * 100:.1f}".replace(".", ",")
    return (f"<p class=\"grade\">Classe de risque attribuée à votre demande : <strong>{html.escape(p.grade)}</strong> "
            f"(échelle de A, risque le plus faible, à la dernière classe, risque le plus élevé ; probabilité de "
            f"défaut estimée : {percent} %).</p>")


def letter_html(evaluation: Evaluation, decision: AdviserDecision | None = None) -> str:
    """The applicant's letter: the decision (the adviser's when recorded, else the model's) and the
    main elements behind it, in plain French. A complete HTML page."""
    final = decision.final if decision else model_decision(evaluation.prediction)
    p = evaluation.prediction
    if final == ACCEPT:
        verdict = "Nous avons le plaisir de vous informer que votre demande de crédit est acceptée."
        intro = "Les éléments de votre dossier qui ont le plus joué en sa faveur :"
        elements = p.reasons_down
    elif final == REFUSE:
        verdict = ("Après étude de votre dossier, nous ne sommes pas en mesure de donner une suite favorable "
                   "à votre demande de crédit.")
        intro = "Les éléments de votre dossier qui ont le plus pesé dans cette décision :"
        elements = p.reasons_up
    else:
        verdict = ("Votre demande de crédit est en cours d'étude par votre conseiller : vous recevrez une "
                   "réponse définitive prochainement.")
        intro, elements = "", ()
    # Only features with a plain French name (no composed "Demandes précédentes : taux middle (part)").
    items = "".join(f"<li>{html.escape(r.label)}</li>" for r in elements if r.feature in FEATURE_LABELS)
    listed = f"<p>{intro}</p><ul>{items}</ul>" if items else ""
    dossier = f"Dossier n° {evaluation.applicant_id}" if evaluation.applicant_id is not None else "Votre demande"
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>Réponse à votre demande de crédit</title><style>{LETTER_CSS}</style></head><body>"
        f"<header><strong>Prêt à dépenser</strong><span>le {_french_date(evaluation.at or time.time())}</span>"
        f"</header><p>{html.escape(dossier)} — référence {html.escape(evaluation.request_id)}</p>"
        f"<p>Madame, Monsieur,</p><p class=\"decision\">{verdict}</p>{_grade_line(p)}{listed}"
        "<p>Vous pouvez demander à votre conseiller des explications sur cette décision et un nouvel examen "
        "de votre dossier par une personne de notre établissement.</p>"
        "<p>Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.</p>"
        "<p>Votre conseiller, Prêt à dépenser</p>"
        '<p class="print"><button onclick="window.print()">Imprimer</button></p></body></html>'
    )
