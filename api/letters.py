"""The applicant's letter: a printable page in plain French that tells the truth about the decision.

- After an adviser's decision that differs from the model's (an override), the letter gives the
  adviser's decision and the reason they wrote (as written, shown as text), not the model's factors:
  those pointed the other way.
- Otherwise, a refusal cites the elements of the file that raised the risk, in words a customer
  understands (`CUSTOMER_TOPICS`: several features become one topic, "les évaluations de votre
  solvabilité…"), only when they weighed (at least `MIN_POINTS` points of default probability),
  and never a protected characteristic (sex, age, family situation, place of residence: French law
  forbids them as grounds to refuse a service) nor a feature without a customer wording.
- No score, threshold or model vocabulary.
"""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime

from api.adviser import ACCEPT, REFUSE, AdviserDecision, Evaluation, model_decision
from serving.predictor import Prediction
from serving.reasons import Reason

MIN_POINTS = 0.5  # a factor cited to the customer moved their risk by at least this many points
MAX_TOPICS = 3

# (feature name pattern, what the customer reads); the first match wins; no match: not cited.
CUSTOMER_TOPICS: tuple[tuple[str, str], ...] = (
    (r"CODE_GENDER_.*|DAYS_BIRTH|AGE.*|NAME_FAMILY_STATUS_.*|CNT_CHILDREN|CNT_FAM_MEMBERS|REGION_.*|"
     r"(REG|LIVE)_(REGION|CITY)_.*|.*SOCIAL_CIRCLE|NAME_EDUCATION_TYPE_.*|NAME_HOUSING_TYPE_.*", ""),  # never cited
    (r"EXT_SOURCE_\d", "les évaluations de votre solvabilité transmises par des organismes extérieurs"),
    (r"BUREAU_.*OVERDUE.*|BUREAU_CREDIT_DAY_OVERDUE.*", "des impayés sur vos crédits auprès d'autres établissements"),
    (r"BUREAU_.*", "vos crédits en cours ou passés auprès d'autres établissements"),
    (r"INSTAL_.*|POS_.*DPD.*", "des retards de paiement sur vos crédits précédents chez nous"),
    (r"PREV_(NAME_CONTRACT_STATUS_Refused|REFUSED)_.*", "des demandes de crédit précédemment refusées"),
    (r"CRECARD_.*", "l'utilisation de votre carte de crédit"),
    (r"AMT_CREDIT|AMT_ANNUITY|AMT_GOODS_PRICE|CREDIT_INCOME_PERC|ANNUITY_INCOME_PERC|PAYMENT_RATE|GOODS_CREDIT_PERC",
     "le montant du crédit et de ses échéances au regard de vos revenus"),
    (r"AMT_INCOME_TOTAL|INCOME_PER_PERSON", "le niveau de vos revenus"),
    (r"DAYS_EMPLOYED.*|NAME_INCOME_TYPE_.*", "votre situation professionnelle (ancienneté, nature des revenus)"),
    (r"FLAG_DOCUMENT_\d+", "les pièces justificatives de votre dossier"),
)
_TOPICS = tuple((re.compile(pattern), words) for pattern, words in CUSTOMER_TOPICS)
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
    for pattern, words in _TOPICS:
        if pattern.fullmatch(feature):
            return words
    return ""


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
