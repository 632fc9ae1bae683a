"""The report in-process: context loading, time parsing, stats, text and HTML rendering, the demo folder."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from monitoring import demo
from monitoring.context import ContextError, load_context
from monitoring.html import render_html
from monitoring.reader import read_log
from monitoring.report import analyse, parse_moment, render_text, to_json
from monitoring.stats import compute_stats, summary
from scoring.artifacts import sha256_of
from scoring.schema import MANIFEST_FILE, METRICS_FILE, MODEL_FILE, REFERENCE_FILE, THRESHOLD_FILE
from tests.monitoring.conftest import THRESHOLD, simulated_log


@pytest.fixture(scope="module")
def incident_report(tmp_path_factory, reference, model_dir):
    log = tmp_path_factory.mktemp("report") / "predictions.log"
    simulated_log(log, reference, 1200, seed=31, slow_calls=2, memory_spikes=1, error_rate=0.05)
    return analyse(log, model_dir)


def test_parse_moment():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_moment("2h", now) == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert parse_moment("30min", now) == datetime(2026, 11, 26, 11, 30, tzinfo=UTC)
    assert parse_moment("2026-11-26T08:00:00") == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert parse_moment("2026-11-26T10:00:00+02:00").utcoffset().total_seconds() == 7200
    for bad in ("soon", "12", ""):
        with pytest.raises(ValueError):
            parse_moment(bad, now)


def test_load_context_checks_the_folder(tmp_path, model_dir):
    context = load_context(model_dir)
    assert context.threshold == THRESHOLD and 0.0 < context.reference_high_risk_share < 1.0
    (tmp_path / REFERENCE_FILE).write_text(json.dumps({"n_rows": 3}))
    with pytest.raises(ContextError, match="no \"features\""):
        load_context(tmp_path)
    (tmp_path / REFERENCE_FILE).write_text((model_dir / REFERENCE_FILE).read_text())
    (tmp_path / THRESHOLD_FILE).write_text(json.dumps({"threshold": 7}))
    with pytest.raises(ContextError, match="number in \\[0, 1\\]"):
        load_context(tmp_path)
    (tmp_path / THRESHOLD_FILE).unlink()
    no_threshold = load_context(tmp_path)
    assert no_threshold.threshold is None and no_threshold.reference_high_risk_share is None


def test_stats():
    assert summary(np.array([np.nan, np.inf]))["count"] == 0
    figures = summary(np.arange(1, 101, dtype=float))
    assert (figures["min"], figures["max"], figures["p50"], figures["mean"]) == (1.0, 100.0, 50.5, 50.5)


def test_stats_of_a_simulated_log(tmp_path, reference):
    log = tmp_path / "p.log"
    simulated_log(log, reference, 600, seed=2)
    stats = compute_stats(read_log(log).frame)
    assert stats["count"] == 600 and sum(stats["score"]["histogram"]["counts"]) == 600
    assert 0.02 <= stats["latency_s"]["p50"] <= 0.06


def test_text_report(incident_report):
    report, data, _ = incident_report
    text = render_text(report, max_alerts=2)
    assert "Appels : 1\u202f200" in text and "lignes rejetées (hors de toute statistique) : 0" in text
    assert "Score externe 1" in text and "verdict :" in text
    total = sum(report["alert_counts"].values())
    assert total >= 4 and f"... et {total - 2} autres" in text
    assert json.loads(to_json(report))["stats"]["count"] == 1200


def test_html_report(incident_report):
    report, data, context = incident_report
    page = render_html(report, data.frame, context.reference)
    assert page.count("data:image/png;base64,") == 2
    assert "Mémoire au-dessus de 1\u202f024\u202fMo" in page and "predictions.log:" in page
    assert page.count("background:#d4edda") >= 10  # stable features coloured green


def test_empty_window_renders(tmp_path, reference, model_dir):
    log = tmp_path / "p.log"
    simulated_log(log, reference, 50, seed=3)
    report, data, context = analyse(log, model_dir, since=datetime(2030, 1, 1, tzinfo=UTC))
    assert report["stats"]["count"] == 0 and report["alerts"] == []
    assert report["drift_verdict"]["status"] == "insufficient"
    assert "Appels : 0" in render_text(report) and "période : aucun appel" in render_text(report)
    page = render_html(report, data.frame, context.reference)
    assert "<h2>Latence" not in page and "Aucun appel dans la période" in page and "<h2>Alertes : aucune</h2>" in page
    assert isinstance(data.frame, pd.DataFrame)


def test_demo_folder(tmp_path, capsys):
    assert demo.main(["--model-dir", str(tmp_path / "m"), "--n", "500"]) == 0
    assert "threshold.json" in capsys.readouterr().out
    assert load_context(tmp_path / "m").reference["n_rows"] == 500
    (tmp_path / "m" / "best_model.pkl").write_bytes(b"trained")
    with pytest.raises(SystemExit):
        demo.main(["--model-dir", str(tmp_path / "m")])


def test_context_is_checked_against_the_manifest_without_unpickling_the_model(tmp_path, model_dir):
    folder = tmp_path / "m"
    folder.mkdir()
    for name in (REFERENCE_FILE, THRESHOLD_FILE):
        (folder / name).write_bytes((model_dir / name).read_bytes())
    (folder / METRICS_FILE).write_text(json.dumps({"auc": 0.8}))
    (folder / MODEL_FILE).write_bytes(b"not a pickle: never loaded")
    files = {name: sha256_of(folder / name) for name in (REFERENCE_FILE, THRESHOLD_FILE, METRICS_FILE, MODEL_FILE)}
    (folder / MANIFEST_FILE).write_text(json.dumps({"model_version": "abc123", "files": files}))
    context = load_context(folder)
    assert (context.model_version, context.metrics, context.threshold) == ("abc123", {"auc": 0.8}, THRESHOLD)
    (folder / REFERENCE_FILE).write_text((model_dir / REFERENCE_FILE).read_text() + " ")  # altered
    with pytest.raises(ContextError, match="does not match its checksum"):
        load_context(folder)
    (folder / MANIFEST_FILE).unlink()  # a stand-in folder (monitoring.demo): read, unverified
    assert load_context(folder).model_version is None


def test_calls_per_source(tmp_path, reference, model_dir):
    log = tmp_path / "p.log"
    traffic = simulated_log(log, reference, 40, seed=4)
    sources = ["api"] * 20 + ["dossier"] * 10 + ["form"] * 6 + [None] * 4
    log.write_text("".join(replace(r, source=s).to_json() + "\n" for r, s in zip(traffic.records, sources,
                                                                                  strict=True)))
    report, _, _ = analyse(log, model_dir)
    assert report["stats"]["sources"] == {"api": {"count": 20, "share": 0.5}, "dossier": {"count": 10, "share": 0.25},
                                          "form": {"count": 6, "share": 0.15}, "unknown": {"count": 4, "share": 0.1}}
    assert "Appels par origine : API JSON 20 (50,0\u202f%), dossier 10 (25,0\u202f%)" in render_text(report)
