"""One set of input rules: the domain table, the same refusals through every surface, the
vectorised form for the batch, and no real applicant refused by a domain rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import api.seed
import app_gradio
from api.scoring_service import ScoringService
from scoring import feature_specs, schema
from scoring.feature_registry import domain_rule
from serving.validation import FLOAT32_MAX, InputError
from tests.helpers import SHARED_SAMPLE, VALID

INF = math.inf
REAL_EXTRACTS = [SHARED_SAMPLE, SHARED_SAMPLE.parent / "homecredit_5k"]


@pytest.mark.parametrize("name, low, high, binary", [
    ("EXT_SOURCE_2", 0, 1, False), ("BUREAU_AMT_CREDIT_SUM_OVERDUE_max", 0, math.inf, False),
    ("CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean", 0, math.inf, False), ("FLAG_DOCUMENT_3", 0, 1, True),
    ("NAME_EDUCATION_TYPE_Higher education", 0, 1, True), ("REG_CITY_NOT_WORK_CITY", 0, 1, True),
    ("DAYS_BIRTH", -120 * 365.25, -18 * 365.25, False), ("DAYS_EMPLOYED", -120 * 365.25, 0, False),
    ("INSTAL_DPD_max", 0, math.inf, False),
    ("PREV_NAME_CONTRACT_STATUS_Refused_mean", 0, 1, False), ("HOUR_APPR_PROCESS_START", 0, 23, False),
    # negative by definition in the Kaggle tables: no sign rule
    *[(name, -INF, INF, False) for name in ("BUREAU_AMT_CREDIT_SUM_DEBT_sum", "CRECARD_AMT_BALANCE_mean",
                                            "BUREAU_DAYS_CREDIT_ENDDATE_max", "POS_MONTHS_BALANCE_mean",
                                            "INSTAL_PAYMENT_DIFF_mean", "CRECARD_AMT_DRAWINGS_ATM_CURRENT_mean")],
])
def test_domain_rules_say_what_a_value_can_mean(name: str, low: float, high: float, binary: bool) -> None:
    rule = domain_rule(name)
    assert (rule.low, rule.high, rule.binary) == (low, high, binary)


def test_every_domain_rule_is_used_by_the_committed_model() -> None:
    from scoring.config import MODELS_DIR

    names = [n for n in (MODELS_DIR / schema.FEATURES_FILE).read_text().splitlines() if n]
    used = {id(domain_rule(n)) for n in names}
    rules = {name: rule for name, rule in vars(feature_specs).items() if isinstance(rule, schema.DomainRule)}
    assert len(rules) >= 8 and not [name for name, rule in rules.items() if id(rule) not in used]


@pytest.fixture(scope="module")
def real_features() -> pd.DataFrame:
    if not all((d / "application_train.csv").exists() or (d / "application_train.csv.gz").exists()
               for d in REAL_EXTRACTS):
        pytest.skip("the real extracts (../shared/data) are not here")
    from scoring.data import load_tables
    from scoring.features import build_features

    return pd.concat([build_features(load_tables(d, progress=False), progress=False) for d in REAL_EXTRACTS])


@pytest.mark.slow
def test_no_real_applicant_breaks_a_domain_rule(real_features: pd.DataFrame) -> None:
    """Every feature of the 6,000 real applicants (sample + 5k extracts), through the domain rules."""
    assert len(real_features) == 6000
    for name in real_features.columns:
        rule = domain_rule(name)
        values = real_features[name].dropna().to_numpy(dtype=float)
        ok = np.isin(values, (0.0, 1.0)) if rule.binary else (values >= rule.low) & (values <= rule.high)
        assert ok.all(), (name, rule.meaning, values[~ok][:5])
    # and the rules are not vacuous on them: some real values are negative where allowed
    assert (real_features["BUREAU_AMT_CREDIT_SUM_DEBT_sum"] < 0).any()


@pytest.mark.slow
def test_real_applicants_through_the_batch_rules(real_features: pd.DataFrame, service: ScoringService) -> None:
    """The vectorised rules over real rows: none refused by a domain rule (the fixture model's tiny
    training range may refuse some values, and then says so)."""
    known = [c for c in real_features.columns if c in service.validator.bounds]
    reasons = service.validator.violations(real_features[known])
    assert len(reasons) == len(real_features)
    assert not reasons.str.contains("outside its domain").any()


def test_the_same_value_is_refused_by_the_api_the_batch_and_predict_credit_score(service: ScoringService, client,
                                                                                 monkeypatch) -> None:
    monkeypatch.setattr(api.seed, "loaded_service", lambda: service)
    bad = {schema.EXT_SOURCE_1: -0.05, schema.BUREAU_OVERDUE_MAX: -20000.0, schema.CARD_ATM_DRAWINGS: -1.0,
           schema.DOCUMENT_3: 2, schema.GENDER_F: 1}
    args = list(VALID.values())
    for name, value in bad.items():
        resp = client.post("/api/predict", json=VALID | {name: value})
        assert resp.status_code == 422 and name in resp.text, name
        frame = pd.DataFrame([VALID | {name: value}])
        assert name in service.validator.violations(frame).iloc[0], name
        with pytest.raises(ValueError):
            app_gradio.predict_credit_score(*[value if n == name else a for n, a in zip(VALID, args, strict=True)])


@pytest.mark.parametrize("position, value, arg", [
    (0, math.nan, "ext_source_1"), (1, math.inf, "ext_source_2"), (2, -math.inf, "ext_source_3"),
    (2, 1.2, "ext_source_3"), (5, -0.5, "card_atm_drawings_mean"), (10, -1.0, "bureau_overdue_max"),
    (6, 0.5, "income_working"), (0, "0.4", "ext_source_1"), (0, True, "ext_source_1"), (6, None, "income_working"),
])
def test_predict_credit_score_names_the_argument(service: ScoringService, monkeypatch, position: int, value: object,
                                                 arg: str) -> None:
    monkeypatch.setattr(api.seed, "loaded_service", lambda: service)
    args = list(VALID.values())
    args[position] = value
    with pytest.raises(ValueError, match=f"^{arg}"):
        app_gradio.predict_credit_score(*args)


def test_predict_credit_score_refuses_both_genders_and_both_educations(service: ScoringService, monkeypatch) -> None:
    monkeypatch.setattr(api.seed, "loaded_service", lambda: service)
    args = list(VALID.values())
    both_genders = args[:7] + [1, 1] + args[9:]
    with pytest.raises(ValueError, match="gender_female, gender_male"):
        app_gradio.predict_credit_score(*both_genders)
    with pytest.raises(ValueError, match="education_higher, education_secondary"):
        app_gradio.predict_credit_score(*args[:3], 1, 1, *args[5:])
    assert app_gradio.predict_credit_score(*args)[0] == service.predictor.predict(VALID, explain=False).score
    assert app_gradio.predict_credit_score(*args[:6], np.float64(1.0), *args[7:])  # numpy scalars are numbers


def test_violations_lists_every_reason_per_row(service: ScoringService) -> None:
    frame = pd.DataFrame([VALID, VALID | {schema.EXT_SOURCE_1: 1.5, schema.GENDER_F: 1},
                          VALID | {schema.EXT_SOURCE_2: np.nan}, VALID | {"DAYS_BIRTH": np.inf}])
    frame["AMT_CREDIT"] = [1.0, 2.0, "lots", None]
    reasons = service.validator.violations(frame)
    assert reasons.iloc[0] == "" and reasons.iloc[2].startswith("AMT_CREDIT: must be a number")
    assert "EXT_SOURCE_1: 1.5 is outside its domain" in reasons.iloc[1] and "CODE_GENDER" in reasons.iloc[1]
    assert "DAYS_BIRTH" in reasons.iloc[3] and reasons.iloc[3].count(";") == 0
    assert list(reasons.index) == list(frame.index)


def test_a_number_beyond_float32_is_refused_not_a_500(client) -> None:
    resp = client.post("/api/predict", json=VALID | {"ALL_MISSING": -4e109})
    assert resp.status_code == 422 and str(f"{-FLOAT32_MAX:.6g}") in resp.text


def test_the_fast_path_and_the_detailed_path_agree(service: ScoringService) -> None:
    import json

    validator = service.validator
    good = json.dumps(VALID | {"DAYS_BIRTH": -12000, schema.DOCUMENT_3: True}).encode()
    assert validator.parse(good) == validator._slow(good)
    for body in (VALID | {schema.EXT_SOURCE_1: "0.4"}, VALID | {"x": 1}, VALID | {schema.GENDER_F: True}):
        with pytest.raises(InputError):
            validator.parse(json.dumps(body).encode())
