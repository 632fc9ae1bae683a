"""Monitoring counts the calls scored with a value past the training range (the `out_of_range` flag every
door writes): both log parsers read it alike, the report and the dashboard show it per feature in French,
and an alert fires when the share of such calls passes its threshold — followed over a served sequence."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import analyse_logs
from api.app import gated
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from monitoring import parse_arrow
from monitoring.alerts import OUT_OF_RANGE_KIND, AlertConfig, out_of_range_share
from monitoring.html import render_html
from monitoring.reader import read_log
from monitoring.records import OUT_OF_RANGE
from monitoring.report import analyse, render_text
from monitoring.style import label_fr
from scoring import config
from scoring.schema import BUREAU_OVERDUE_MAX, EXT_SOURCE_1, OUT_OF_RANGE_KEY
from serving.predictor import Predictor
from tests.helpers import VALID
from tests.monitoring.test_dashboard_widths import _app

AMT_INCOME_TOTAL = "AMT_INCOME_TOTAL"
BASE = {"request_id": "r", "input": {}, "prediction": {"score": 0.2, "label": "x", "decision": 0}, "duration": 0.01,
        "cpu_percent": 1.0, "memory_usage_MB": 10.0, "model_version": "v", "status": "ok"}


def _line(i: int, **extra: object) -> str:
    return json.dumps(BASE | {"timestamp": f"2026-12-06T10:{i // 60:02d}:{i % 60:02d}+00:00"} | extra)


@pytest.mark.parametrize("arrow", [True, False])
def test_both_parsers_read_the_flag_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrow: bool) -> None:
    monkeypatch.setattr(parse_arrow, "USE_PYARROW", arrow)
    good = [_line(0), _line(1, out_of_range=[AMT_INCOME_TOTAL]),
            _line(2, out_of_range=[AMT_INCOME_TOTAL, EXT_SOURCE_1]), _line(3, out_of_range=[])]
    (tmp_path / "a.log").write_text("\n".join(good) + "\n")
    frame = read_log(tmp_path / "a.log").frame
    assert frame[OUT_OF_RANGE].astype(object).where(frame[OUT_OF_RANGE].notna(), None).tolist() == [
        None, AMT_INCOME_TOTAL, f"{AMT_INCOME_TOTAL};{EXT_SOURCE_1}", None]
    # a flag of the wrong shape is no flag, and the call still counts (its line is not corrupt)
    odd = [_line(0, out_of_range=[1, 2]), _line(1, out_of_range="AMT_INCOME_TOTAL"), _line(2, out_of_range=None)]
    (tmp_path / "b.log").write_text("\n".join(odd) + "\n")
    data = read_log(tmp_path / "b.log")
    assert data.corrupt_lines == 0 and len(data.frame) == 3 and data.frame[OUT_OF_RANGE].isna().all()


def test_the_alert_needs_enough_scored_calls_and_a_share_past_the_threshold(tmp_path: Path) -> None:
    cfg = AlertConfig(out_of_range_share_max=0.10, min_scored=50)
    for n, flagged, fires in ((40, 20, False), (100, 10, False), (100, 11, True)):
        lines = [_line(i, **({"out_of_range": [EXT_SOURCE_1]} if i < flagged else {})) for i in range(n)]
        log = tmp_path / f"{n}-{flagged}.log"
        log.write_text("\n".join(lines) + "\n")
        found = out_of_range_share(read_log(log), cfg)
        assert bool(found) == fires, (n, flagged)
    [alert] = found
    assert alert.kind == OUT_OF_RANGE_KIND and alert.value == pytest.approx(0.11) and alert.threshold == 0.10
    assert alert.extra["message_fr"].startswith("11 appels notés sur 100 ")
    assert "Score externe 1 (11)" in alert.extra["message_fr"] and "11,0" in alert.extra["message_fr"]


@pytest.fixture()
def served(committed: Predictor, tmp_path: Path):
    service = ScoringService(committed, PredictionLogger(tmp_path / "predictions.log"))
    with TestClient(gated(create_api(service)), raise_server_exceptions=False) as client:
        yield service, client
    service.logger.close()


def test_a_served_sequence_is_counted_reported_and_alerted_then_diluted(served, tmp_path: Path) -> None:
    """Calls through the JSON API: an income far past training is scored and flagged; the report counts the
    flagged calls per feature, alerts past 5 %, and stops alerting once enough ordinary calls dilute them."""
    service, client = served
    ordinary, unseen, wrong = VALID, VALID | {BUREAU_OVERDUE_MAX: 542_034.0}, VALID | {BUREAU_OVERDUE_MAX: "beaucoup"}
    for body, status in [(ordinary, 200)] * 90 + [(unseen, 200)] * 10 + [(wrong, 422)] * 3:  # refused: not scored
        assert client.post("/api/predict", json=body).status_code == status
    service.logger.flush()
    log = service.logger.path
    report = analyse(log, config.MODELS_DIR)[0]
    found = report["stats"]["out_of_range"]
    assert found == {"scored": 100, "calls": 10, "share": 0.10, "features": {BUREAU_OVERDUE_MAX: 10}}
    [alert] = [a for a in report["alerts"] if a["kind"] == OUT_OF_RANGE_KIND]
    assert alert["value"] == pytest.approx(0.10)
    text = render_text(report)
    assert "10 appels notés sur 100 (10,0\u202f%) avec au moins une valeur hors du domaine d'entraînement" in text
    assert label_fr(BUREAU_OVERDUE_MAX) in text and BUREAU_OVERDUE_MAX not in text and "hors domaine" in text
    for option, alerted in (([], True), (["--out-of-range-max", "0.2"], False), (["--min-scored", "101"], False)):
        analyse_logs.main(["--log", str(log), "--model-dir", str(config.MODELS_DIR), "--quiet",
                           "--json", str(tmp_path / "r.json"), *option])
        kinds = json.loads((tmp_path / "r.json").read_text())["alert_counts"]
        assert (OUT_OF_RANGE_KIND in kinds) == alerted, option
    flagged_lines = [json.loads(x) for x in log.read_text().splitlines() if OUT_OF_RANGE_KEY in x]
    assert len(flagged_lines) == 10 and all(r["input"][BUREAU_OVERDUE_MAX] == 542_034 for r in flagged_lines)

    for _ in range(110):  # 10 of 210 scored calls: under 5 %
        client.post("/api/predict", json=ordinary)
    service.logger.flush()
    report = analyse(log, config.MODELS_DIR)[0]
    assert report["stats"]["out_of_range"]["calls"] == 10 and report["stats"]["out_of_range"]["scored"] == 210
    assert not [a for a in report["alerts"] if a["kind"] == OUT_OF_RANGE_KIND]
    assert "hors du domaine d'entraînement" in render_text(report)  # still counted, no longer alerted
    page = render_html(report, read_log(log).frame, {"features": {}})
    assert "<h2>Valeurs hors du domaine d&#x27;entraînement</h2>" in page or \
        "<h2>Valeurs hors du domaine d'entraînement</h2>" in page
    assert f"<td>{html.escape(label_fr(BUREAU_OVERDUE_MAX))}</td><td>10</td>" in page


def test_the_dashboard_shows_the_flagged_features_in_french(monkeypatch, tmp_path: Path, model_dir: Path) -> None:
    lines = [_line(i, **({"out_of_range": [AMT_INCOME_TOTAL, EXT_SOURCE_1]} if i % 4 == 0 else {}))
             for i in range(120)]
    (tmp_path / "p.log").write_text("\n".join(lines) + "\n")
    at = _app(monkeypatch, tmp_path / "p.log", model_dir)
    assert "Valeurs hors du domaine d'entraînement" in [s.value for s in at.subheader]
    [grid] = [d for d in at.dataframe if "Appels signalés" in d.value.columns]
    assert grid.value.values.tolist() == [["Revenu annuel", "30", "25,0\u202f%"],
                                          ["Score externe 1", "30", "25,0\u202f%"]]
    assert any("30 appels notés sur 120" in c.value for c in at.caption)
    # a log without any flagged call has no such section
    (tmp_path / "q.log").write_text("\n".join(_line(i) for i in range(120)) + "\n")
    at = _app(monkeypatch, tmp_path / "q.log", model_dir)
    assert "Valeurs hors du domaine d'entraînement" not in [s.value for s in at.subheader]
