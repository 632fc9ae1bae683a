"""Real applicants of homecredit_5k through every door, with the committed model: the same verdict
everywhere — accepted, and flagged with the same features past the training range (applicant 101121:
a bureau overdue of 542,034 where training saw at most about 95,000) — and nothing impossible refused.

The doors: the raw-tables batch (`inference.py --input application.csv --data-dir`), the features-file
batch (a CSV whose ids pandas wrote as floats, as a features export does), the dossier (GET
/api/applicants/{id}), the form's "Charger le dossier" then "Évaluer", the JSON API with the full
feature row, its batch route, the what-if, and `predict_credit_score`. Skipped without the data.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import api.seed
from api.app import gated
from api.form_parts import form_inputs
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from api.ui import build_ui
from scoring import schema
from scoring.schema import BUREAU_OVERDUE_MAX, ID_COLUMN, OUT_OF_RANGE_KEY, UI_FEATURE_NAMES
from scoring.store import FeatureStore
from serving.batch import OUT_OF_RANGE_COLUMN, errors_path_for, score_file
from serving.predictor import Predictor
from tests.fixture_model import store_for
from tests.helpers import SHARED_SAMPLE

REAL = SHARED_SAMPLE.parent / "homecredit_5k"
FLAGGED = 101121  # a bureau overdue of 542,034: past the training range, not impossible
FIRST = 25  # the first applicants of the file, with FLAGGED: real rows of every kind

pytestmark = pytest.mark.skipif(not (REAL / "application_train.csv.gz").exists(),
                                reason="the real extract ../shared/data/homecredit_5k is not here")


@dataclasses.dataclass(frozen=True)
class Real:
    ids: list[int]
    features: pd.DataFrame  # the model's columns, indexed by SK_ID_CURR
    application: pd.DataFrame  # the raw application rows of `ids`
    store: Path


@pytest.fixture(scope="module")
def real(committed: Predictor, tmp_path_factory: pytest.TempPathFactory) -> Real:
    from scoring.config import MODELS_DIR
    from scoring.data import load_tables
    from scoring.features import align_features, build_features

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # installments_payments is absent from the extract
        tables = load_tables(REAL, progress=False)
    application = pd.read_csv(REAL / "application_train.csv.gz")
    ids = [*application[ID_COLUMN].head(FIRST).tolist(), FLAGGED]
    tables = tables.restrict(ids)
    features = align_features(build_features(tables, progress=False), committed.features)
    store = store_for(MODELS_DIR, tables, tmp_path_factory.mktemp("real") / "store.sqlite")
    return Real(ids, features, application[application[ID_COLUMN].isin(ids)], store)


@pytest.fixture()
def real_service(committed: Predictor, real: Real, tmp_path: Path) -> Iterator[ScoringService]:
    svc = ScoringService(committed, PredictionLogger(tmp_path / "p.log"), store=FeatureStore.open(real.store),
                         store_reason="")
    yield svc
    svc.logger.close()


@pytest.fixture()
def real_client(real_service: ScoringService) -> Iterator[TestClient]:
    with TestClient(gated(create_api(real_service)), raise_server_exceptions=False) as c:
        yield c


def _expected(service: ScoringService, real: Real) -> dict[int, tuple[str, ...]]:
    """The flags of each applicant's full row, by the rules (the reference every door must give)."""
    rules = service.validator.rules
    return {int(i): rules.out_of_range(list(real.features.columns), real.features.loc[i].tolist()) for i in real.ids}


def _flags(cell: object) -> tuple[str, ...]:
    return tuple(str(cell).split(";")) if isinstance(cell, str) and cell else ()


def test_applicant_101121_is_flagged_not_refused_and_some_are_not(real_service: ScoringService, real: Real) -> None:
    expected = _expected(real_service, real)
    assert BUREAU_OVERDUE_MAX in expected[FLAGGED]
    assert real.features.loc[FLAGGED, BUREAU_OVERDUE_MAX] == 542_034.0
    assert real.features.loc[FLAGGED, BUREAU_OVERDUE_MAX] > real_service.validator.rules[BUREAU_OVERDUE_MAX].seen_high
    assert any(not f for f in expected.values())  # the flag is not everywhere
    assert not any(real_service.validator.rules.check_frame(real.features))  # no real value is impossible


