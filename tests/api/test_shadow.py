"""Shadow scoring: with a challenger set, every call's line carries its answer; the champion's answers are
the same bytes with the shadow off and on; the report's challenger figures equal a recount of the log."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from api.shadow import Shadow
from monitoring.challenger import challenger_lines
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


def shadowed(predictor: Predictor, log: Path, challenger: Predictor | None) -> ScoringService:
    service = ScoringService(predictor, PredictionLogger(log))
    service.shadow = Shadow(service.logger, challenger)
    return service


def post_all(client: TestClient, bodies: list[dict]) -> None:
    for body in bodies:
        assert client.post("/api/predict", json=body).status_code == 200


def serve(predictor: Predictor, log: Path, challenger: Predictor | None) -> tuple[list[bytes], ScoringService]:
    service = shadowed(predictor, log, challenger)
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


def lines_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


RECORD = {"input": {}, "prediction": {"score": 0.1, "label": "x", "decision": 0}, "duration": 0.001,
          "model_version": "v"}


def test_each_line_says_why_a_call_was_not_shadowed_sampled_out_or_queue_full(predictor, challenger, tmp_path):
    logger = PredictionLogger(tmp_path / "p.log")
    names = tuple(predictor.features[:3])
    shadow = Shadow(logger, challenger, share=0.25)  # one call in four, exactly
    for i in range(40):
        assert shadow.submit(dict(RECORD, request_id=f"s{i}"), names, (0.5, 0.5, 0.5))
    assert shadow.drain(60)
    shadow.share, shadow.max_pending = 1.0, 0  # too far behind: logged at once, dropped and counted
    assert shadow.submit(dict(RECORD, request_id="full"), names, (0.5, 0.5, 0.5))
    shadow.close()
    logger.close()
    lines = {r["request_id"]: r for r in lines_of(tmp_path / "p.log")}
    assert len(lines) == 41
    skipped = [r for r in lines.values() if "challenger_skipped" in r]
    assert sum(r["challenger_skipped"] == "sampled_out" for r in skipped) == 30
    assert lines["full"]["challenger_skipped"] == "queue_full"
    for r in lines.values():  # every line names the challenger; a score only on the lines it scored
        assert r["challenger_version"] == challenger.model_version
        assert ("challenger_score" in r) == ("challenger_skipped" not in r)
    report = build_report(read_log(tmp_path / "p.log"), load_context(predictor.artifacts.directory))["challenger"]
    assert report["calls"] == 10 and report["skipped"] == {"sampled_out": 30, "queue_full": 1}  # agreement: on 10
    assert "non notés par le challenger : 31 (hors échantillon 30, file pleine 1)" in "\n".join(
        challenger_lines(report))
    stats = shadow.stats()
    assert stats["scored"] == 10 and stats["skipped"] == {"queue_full": 1, "sampled_out": 30, "worker_down": 0}
    with pytest.raises(ValueError):
        Shadow(logger, challenger, share=0)


def test_a_challenger_swapped_while_the_shadow_runs_names_the_model_that_scored_each_line(predictor, challenger,
                                                                                           tmp_path):
    service = shadowed(predictor, tmp_path / "p.log", challenger)
    bodies = applicants(60, seed=3)
    with TestClient(gated(create_api(service))) as client:
        post_all(client, bodies[:30])
        service.shadow.challenger = predictor  # a new challenger (here: the champion's model itself)
        post_all(client, bodies[30:50])
        service.install(challenger)  # and a promotion of the old challenger, the shadow still on
        post_all(client, bodies[50:])
        assert client.get("/health").json()["shadow"]["status"] == "ok"
    service.close()
    lines = lines_of(tmp_path / "p.log")
    assert len(lines) == 60
    assert [r["challenger_version"] for r in lines] == [challenger.model_version] * 30 + [predictor.model_version] * 30
    assert [r["model_version"] for r in lines] == [predictor.model_version] * 50 + [challenger.model_version] * 10
    for r in lines[30:50]:  # the champion scored by itself in the shadow: the same score
        assert r["challenger_score"] == pytest.approx(r["prediction"]["score"], abs=1e-6)


def test_the_challengers_process_dies_the_champion_answers_and_health_says_degraded(predictor, challenger,
                                                                                      tmp_path, monkeypatch):
    import api.shadow as shadow_module

    monkeypatch.setattr(shadow_module, "RESTART_SECONDS", 0.5)
    service = shadowed(predictor, tmp_path / "p.log", challenger)
    bodies = applicants(40, seed=5)
    with TestClient(gated(create_api(service))) as client:
        post_all(client, bodies[:10])
        assert service.shadow.drain(60)
        pid = client.get("/health").json()["shadow"]["worker_pid"]
        os.kill(pid, signal.SIGKILL)
        service.shadow.worker.process.wait(10)
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["shadow"]["status"] == "degraded"
        assert str(pid) in health["shadow"]["reason"]
        post_all(client, bodies[10:20])  # the champion answers as ever
        assert service.shadow.drain(60)
        time.sleep(0.6)  # past RESTART_SECONDS: the next calls start a new process
        post_all(client, bodies[20:])
        assert service.shadow.drain(120)
        health = client.get("/health").json()
        assert health["shadow"]["status"] == "ok" and health["shadow"]["worker_restarts"] == 1
        assert health["shadow"]["worker_pid"] not in (None, pid)
    service.close()
    lines = lines_of(tmp_path / "p.log")
    assert len(lines) == 40 and len({r["request_id"] for r in lines}) == 40
    assert all("challenger_score" in r for r in lines[:10])
    assert all(r["challenger_skipped"] == "worker_down" for r in lines[10:20])
    assert all("challenger_score" in r for r in lines[-10:])
    assert all(r["challenger_version"] == challenger.model_version for r in lines)


def test_a_challenger_folder_changed_after_its_check_is_never_scored(predictor, tmp_path):
    folder = build_model_dir(tmp_path / "challenger", seed=8, n_estimators=10)
    checked = Predictor.from_dir(folder)
    data = bytearray((folder / schema.SERVED_MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01  # the served model file tampered after the service verified the folder
    (folder / schema.SERVED_MODEL_FILE).write_bytes(bytes(data))
    logger = PredictionLogger(tmp_path / "p.log")
    shadow = Shadow(logger, checked)
    names = tuple(predictor.features[:3])
    for i in range(3):
        assert shadow.submit(dict(RECORD, request_id=f"r{i}"), names, (0.5, 0.5, 0.5))
    shadow.close(60)
    logger.close()
    lines = lines_of(tmp_path / "p.log")
    assert [r["request_id"] for r in lines] == ["r0", "r1", "r2"]  # one line per call, none lost
    for r in lines:
        assert "challenger_score" not in r and "checksum" in r["challenger_error"]
    assert shadow.stats()["failed"] == 3 and shadow.stats()["scored"] == 0
    shadow.challenger = None
    assert not shadow.submit(dict(RECORD, request_id="x"), (), ())  # no challenger: the caller logs


def test_a_flagged_call_keeps_its_out_of_range_beside_the_challengers_answer(predictor, challenger, tmp_path):
    """The call's own extra field (`out_of_range`: a value past the training range, scored) and the
    challenger's fields on the same line."""
    service = shadowed(predictor, tmp_path / "p.log", challenger)
    past = service.validator.rules[schema.BUREAU_OVERDUE_MAX].seen_high * 2
    with TestClient(gated(create_api(service))) as client:
        resp = client.post("/api/predict", json=VALID | {schema.BUREAU_OVERDUE_MAX: past})
        assert resp.status_code == 200 and resp.json()["out_of_range"] == [schema.BUREAU_OVERDUE_MAX]
    service.close()
    (line,) = [json.loads(x) for x in (tmp_path / "p.log").read_text().splitlines()]
    assert line[schema.OUT_OF_RANGE_KEY] == [schema.BUREAU_OVERDUE_MAX]
    assert line[schema.CHALLENGER_VERSION_KEY] == challenger.model_version and schema.CHALLENGER_SCORE_KEY in line
