"""Unknown is an answer, at every door, on real applicants: rows of the real extract with no external
score, no card or no bureau record go through the JSON API (null and absent), the form (empty boxes),
`predict_credit_score` (None), a dossier and its what-if, and score exactly as the batch scores the same
rows. Skipped when the extract (../shared/data/homecredit_5k) is not here."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import api.seed
import app_gradio
from api.app import gated
from api.form_numbers import fr_input
from api.form_parts import form_inputs
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from api.ui import build_ui
from scoring import schema
from scoring.config import MODELS_DIR
from scoring.store import FeatureStore
from serving.batch import score_file
from serving.predictor import Predictor
from tests.fixture_model import store_for
from tests.helpers import SHARED_SAMPLE

REAL = SHARED_SAMPLE.parent / "homecredit_5k"
N_APPLICANTS = 400  # the first applicants of the extract (with all their child rows)


@pytest.fixture(scope="module")
def real_tables():
    if not any((REAL / f"application_train.csv{ext}").exists() for ext in ("", ".gz")):
        pytest.skip(f"the real extract {REAL} is not here")
    from scoring.data import load_tables

    tables = load_tables(REAL, progress=False)
    keep = list(tables.application[schema.ID_COLUMN].head(N_APPLICANTS))
    return tables.restrict(keep), set(keep)


@pytest.fixture(scope="module")
def real_features(real_tables) -> pd.DataFrame:
    from scoring.features import build_features

    tables, keep = real_tables
    return build_features(tables, progress=False)


@pytest.fixture(scope="module")
def committed_model() -> Predictor:
    if not (MODELS_DIR / schema.MANIFEST_FILE).is_file():
        pytest.skip("no committed model")
    return Predictor.from_dir(MODELS_DIR)


@pytest.fixture()
def real_service(committed_model: Predictor, tmp_path: Path):
    svc = ScoringService(committed_model, PredictionLogger(tmp_path / "p.log"))
    yield svc
    svc.logger.close()


def _ui_rows(real_features: pd.DataFrame) -> pd.DataFrame:
    """Real applicants lacking at least one of the values that may be unknown (and a few complete ones)."""
    ui = real_features.reindex(columns=list(schema.UI_FEATURE_NAMES)).astype(float)
    unknown = ui[sorted(schema.MAY_BE_UNKNOWN)].isna()
    assert unknown.any(axis=1).mean() > 0.5  # most real applicants lack one of them
    return pd.concat([ui[unknown.any(axis=1)].head(25), ui[~unknown.any(axis=1)].head(5)])


def _batch_scores(predictor: Predictor, ui: pd.DataFrame) -> np.ndarray:
    """The batch's scoring of a features frame: NaN kept (missing), the other columns from the template."""
    return predictor.predict_many(ui[[c for c in ui.columns if c in predictor.index]])


def test_the_json_api_scores_null_and_absent_as_missing_like_the_batch(real_service, real_features) -> None:
    ui = _ui_rows(real_features)
    expected = _batch_scores(real_service.predictor, ui)
    with TestClient(gated(create_api(real_service))) as client:
        for (_, row), score in zip(ui.iterrows(), expected, strict=True):
            with_null = {k: (None if math.isnan(v) else v) for k, v in row.items()}
            absent = {k: v for k, v in with_null.items() if v is not None}
            for body in (with_null, absent):
                answer = client.post("/api/predict", json=body)
                assert answer.status_code == 200, answer.text
                assert answer.json()["score"] == pytest.approx(score, abs=1e-6)
            reasons = answer.json()["reasons"]
            listed = {r["feature"]: r["value"] for r in reasons["up"] + reasons["down"]}
            assert all(listed[k] is None for k, v in with_null.items() if v is None and k in listed)
        batch = client.post("/api/predict/batch", json={"rows": [
            {k: (None if math.isnan(v) else v) for k, v in row.items()} for _, row in ui.iterrows()]})
        assert batch.status_code == 200
        assert [p["score"] for p in batch.json()["predictions"]] == pytest.approx(list(expected), abs=1e-6)


