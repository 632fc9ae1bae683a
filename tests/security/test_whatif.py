"""What-if recomputes the derived features and checks them with the same rules (issue 19, item 5)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.rest import create_api
from api.scoring_service import ScoringService


@pytest.fixture()
def api(dossier_service: ScoringService, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.delenv("FORM_USERS", raising=False)
    with TestClient(gated(create_api(dossier_service))) as client:
        yield client


@pytest.mark.parametrize("amount", [1e-300, 5e-324, 1e-30, 0.5])
def test_a_tiny_credit_cannot_make_infinite_derived_features(api: TestClient, dossier_service: ScoringService,
                                                             amount: float) -> None:
    resp = api.post("/api/predict", json={"SK_ID_CURR": 100002, "AMT_CREDIT": amount})
    assert resp.status_code == 422, resp.text[:300]
    assert {e["field"] for e in resp.json()["errors"]} == {"AMT_CREDIT"}
    dossier_service.logger.flush()
    last = json.loads(dossier_service.logger.path.read_text().splitlines()[-1])
    assert last["status"] == "error" and last["applicant_id"] == 100002  # the refusal is an audit line


def test_derived_features_out_of_bounds_are_refused_naming_them(dossier_service: ScoringService) -> None:
    """Past the amount's own rule, what the store recomputes is checked too (the defence in depth that
    caught 1e-300 before the amount rule did)."""
    from serving.validation import InputError

    dossier = dossier_service.dossier(100002)
    stored = np.asarray(dossier.row, dtype=np.float32)
    for amount in (1e-300, 5e-324):
        changed = np.asarray(dossier_service.store.what_if(dossier, {"AMT_CREDIT": amount}), dtype=np.float32)
        with pytest.raises(InputError) as refused:
            dossier_service.check_derived(stored, changed, {"AMT_CREDIT": amount})
        fields = {e.field for e in refused.value.errors}
        assert fields & {"PAYMENT_RATE", "GOODS_CREDIT_PERC"}, fields
        assert all("derived from AMT_CREDIT" in e.message or "cannot be computed" in e.message
                   for e in refused.value.errors if e.field != "AMT_CREDIT")


def test_a_sensible_what_if_still_scores_on_finite_features(api: TestClient, dossier_service: ScoringService) -> None:
    base = api.get("/api/applicants/100002").json()
    changed = api.post("/api/predict", json={"SK_ID_CURR": 100002, "AMT_CREDIT": 300_000.0})
    assert changed.status_code == 200 and changed.json()["score"] != base["score"]
    store = dossier_service.store
    dossier = store.lookup(100002)
    row = store.what_if(dossier, {"AMT_CREDIT": 300_000.0})
    assert all(math.isfinite(v) or math.isnan(v) for v in row)
