"""Shadow scoring: with a challenger set, every call's line carries its answer; the champion's answers are
the same bytes with the shadow off and on; the report's challenger figures equal a recount of the log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from api.shadow import Shadow
from monitoring.context import load_context
from monitoring.reader import read_log
from monitoring.report import build_report
from scoring import schema
from serving.predictor import Predictor
from tests.fixture_model import build_model_dir
from tests.helpers import VALID


@pytest.fixture(scope="module")
def challenger(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    return Predictor.from_dir(build_model_dir(tmp_path_factory.mktemp("challenger"), seed=4, n_estimators=25))


def applicants(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        body = dict(VALID)
        for name in (schema.EXT_SOURCE_1, schema.EXT_SOURCE_2, schema.EXT_SOURCE_3):
            body[name] = round(float(rng.uniform(0.1, 0.9)), 4)
        body[schema.CARD_ATM_DRAWINGS] = round(float(rng.uniform(0, 5)), 2)
        female = bool(rng.random() < 0.5)
        body[schema.GENDER_F], body[schema.GENDER_M] = int(female), int(not female)
        out.append(body)
    return out


def serve(predictor: Predictor, log: Path, challenger: Predictor | None) -> tuple[list[bytes], ScoringService]:
    service = ScoringService(predictor, PredictionLogger(log))
    service.shadow = Shadow(service.logger, challenger)
    bodies = []
    with TestClient(gated(create_api(service))) as client:
        for body in applicants(300):
            resp = client.post("/api/predict", json=body)
            assert resp.status_code == 200
            rid = resp.json()["request_id"].encode()
            bodies.append(resp.content.replace(rid, b"<id>"))
        resp = client.post("/api/predict/batch", json={"rows": applicants(5, seed=9)})
        assert resp.status_code == 200
    service.close()
    return bodies, service


def test_shadow_logs_the_challenger_and_never_changes_the_champions_answer(predictor, challenger, tmp_path):
    off, _ = serve(predictor, tmp_path / "off.log", None)
    on, service = serve(predictor, tmp_path / "on.log", challenger)
    assert on == off  # byte for byte, request ids aside
    assert service.shadow.stats()["scored"] == 305
    lines = [json.loads(line) for line in (tmp_path / "on.log").read_text().splitlines()]
    assert len(lines) == 305 and len({r["request_id"] for r in lines}) == 305  # one line per answer
    for record in lines:
        assert record["challenger_version"] == challenger.model_version
        assert record["model_version"] == predictor.model_version
        assert 0 <= record["challenger_score"] <= 1 and record["challenger_decision"] in (0, 1)
        assert record["challenger_decision"] == int(record["challenger_score"] >= challenger.threshold)
    assert not any("challenger_version" in json.loads(x) for x in (tmp_path / "off.log").read_text().splitlines())
    # the challenger scores the features it was given, as a direct call does
    first = lines[0]
    assert first["challenger_score"] == pytest.approx(challenger.score(first["input"]), abs=1e-7)

    # the report's figures equal a recount of the lines
    report = build_report(read_log(tmp_path / "on.log"), load_context(predictor.artifacts.directory))
    got = report["challenger"]
    champion = np.array([r["prediction"]["decision"] for r in lines])
    shadow = np.array([r["challenger_decision"] for r in lines])
    assert got["calls"] == 305
    assert got["agreement_rate"] == pytest.approx(np.mean(champion == shadow))
    assert got["flips"] == {"accepted_to_refused": int(np.sum((champion == 0) & (shadow == 1))),
                            "refused_to_accepted": int(np.sum((champion == 1) & (shadow == 0)))}
    shift = np.mean([r["challenger_score"] - r["prediction"]["score"] for r in lines])
    assert got["mean_score_shift"] == pytest.approx(shift)
    assert got["challenger_versions"] == {challenger.model_version: 305}


def test_a_disagreeing_challenger_raises_the_alert_and_the_cli_shows_the_french_section(predictor, challenger,
                                                                                          tmp_path, capsys):
    import analyse_logs

    serve(predictor, tmp_path / "on.log", challenger)
    doc = tmp_path / "report.json"
    code = analyse_logs.main(["--log", str(tmp_path / "on.log"), "--model-dir", str(predictor.artifacts.directory),
                              "--json", str(doc), "--challenger-disagreement-max", "0", "--min-shadowed", "10"])
    report = json.loads(doc.read_text())
    disagree = report["challenger"]["disagreement_rate"]
    text = capsys.readouterr().out
    assert "Challenger (évaluation dans l'ombre)" in text and "accord" in text
    kinds = [a["kind"] for a in report["alerts"]]
    assert ("challenger" in kinds) == (disagree > 0)
    assert code == (1 if report["alerts"] else 0)


def test_the_shadow_never_loses_a_line_when_the_challenger_fails_or_falls_behind(predictor, tmp_path):
    class Broken:
        model_version = "broken"
        index: dict = {}
        threshold = 0.5

        def score_values(self, names, values):
            raise RuntimeError("boom")

    logger = PredictionLogger(tmp_path / "p.log")
    shadow = Shadow(logger, Broken(), max_pending=0)  # type: ignore[arg-type]
    record = {"request_id": "r1", "input": {}, "prediction": {"score": 0.1, "label": "x", "decision": 0},
              "duration": 0.001, "model_version": "v"}
    assert shadow.submit(dict(record), (), ())  # too far behind: logged at once, marked skipped
    shadow.max_pending = 10
    assert shadow.submit(dict(record, request_id="r2"), (), ())
    shadow.close()
    logger.close()
    lines = [json.loads(x) for x in (tmp_path / "p.log").read_text().splitlines()]
    assert [r["request_id"] for r in lines] == ["r1", "r2"]
    assert lines[0]["challenger_skipped"] is True
    assert lines[1]["challenger_error"].startswith("RuntimeError") and "challenger_score" not in lines[1]
    assert shadow.stats() | {} == {"on": True, "challenger_version": "broken", "scored": 0, "pending": 0,
                                   "skipped": 1, "failed": 1}
    shadow.challenger = None
    assert not shadow.submit(dict(record), (), ())  # no challenger: the caller logs
