"""The applicant's letter: a printable page in plain French that tells the truth about the decision.

- After an adviser's decision that differs from the model's (an override), the letter gives the
  adviser's decision and the reason they wrote (as written, shown as text), not the model's factors:
  those pointed the other way.
- Otherwise, a refusal cites the elements of the file that raised the risk, in words a customer
  understands (each feature's topic in the feature registry, worded by `CUSTOMER_WORDS`: several
  features become one topic, "les évaluations de votre solvabilité…"), only when they weighed (at
  least `MIN_POINTS` points of default probability), and never a protected characteristic (sex, age,
  family situation, place of residence: French law forbids them as grounds to refuse a service;
  `Topic.PERSONAL` in the registry) nor a feature without a customer wording.
- No score, threshold or model vocabulary.
"""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime

from api.adviser import ACCEPT, REFUSE, AdviserDecision, Evaluation, model_decision
from scoring.feature_registry import feature_info
from scoring.feature_specs import Topic
from serving.predictor import Prediction
from serving.reasons import Reason

MIN_POINTS = 0.5  # a factor cited to the customer moved their risk by at least this many points
MAX_TOPICS = 3

# What the customer reads for each topic of the feature registry; a protected characteristic
# (`Topic.PERSONAL`) or a feature without a topic is not cited.
CUSTOMER_WORDS: dict[Topic, str] = {
    Topic.EXTERNAL_SCORES: "les évaluations de votre solvabilité transmises par des organismes extérieurs",
    Topic.OTHER_LENDERS_OVERDUE: "des impayés sur vos crédits auprès d'autres établissements",
    Topic.OTHER_LENDERS: "vos crédits en cours ou passés auprès d'autres établissements",
    Topic.LATE_PAYMENTS: "des retards de paiement sur vos crédits précédents chez nous",
    Topic.REFUSED_APPLICATIONS: "des demandes de crédit précédemment refusées",
    Topic.CARD: "l'utilisation de votre carte de crédit",
    Topic.CREDIT_VS_INCOME: "le montant du crédit et de ses échéances au regard de vos revenus",
    Topic.INCOME: "le niveau de vos revenus",
    Topic.EMPLOYMENT: "votre situation professionnelle (ancienneté, nature des revenus)",
    Topic.DOCUMENTS: "les pièces justificatives de votre dossier",
}
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")

LETTER_CSS = """
body {font-family: Georgia, 'DejaVu Serif', serif; max-width: 42em; margin: 2em auto; line-height: 1.5; color: #111;}
header {display: flex; justify-content: space-between; border-bottom: 1px solid #999; margin-bottom: 1.5em;}
.decision {font-weight: bold;} .motive {white-space: pre-wrap;} .print {margin-top: 2em;}
@media print {.print {display: none;}}
"""


def customer_topic(feature: str) -> str:
    """What a customer reads for `feature`; "" for a protected characteristic or a feature without one."""
    info = feature_info(feature)
    return "" if info is None or info.topic is None else CUSTOMER_WORDS.get(info.topic, "")


def customer_topics(reasons: tuple[Reason, ...] | list[Reason]) -> list[str]:
    """The topics of the reasons that weighed (|points| ≥ MIN_POINTS), strongest first, each once."""
    out: list[str] = []
    for r in sorted(reasons, key=lambda r: -abs(r.points)):
        topic = customer_topic(r.feature)
        if topic and abs(r.points) >= MIN_POINTS and topic not in out:
            out.append(topic)
    return out[:MAX_TOPICS]


def _french_date(moment: float) -> str:
    d = datetime.fromtimestamp(moment, UTC)
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _grade_line(p: Prediction) -> str:
    """The risk grade, as the letter states it (nothing for a model without grades): the customer's plain
    words, no probability (tests/api/test_dossiers.py keeps the letter free of such jargon)."""
    if p.grade is None:
        return ""
    return (f"<p class=\"grade\">Classe de risque attribuée à votre demande : <strong>{html.escape(p.grade)}</strong> "
            "(de A, le risque le plus faible, à la dernière classe, le plus élevé).</p>")


def letter_html(evaluation: Evaluation, decision: AdviserDecision | None = None) -> str:
    """The applicant's letter: the decision (the adviser's when recorded, else the model's) and what is
    behind it (see the module's docstring). A complete HTML page."""
    final = decision.final if decision else model_decision(evaluation.prediction)
    p = evaluation.prediction
    if final == ACCEPT:
        verdict = "Nous avons le plaisir de vous informer que votre demande de crédit est acceptée."
    elif final == REFUSE:
        verdict = ("Après étude de votre dossier, nous ne sommes pas en mesure de donner une suite favorable "
                   "à votre demande de crédit.")
    else:
        verdict = ("Votre demande de crédit est en cours d'étude par votre conseiller : vous recevrez une "
                   "réponse définitive prochainement.")
    if decision is not None and decision.reason and (decision.override or decision.model_decision not in
                                                     (ACCEPT, REFUSE)):
        # the adviser decided (against the model, or where it did not decide): their reason, as written
        behind = ("<p>Votre conseiller a examiné votre dossier personnellement. Motif de sa décision :</p>"
                  f'<blockquote class="motive">{html.escape(decision.reason)}</blockquote>')
    elif final == REFUSE:
        topics = customer_topics(p.reasons_up)
        behind = ("<p>Les éléments de votre dossier qui ont le plus pesé dans cette décision :</p><ul>"
                  + "".join(f"<li>{html.escape(t)}</li>" for t in topics) + "</ul>") if topics else ""
    elif final == ACCEPT:
        topics = customer_topics(p.reasons_down)
        behind = ("<p>Les éléments de votre dossier qui ont le plus joué en sa faveur :</p><ul>"
                  + "".join(f"<li>{html.escape(t)}</li>" for t in topics) + "</ul>") if topics else ""
    else:
        behind = ""
    dossier = f"Dossier n° {evaluation.applicant_id}" if evaluation.applicant_id is not None else "Votre demande"
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>Réponse à votre demande de crédit</title><style>{LETTER_CSS}</style></head><body>"
        f"<header><strong>Prêt à dépenser</strong><span>le {_french_date(evaluation.at or time.time())}</span>"
        f"</header><p>{html.escape(dossier)} — référence {html.escape(evaluation.request_id)}</p>"
        f"<p>Madame, Monsieur,</p><p class=\"decision\">{verdict}</p>{_grade_line(p)}{behind}"
        "<p>Vous pouvez demander à votre conseiller des explications sur cette décision et un nouvel examen "
        "de votre dossier par une personne de notre établissement.</p>"
        "<p>Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.</p>"
        "<p>Votre conseiller, Prêt à dépenser</p>"
        '<p class="print"><button onclick="window.print()">Imprimer</button></p></body></html>'
    )