def test_predict_credit_score_takes_none_as_unknown(real_service, real_features, monkeypatch) -> None:
    monkeypatch.setattr(api.seed, "loaded_service", lambda: real_service)
    ui = _ui_rows(real_features)
    expected = _batch_scores(real_service.predictor, ui)
    for (_, row), score in zip(ui.iterrows(), expected, strict=True):
        args = [None if math.isnan(v) else v for v in row.to_numpy()]
        got, label = app_gradio.predict_credit_score(*args)
        assert got == pytest.approx(score, abs=1e-6)
        assert label == schema.label_for(got, real_service.predictor.threshold)


def _form_values(row: pd.Series) -> list:
    out: list = []
    for item in form_inputs():
        if isinstance(item, schema.ExclusiveGroup):
            chosen = [o for o, f in item.options.items() if f and row.get(f) == 1.0]
            other = [o for o, f in item.options.items() if f is None]
            out.append(chosen[0] if chosen else (other[0] if other else None))
        elif item.widget == "checkbox":
            out.append(bool(row[item.name] == 1.0))
        else:
            out.append(fr_input(None if math.isnan(row[item.name]) else row[item.name]))
    return out


def test_the_form_scores_empty_boxes_as_missing_like_the_batch(real_service, real_features) -> None:
    ui = _ui_rows(real_features)
    exact = ui.copy()
    for name in (n for n in schema.UI_FEATURE_NAMES if n in schema.MAY_BE_UNKNOWN):
        exact[name] = [float(fr_input(v).replace(",", ".").replace("\u202f", "")) if not math.isnan(v) else v
                       for v in ui[name]]  # the values as the boxes show them (4 decimals)
    expected = _batch_scores(real_service.predictor, exact)
    predict = next(functools.partial(f.fn, None) for f in build_ui(real_service).fns.values()
                   if f.api_name == "predict")  # no gr.Request: called outside a server
    for (_, row), score in zip(exact.iterrows(), expected, strict=True):
        shown = predict(*_form_values(row), "", "", "", "")
        assert shown[5] == "" and shown[0] == f"{100 * score:.2f} %".replace(".", ","), shown[5]
        if any(math.isnan(row[n]) for n in schema.MAY_BE_UNKNOWN):
            assert ": inconnu (" in shown[4]  # the reasons say so


def test_a_real_dossier_and_its_what_if_score_like_the_batch(committed_model, real_tables, tmp_path: Path) -> None:
    tables, _ = real_tables
    store_path = store_for(MODELS_DIR, tables, tmp_path / "real.sqlite")
    service = ScoringService(committed_model, PredictionLogger(tmp_path / "p.log"), store=FeatureStore.open(store_path),
                             store_reason="")
    raw = pd.read_csv(next(REAL.glob("application_train.csv*")), nrows=N_APPLICANTS)
    known = raw[raw["EXT_SOURCE_1"].notna()].head(10)
    unknown = raw[raw["EXT_SOURCE_1"].isna()].head(10)
    blanked = known.copy()
    blanked["EXT_SOURCE_1"] = np.nan  # the what-if "EXT_SOURCE_1 unknown" as the batch would see the row
    batch = {}
    for name, rows in (("own", pd.concat([known, unknown])), ("blanked", blanked)):
        rows.drop(columns=["TARGET"]).to_csv(tmp_path / f"{name}.csv", index=False)
        score_file(tmp_path / f"{name}.csv", tmp_path / f"{name}_out.csv", predictor=committed_model, data_dir=REAL,
                   progress=False)
        out = pd.read_csv(tmp_path / f"{name}_out.csv", encoding="utf-8-sig")
        batch[name] = dict(zip(out[schema.ID_COLUMN], out["score"], strict=True))
    with TestClient(gated(create_api(service))) as client:
        for number in list(known[schema.ID_COLUMN]) + list(unknown[schema.ID_COLUMN]):
            own = client.get(f"/api/applicants/{number}").json()
            assert own["score"] == pytest.approx(batch["own"][number], abs=1e-6)
        for number in known[schema.ID_COLUMN]:
            what_if = client.post("/api/predict", json={schema.ID_COLUMN: int(number), "EXT_SOURCE_1": None})
            assert what_if.status_code == 200, what_if.text
            assert what_if.json()["score"] == pytest.approx(batch["blanked"][number], abs=1e-6)
    service.logger.close()
