"""The customer's letter tells the truth: the adviser's reason after an override; otherwise the
factors that weighed, in customer words, never a protected characteristic."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from api.adviser import Evaluation, decide
from api.letters import customer_topic, customer_topics, letter_html
from scoring.config import MODELS_DIR
from scoring.feature_registry import REGISTRY
from scoring.feature_specs import Topic
from serving.predictor import Prediction
from serving.reasons import Reason, Reasons


def _prediction(up: list[Reason], down: list[Reason], score: float, threshold: float = 0.1) -> Prediction:
    high = score >= threshold
    return Prediction(score=score, label="❌ Risque élevé" if high else "✅ Faible risque", prediction=int(high),
                      threshold=threshold, review=False, reasons=Reasons(tuple(up), tuple(down)),
                      model_version="v")


UP = [Reason("DAYS_BIRTH", "Âge", -9000.0, 0.5, 4.0), Reason("CODE_GENDER_M", "Homme", 1.0, 0.3, 2.5),
      Reason("EXT_SOURCE_2", "Score externe 2", 0.1, 0.4, 3.0),
      Reason("EXT_SOURCE_3", "Score externe 3", 0.2, 0.2, 1.5),
      Reason("EXT_SOURCE_1", "Score externe 1", 0.5, 0.01, 0.04),
      Reason("BUREAU_AMT_CREDIT_SUM_OVERDUE_max", "Impayé", 900.0, 0.2, 1.2),
      Reason("NAME_FAMILY_STATUS_Single / not married", "Célibataire", 1.0, 0.2, 1.1)]


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", page, flags=re.S))


def test_a_model_refusal_cites_weighty_topics_in_customer_words_never_protected_ones() -> None:
    topics = customer_topics(UP)
    assert topics == ["les évaluations de votre solvabilité transmises par des organismes extérieurs",
                      "des impayés sur vos crédits auprès d'autres établissements"]
    text = _text(letter_html(Evaluation("r1", _prediction(UP, [], 0.3), "api", 100002, 0.0)))
    assert "suite favorable" in text and topics[0] in text
    for word in ("Âge", "âge", "Homme", "Célibataire", "Score externe", "point", "score", "seuil"):
        assert word not in text, word


def test_after_an_override_the_letter_gives_the_advisers_decision_and_reason() -> None:
    evaluation = Evaluation("r2", _prediction([], [Reason("EXT_SOURCE_2", "Score externe 2", 0.8, -0.5, -3.0)],
                                              0.0174), "form", 100002, 0.0)
    made = decide(evaluation, "override", "Revenus instables, CDD de 3 mois <b>")
    text = _text(letter_html(evaluation, made))
    assert "suite favorable" in text and "Revenus instables, CDD de 3 mois <b>" in text  # as written, as text
    assert "joué en sa faveur" not in text and "pesé" not in text and "organismes extérieurs" not in text
    assert "<b>" not in letter_html(evaluation, made).split("motive")[1].split("</blockquote>")[0]


def test_every_feature_keeps_its_customer_topic_from_the_registry() -> None:
    """The topics come from the feature registry; for every feature of the committed model the letter
    words it as the regex table it replaced did (snapshot of 76809d8), and no protected characteristic
    of any built feature is ever cited (gender included, though the model leaves it out)."""
    before = json.loads((Path(__file__).parents[1] / "scoring" / "feature_meanings_76809d8.json")
                        .read_text(encoding="utf-8"))["features"]
    names = [n for n in (MODELS_DIR / "features.txt").read_text().splitlines() if n]
    assert {n: customer_topic(n) for n in names} == {n: before[n]["letter_topic"] for n in names}
    personal = {n for n, info in REGISTRY.items() if info.topic is Topic.PERSONAL}
    assert {"CODE_GENDER_F", "CODE_GENDER_M", "DAYS_BIRTH", "NAME_FAMILY_STATUS_Married", "CNT_CHILDREN",
            "REG_CITY_NOT_LIVE_CITY", "NAME_EDUCATION_TYPE_Higher education"} <= personal
    assert not [n for n in personal if customer_topic(n)]
    assert customer_topic("NOT_A_FEATURE") == ""