def test_both_batch_doors_score_and_flag_alike_with_integer_ids(real_service: ScoringService, real: Real,
                                                               tmp_path: Path) -> None:
    predictor = real_service.predictor
    expected = _expected(real_service, real)
    # the features file as a pandas export writes it: ids as floats (101121.0), plus one impossible row
    frame = real.features.copy().reset_index()
    bad = frame[frame[ID_COLUMN] == FLAGGED].assign(**{ID_COLUMN: 999_999, schema.EXT_SOURCE_1: 1.5})
    frame = pd.concat([frame, bad], ignore_index=True)
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(float)
    frame.to_csv(tmp_path / "features.csv", index=False)
    assert "101121.0," in (tmp_path / "features.csv").read_text()
    by_features = score_file(tmp_path / "features.csv", tmp_path / "f.csv", predictor=predictor, progress=False)
    real.application.to_csv(tmp_path / "application.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        by_tables = score_file(tmp_path / "application.csv", tmp_path / "a.csv", predictor=predictor,
                               data_dir=REAL, progress=False)
    assert by_tables.scored == len(real.ids) == by_features.scored and not by_tables.errors
    outputs = []
    for name in ("f.csv", "a.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8-sig")
        assert f"\n{FLAGGED}," in text and f"{FLAGGED}.0" not in text  # the id written as an integer
        out = pd.read_csv(tmp_path / name, encoding="utf-8-sig").set_index(ID_COLUMN)
        assert {int(i): _flags(c) for i, c in out[OUT_OF_RANGE_COLUMN].items()} == expected, name
        outputs.append(out)
    np.testing.assert_allclose(outputs[0].loc[real.ids, "score"], outputs[1].loc[real.ids, "score"], atol=2e-6)
    (error,) = by_features.errors  # the impossible row only, its id an integer in the errors file
    assert error.applicant == "999999" and "EXT_SOURCE_1" in error.reason and "outside its domain" in error.reason
    errors = errors_path_for(tmp_path / "f.csv").read_text(encoding="utf-8")
    assert ",999999," in errors and "999999.0" not in errors


def test_the_json_api_the_dossier_and_the_what_if_flag_alike(real_service: ScoringService, real_client: TestClient,
                                                           real: Real) -> None:
    expected = _expected(real_service, real)
    for applicant in (FLAGGED, real.ids[0]):
        row = {k: float(v) for k, v in real.features.loc[applicant].items() if not math.isnan(v)}
        sent = real_client.post("/api/predict", json=row)  # the full feature row (missing ones left out)
        assert sent.status_code == 200, sent.text
        assert tuple(sent.json()["out_of_range"]) == expected[applicant]
        dossier = real_client.get(f"/api/applicants/{applicant}")
        again = real_client.get(f"/api/applicants/{applicant}")  # the second answer comes from the cache
        assert dossier.status_code == again.status_code == 200
        assert tuple(dossier.json()["out_of_range"]) == tuple(again.json()["out_of_range"]) == expected[applicant]
    batch = real_client.post("/api/predict/batch", json={"rows": [
        {k: float(v) for k, v in real.features.loc[i].items() if not math.isnan(v)} for i in (FLAGGED, real.ids[0])]})
    assert batch.status_code == 200, batch.text
    assert [tuple(p["out_of_range"]) for p in batch.json()["predictions"]] == [expected[FLAGGED],
                                                                                expected[real.ids[0]]]
    what_if = real_client.post("/api/predict", json={ID_COLUMN: FLAGGED, schema.EXT_SOURCE_3: 0.5})
    assert what_if.status_code == 200 and BUREAU_OVERDUE_MAX in what_if.json()["out_of_range"]
    typed = real_client.post("/api/predict", json={ID_COLUMN: FLAGGED, BUREAU_OVERDUE_MAX: 0.0})  # the adviser's fix
    assert typed.status_code == 200 and BUREAU_OVERDUE_MAX not in typed.json()["out_of_range"]
    real_service.logger.flush()
    records = [json.loads(line) for line in real_service.logger.path.read_text(encoding="utf-8").splitlines()]
    flagged = [r for r in records if r.get("applicant_id") == FLAGGED or r["input"].get(BUREAU_OVERDUE_MAX) == 542_034]
    assert flagged and all(r["status"] == "ok" for r in records)
    assert [BUREAU_OVERDUE_MAX in r.get(OUT_OF_RANGE_KEY, []) for r in flagged] == [True] * (len(flagged) - 1) + [False]
    # what monitoring reads of that log: every flagged real call counted, by feature
    from monitoring.reader import read_log
    from monitoring.stats import out_of_range_stats

    found = out_of_range_stats(read_log(real_service.logger.path).frame)
    assert found["calls"] == sum(bool(r.get(OUT_OF_RANGE_KEY)) for r in records) > 0
    assert found["features"][BUREAU_OVERDUE_MAX] == sum(BUREAU_OVERDUE_MAX in r.get(OUT_OF_RANGE_KEY, [])
                                                        for r in records)


