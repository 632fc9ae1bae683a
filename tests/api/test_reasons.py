"""Reasons in the adviser's terms: exact points of default probability, the fields entered, the rest in
one line, French text; the same reasons in the API and in the form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from api.form_parts import reasons_markdown
from api.scoring_service import ScoringService
from scoring import schema
from scoring.explain_format import NNBSP, format_value, fr_money, fr_number, fr_percent, fr_points
from scoring.feature_registry import feature_label
from serving.predictor import Predictor
from serving.reasons import MAX_LISTED, N_REASONS, REST_LABEL, points_scale, sigmoid
from tests.fixture_model import make_frame
from tests.helpers import VALID


def _full_rows(predictor: Predictor, n: int, seed: int) -> list[dict[str, float]]:
    """Rows with every model feature (a dossier's): the template overwritten by random applicants."""
    template = dict(zip(predictor.features, predictor.template[0].tolist(), strict=True))
    frame, _ = make_frame(n, seed=seed)
    return [template | {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
            for row in frame.to_dict("records")]


def _all_points(reasons) -> float:
    return reasons.total_points() / 100


@pytest.mark.parametrize("kind", ["form", "partial", "full"])
def test_points_sum_to_the_score_change_from_the_base_value(predictor: Predictor, kind: str) -> None:
    rng = np.random.default_rng(3)
    for row in _full_rows(predictor, 40, seed=31):
        if kind == "form":
            row = VALID | {schema.EXT_SOURCE_1: float(rng.uniform(0, 1)), schema.EXT_SOURCE_3: float(rng.uniform(0, 1))}
        elif kind == "partial":
            row = {k: row[k] for k in list(row)[:: int(rng.integers(2, 9))]}
        result = predictor.predict(row)
        reasons = result.reasons
        contribs = predictor.contributions(predictor.row(row))[0]
        assert reasons.base_score == pytest.approx(sigmoid(contribs[-1]), abs=1e-15)
        assert _all_points(reasons) == pytest.approx(reasons.score - reasons.base_score, abs=1e-9)
        assert reasons.score == pytest.approx(result.score, abs=1e-6)  # the model's score (float32 served)
        for r in reasons.up + reasons.down:  # points keep the sign and the order of the log-odds
            assert math.copysign(1, r.points) == math.copysign(1, r.contribution)
        points = [r.points for r in reasons.up]
        assert points == sorted(points, reverse=True)


def test_the_points_scale_is_the_secant_slope_and_its_limit() -> None:
    assert points_scale(-2.0, 1.0) == pytest.approx(100 * (sigmoid(1.0) - sigmoid(-2.0)) / 3.0)
    p = sigmoid(-2.0)
    assert points_scale(-2.0, -2.0) == pytest.approx(100 * p * (1 - p))
    assert points_scale(-2.0, -2.0 + 1e-9) == pytest.approx(100 * p * (1 - p), rel=1e-6)
    assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0  # no overflow


def test_a_bare_form_lists_only_its_fields_and_sums_the_rest(predictor: Predictor) -> None:
    reasons = predictor.predict(VALID).reasons
    listed = reasons.up + reasons.down
    assert {r.feature for r in listed} <= set(VALID) and len(VALID) <= MAX_LISTED
    unlisted = reasons.unlisted.features if reasons.unlisted else 0
    assert len(listed) + unlisted == len(VALID)  # every field entered: listed, or zero effect
    assert reasons.rest.label == REST_LABEL and reasons.rest.features == len(predictor.features) - len(VALID)
    as_dict = reasons.as_dict()
    assert as_dict["rest"]["features"] == reasons.rest.features and "contribution_points" in as_dict["up"][0]


def test_explain_restricts_to_the_given_names(predictor: Predictor) -> None:
    full = _full_rows(predictor, 1, seed=5)[0]
    mine = list(schema.UI_FEATURE_NAMES[:3])
    reasons = predictor.explain(full, given=mine)
    assert {r.feature for r in reasons.up + reasons.down} <= set(mine)
    assert reasons.rest.features == len(predictor.features) - 3
    dossier = predictor.explain(full, per_side=5)  # every feature given: the strongest five each way
    assert dossier.rest is None and 0 < len(dossier.up) <= 5 and len(dossier.down) <= 5
    assert len(predictor.explain(full).up) <= N_REASONS
    assert _all_points(dossier) == pytest.approx(_all_points(reasons), abs=1e-9)  # same row, same total


def test_batch_reasons_equal_single_reasons(predictor: Predictor) -> None:
    rows = _full_rows(predictor, 5, seed=9)
    batch = predictor.predict_rows(rows, explain=True)
    for row, b in zip(rows, batch, strict=True):
        one = predictor.predict(row)
        assert [r.feature for r in b.reasons_up] == [r.feature for r in one.reasons_up]
        for x, y in zip(b.reasons_up + b.reasons_down, one.reasons_up + one.reasons_down, strict=True):
            assert x.points == pytest.approx(y.points, abs=1e-4)


def test_the_api_gives_points_and_log_odds(client, service: ScoringService) -> None:
    body = client.post("/api/predict", json=VALID).json()
    reasons = body["reasons"]
    listed = reasons["up"] + reasons["down"]
    assert listed and all({"feature", "label", "value", "contribution", "contribution_points"} <= r.keys()
                          for r in listed)
    total = sum(r["contribution_points"] for r in listed) + sum(
        a["contribution_points"] for a in (reasons["rest"], reasons["unlisted"]) if a)
    assert total / 100 == pytest.approx(body["score"] - reasons["base_score"], abs=1e-5)  # JSON rounds to 1e-6
    assert reasons["rest"]["label"] == REST_LABEL
    doc = client.get("/openapi.json").json()["components"]["schemas"]
    assert "contribution_points" in doc["ReasonDoc"]["properties"] and "rest" in doc["ReasonsDoc"]["properties"]


def test_french_numbers_money_days_and_shares() -> None:
    assert fr_number(1691.4) == f"1{NNBSP}691" and fr_money(1691.4) == f"1{NNBSP}691{NNBSP}€"
    assert fr_number(169_100.0) == f"169{NNBSP}100" and "e" not in fr_number(1.234e-7)
    assert fr_number(0.0452) == "0,0452" and fr_number(-2.5) == "−2,5"
    assert format_value("AMT_GOODS_PRICE", 169_100.0) == f"169{NNBSP}100{NNBSP}€"
    assert format_value("DAYS_BIRTH", -15_800.0) == f"43{NNBSP}ans"  # an age: whole years
    assert format_value("DAYS_EMPLOYED", -250.0) == f"8{NNBSP}mois"
    assert format_value("DAYS_EMPLOYED", 365_243.0) == "sans objet"  # Kaggle's "no employment" code
    assert format_value("BUREAU_DAYS_CREDIT_ENDDATE_max", 800.0) == f"dans 2,2{NNBSP}ans"
    assert format_value("ANNUITY_INCOME_PERC", 0.153) == f"15,3{NNBSP}%" == fr_percent(0.153)
    assert format_value("PREV_NAME_CONTRACT_STATUS_Refused_mean", 0.25) == f"25{NNBSP}%"
    assert format_value("INSTAL_DPD_mean", 3.0) == f"3{NNBSP}jours"
    assert format_value(schema.GENDER_F, 1.0, binary=True) == "oui"
    assert format_value("EXT_SOURCE_2", float("nan")) == "inconnu"
    assert fr_points(2.94) == f"+2,9{NNBSP}points" and fr_points(-0.38) == f"−0,4{NNBSP}point"
    assert fr_points(0.04) == f"+0,04{NNBSP}point"


def test_every_feature_value_reads_without_scientific_notation(predictor: Predictor) -> None:
    for row in _full_rows(predictor, 20, seed=13):
        for name, value in row.items():
            text = format_value(name, value)
            assert "e+" not in text and "e-" not in text and "." not in text, (name, value, text)


def test_the_form_shows_the_fields_points_and_the_median_line(predictor: Predictor) -> None:
    result = predictor.predict(VALID | {schema.EXT_SOURCE_1: 0.05})
    text = reasons_markdown(result, {schema.GENDER_F, schema.GENDER_M})
    assert "Ce qui augmente le risque" in text and "Score externe 1 : 0,05 (+" in text and "points)" in text
    assert f"{REST_LABEL} : " in text and "Femme : non" in text
    assert "&#x27;" not in text and "e+0" not in text
    names = {feature_label(n) for n in predictor.features} - {feature_label(n) for n in VALID}
    assert not any(f"- {label} :" in text for label in names)  # no median-filled feature listed


def test_recent_evaluations_are_kept_out_of_the_garbage_collector(predictor: Predictor) -> None:
    import gc

    from api.adviser import RecentEvaluations
    from serving.predictor import Prediction

    form = predictor.predict(VALID)
    full = predictor.predict(dict(zip(predictor.features, predictor.template[0].tolist(), strict=True)))
    bare = predictor.predict(VALID, explain=False)
    for p in (form, full, bare):  # every shape of reasons comes back as it was
        assert Prediction.unpacked(p.packed()) == p
    assert full.reasons.unlisted is not None and form.reasons.rest is not None
    recent = RecentEvaluations(limit=500)
    for i in range(600):
        recent.add(f"r{i}", form if i % 2 else full, "api", i)
    gc.collect()
    assert recent.get("r0") is None and recent.get("r599").prediction == form
    assert recent.get("r598").applicant_id == 598 and recent.get("r598").prediction == full
    assert not any(gc.is_tracked(kept) for kept in recent._items.values())  # a full pass walks none of them
