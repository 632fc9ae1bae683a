"""The gate's parts: paired figures and the rule, the one-step folder swap, the model checks, the reload route."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.auth import Access
from api.logger import PredictionLogger
from api.model_swap import ModelSwapper
from api.rest import create_api
from api.scoring_service import ScoringService
from lifecycle import folders
from scoring import config
from scoring.gate import GateRule, flips, judge, paired_figures
from serving.model_checks import ModelRefused, verify
from serving.predictor import Predictor
from tests.fixture_model import build_model_dir
from tests.helpers import VALID


def test_paired_figures_see_a_worse_model_and_not_an_identical_one():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.2).astype(int)
    good = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.15, y.size), 0, 1)
    noise = rng.random(y.size)
    same = paired_figures(y, good, good, champion_threshold=0.3, candidate_threshold=0.3, cost_fn=10, cost_fp=1,
                          n_boot=200)
    assert same["auc"]["difference"] == {"value": 0.0, "low": 0.0, "high": 0.0}
    worse = paired_figures(y, good, noise, champion_threshold=0.3, candidate_threshold=0.3, cost_fn=10, cost_fp=1,
                           n_boot=200)
    assert worse["auc"]["difference"]["high"] < 0 < worse["auc"]["champion"]["value"] - 0.5
    figures = {"paired": worse, "fairness": {"candidate": {}}, "parity": {"candidate": {"max_gap": 0.0}},
               "speed": {"slowdown": 1.0}, "flips": flips(good >= 0.3, noise >= 0.3)}
    failed = [c["figure"] for c in judge(figures, GateRule()) if not c["passed"]]
    assert "auc.difference.high" in failed
    assert flips([0, 1, 1, 0], [1, 1, 0, 0]) == {"accepted_to_refused": 1, "refused_to_accepted": 1, "total": 2,
                                                 "share": 0.5}


def test_fairness_is_judged_against_the_champion_and_the_rule_file_is_checked(tmp_path):
    figures = {"fairness": {"champion": {"age": {"four_fifths_ok": False, "equalised_odds_ok": True}},
                            "candidate": {"age": {"four_fifths_ok": False, "equalised_odds_ok": False}}},
               "parity": {"candidate": {"max_gap": 2e-5}}, "speed": {}}
    checks = {c["figure"]: c["passed"] for c in judge(figures, GateRule())}
    assert checks == {"fairness.age.four_fifths_ok": True,  # already broken: not newly
                      "fairness.age.equalised_odds_ok": False, "parity.candidate.max_gap": False}
    (tmp_path / "r.json").write_text(json.dumps({"max_cost_increase": 0.1}))
    assert GateRule.from_file(tmp_path / "r.json").max_cost_increase == 0.1
    (tmp_path / "bad.json").write_text(json.dumps({"max_auc": 1}))
    with pytest.raises(ValueError, match="max_auc"):
        GateRule.from_file(tmp_path / "bad.json")


def test_swap_in_replaces_a_folder_or_a_link_in_one_step_and_keeps_the_old_one(tmp_path, monkeypatch):
    def folder(name: str, text: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / "f.txt").write_text(text)
        return path

    serving = folder("serving", "old")
    staging = folders.staging_copy(folder("new", "new"), serving)
    assert folders.swap_in(staging, serving, tmp_path / "archive" / "a1") == tmp_path / "archive" / "a1"
    assert (serving / "f.txt").read_text() == "new" and (tmp_path / "archive" / "a1" / "f.txt").read_text() == "old"
    # a system without renameat2: two renames, same result
    monkeypatch.setattr(folders, "exchange", lambda a, b: False)
    folders.swap_in(folders.staging_copy(folder("newer", "newer"), serving), serving, tmp_path / "archive" / "a2")
    assert (serving / "f.txt").read_text() == "newer" and (tmp_path / "archive" / "a2" / "f.txt").read_text() == "new"
    # a serving path that is a symbolic link: the link is replaced
    target = folder("v1", "v1")
    link = tmp_path / "current"
    link.symlink_to(target.name)
    folders.swap_in(folders.staging_copy(folder("v2", "v2"), link), link, tmp_path / "archive" / "a3")
    assert link.is_symlink() and (link / "f.txt").read_text() == "v2"
    assert (tmp_path / "archive" / "a3" / "f.txt").read_text() == "v1"
    assert not list(tmp_path.glob(".serving.incoming-*"))


def test_model_checks_refuse_a_model_without_a_required_feature(fixture_champion: Path):
    predictor = Predictor.from_dir(fixture_champion)
    figures = verify(predictor)
    assert figures["max_gap"] <= 1e-5 and figures["treeshap_vs_xgboost"] <= 1e-5
    with pytest.raises(ModelRefused, match="NO_SUCH_FEATURE"):
        verify(predictor, required=["NO_SUCH_FEATURE"])


def test_reload_route_needs_tokens_and_swaps_between_two_calls(tmp_path, fixture_champion):
    serving = tmp_path / "models"
    shutil.copytree(fixture_champion, serving)
    service = ScoringService(Predictor.from_dir(serving), PredictionLogger(tmp_path / "p.log"))
    service.swapper = ModelSwapper(service, serving, tmp_path / "models-challenger")
    open_app = gated(create_api(service))
    with TestClient(open_app) as client:
        assert client.post("/api/admin/reload").status_code == 403  # no tokens configured: closed
    app = create_api(service)
    from api.middleware import Gate
    from api.rest import api_methods

    closed = Gate(app, methods=api_methods(app), access=Access({"s3cret": "ops"}))
    new = build_model_dir(tmp_path / "new", seed=2, n_estimators=15)
    with TestClient(closed) as client:
        auth = {"Authorization": "Bearer s3cret"}
        before = client.post("/api/predict", json=VALID, headers=auth).json()["model_version"]
        fields = "PredictRequestFields"  # the documented ranges (PredictRequest adds the exclusive groups)
        schema_before = client.get("/openapi.json", headers=auth).json()["components"]["schemas"][fields]
        seen_before = client.get("/model/info", headers=auth).json()["accepted_ranges"]["AMT_CREDIT"]
        assert client.post("/api/admin/reload").status_code == 401
        assert client.post("/api/admin/reload", headers=auth).json()["champion"] == "unchanged"
        folders.swap_in(folders.staging_copy(new, serving), serving, tmp_path / "archive" / "x")
        done = client.post("/api/admin/reload", headers=auth).json()
        assert done["champion"] == "swapped" and done["model_version"] == Predictor.from_dir(new).model_version
        after = client.post("/api/predict", json=VALID, headers=auth).json()["model_version"]
        assert after == done["model_version"] != before
        assert client.get("/model/info", headers=auth).json()["model_version"] == after
        new_ranges = Predictor.from_dir(new).artifacts.reference["ranges"]["AMT_CREDIT"]
        schema_after = client.get("/openapi.json", headers=auth).json()["components"]["schemas"][fields]
        # what is accepted is the field's domain, the same for both models; what the model saw is the new one's
        assert schema_after["properties"]["AMT_CREDIT"] == schema_before["properties"]["AMT_CREDIT"]
        seen = client.get("/model/info", headers=auth).json()["accepted_ranges"]["AMT_CREDIT"]
        assert seen["seen_max"] >= new_ranges["max"] and seen["seen_min"] <= new_ranges["min"]
        assert seen != seen_before
    service.close()
    records = [json.loads(x) for x in (tmp_path / "p.log").read_text().splitlines()]
    assert [r["model_version"] for r in records] == [before, after]


def test_watch_setting_is_checked(monkeypatch):
    monkeypatch.setenv("MODEL_WATCH_SECONDS", "-1")
    with pytest.raises(ValueError):
        config.model_watch_seconds()
    monkeypatch.setenv("MODEL_WATCH_SECONDS", "0")
    assert config.model_watch_seconds() == 0
    monkeypatch.setenv("CHALLENGER_DIR", "")
    assert config.challenger_dir(Path("/x/models")) == Path("/x/models-challenger")