def test_the_form_loads_evaluates_and_says_it_in_french(real_service: ScoringService) -> None:
    events = {f.api_name: functools.partial(f.fn, None) for f in build_ui(real_service).fns.values() if f.fn}
    n_fields = len(form_inputs())
    out = events["load_dossier"](str(FLAGGED), None)
    reasons, message = out[-6], out[-5]
    assert message == "" and "Hors de ce que le modèle a vu" in reasons
    assert "Impayé max. auprès d'autres organismes (€)" in reasons
    fields, rest = list(out[:n_fields]), out[n_fields:]
    amounts, session = rest[:-11], rest[-11]
    again = events["predict"](*fields, *amounts, str(FLAGGED), session)  # "Évaluer" unchanged: the same answer
    assert again[4] == reasons and again[5] == ""


def test_predict_credit_score_scores_and_warns(real_service: ScoringService, real: Real,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.seed, "loaded_service", lambda: real_service)
    row = real.features.loc[FLAGGED]
    args = [None if math.isnan(row.get(n, math.nan)) else float(row.get(n, 0.0)) for n in UI_FEATURE_NAMES]
    args = [0.0 if a is None and n not in schema.MAY_BE_UNKNOWN else a for a, n in zip(args, UI_FEATURE_NAMES,
                                                                                       strict=True)]
    with pytest.warns(api.seed.OutOfRangeWarning, match=BUREAU_OVERDUE_MAX):
        score, label = api.seed.predict_credit_score(*args)
    assert 0 <= score <= 1 and label in (schema.LABEL_LOW_RISK, schema.LABEL_HIGH_RISK)


def test_an_impossible_value_is_refused_by_the_raw_and_the_features_batch_alike(real_service: ScoringService,
                                                                               real: Real, tmp_path: Path) -> None:
    """Real rows made impossible (a negative income, an age of 300 years): refused by both batch doors, on the
    same features, with their integer ids and lines; the real rows beside them are scored."""
    predictor = real_service.predictor
    base = real.application[real.application[ID_COLUMN] == FLAGGED]
    broken = pd.concat([base.assign(**{ID_COLUMN: 900_001, "AMT_INCOME_TOTAL": -5.0}),
                        base.assign(**{ID_COLUMN: 900_002, "DAYS_BIRTH": -300 * 365})])
    pd.concat([real.application, broken]).to_csv(tmp_path / "application.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        raw = score_file(tmp_path / "application.csv", tmp_path / "a.csv", predictor=predictor, data_dir=REAL,
                         progress=False)
    assert raw.scored == len(real.ids) and [(e.line, e.applicant) for e in raw.errors] == [
        (len(real.ids) + 2, "900001"), (len(real.ids) + 3, "900002")]
    assert "column AMT_INCOME_TOTAL (built from the tables): -5 is outside its domain" in raw.errors[0].reason
    assert "column DAYS_BIRTH (built from the tables)" in raw.errors[1].reason
    assert "an age of 18 to 120 years" in raw.errors[1].reason
    frame = real.features.copy()
    frame.loc[900_001] = frame.loc[FLAGGED].to_numpy()
    frame.loc[900_001, "AMT_INCOME_TOTAL"] = -5.0
    frame.loc[900_002] = frame.loc[FLAGGED].to_numpy()
    frame.loc[900_002, "DAYS_BIRTH"] = -300 * 365.0
    frame.rename_axis(ID_COLUMN).reset_index().to_csv(tmp_path / "features.csv", index=False)
    by_features = score_file(tmp_path / "features.csv", tmp_path / "f.csv", predictor=predictor, progress=False)
    assert [e.applicant for e in by_features.errors] == ["900001", "900002"]
    for a, b in zip(raw.errors, by_features.errors, strict=True):  # the same features named
        named_raw = {p.split(" ")[1] for p in a.reason.split("; ")}
        named_file = {p.split(" ")[1].rstrip(":") for p in b.reason.split("; ")}
        assert named_raw >= named_file and named_file, (a.reason, b.reason)
