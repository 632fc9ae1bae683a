"""Adviser-decision lines in the log: read by both parsers, kept out of the calls, reported and alerted on."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from analyse_logs import main as analyse_main
from api.adviser import AdviserDecision
from monitoring import parse_arrow
from monitoring.alerts import OVERRIDE_RATE, AlertConfig
from monitoring.context import load_context
from monitoring.dashboard_data import MEAN, SERIES, WHOLE_LOG, dashboard_view
from monitoring.reader import read_log, split_calls
from monitoring.records import ADVISER, ADVISER_FINAL, ADVISER_MODEL, DURATION, OVERRIDE
from monitoring.report import analyse, build_report, render_text
from scoring.schema import ADVISER_DECISION_KEY, STATUS_OK, LogRecord
from tests.helpers import PROJECT_ROOT
from tests.monitoring.conftest import START, simulated_log

# (decision, final, model decision, override): 40 decisions, 12 overrides (30 %)
KINDS = ([("accept", "accept", "accept", False)] * 14 + [("override", "refuse", "accept", True)] * 6
         + [("refuse", "refuse", "refuse", False)] * 8 + [("override", "accept", "refuse", True)] * 2
         + [("accept", "accept", "review", True)] * 4 + [("refuse", "refuse", "review", False)] * 6)


def decision_line(i: int, decision: str, final: str, model: str, override: bool) -> str:
    """A line as api.scoring_service.record_decision writes it."""
    made = AdviserDecision(f"r{i}", decision, final, model, override, "dossier incomplet" if override else None)
    return LogRecord((START + timedelta(minutes=1, seconds=3 * i)).isoformat(), f"d{i}",
                     {"request_id": f"r{i}", "decision": decision, "reason": made.reason}, None, 0.002, None, None,
                     "v1", status=STATUS_OK, source="form" if i % 2 else "api", applicant_id=100000 + i,
                     extra={ADVISER_DECISION_KEY: made.as_dict()}).to_json()


@pytest.fixture()
def logs(tmp_path, reference):
    """The same 500 simulated calls, without and with 40 adviser-decision lines (written last, timed among the
    first calls: the reader merges them in time order; the calls keep their line numbers)."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "mixed").mkdir()
    plain, mixed = tmp_path / "plain" / "p.log", tmp_path / "mixed" / "p.log"
    simulated_log(plain, reference, n=500, slow_calls=5, error_rate=0.2, errors_from=300)
    lines = plain.read_text().splitlines() + [decision_line(i, *kind) for i, kind in enumerate(KINDS)]
    mixed.write_text("\n".join(lines) + "\n")
    return plain, mixed


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "line-by-line"])
def test_both_parsers_read_the_decision_columns(logs, monkeypatch, arrow):
    monkeypatch.setattr(parse_arrow, "USE_PYARROW", arrow)
    data = read_log(logs[1])
    assert data.n == 540 and data.corrupt_lines == 0
    decided = data.frame[data.frame[ADVISER].notna()]
    assert decided[ADVISER].astype(str).tolist() == [k[0] for k in KINDS]
    assert decided[ADVISER_FINAL].astype(str).tolist() == [k[1] for k in KINDS]
    assert decided[ADVISER_MODEL].astype(str).tolist() == [k[2] for k in KINDS]
    assert decided[OVERRIDE].tolist() == [float(k[3]) for k in KINDS]
    others = data.frame[data.frame[ADVISER].isna()]
    assert len(others) == 500 and others[OVERRIDE].isna().all() and others[ADVISER_MODEL].isna().all()
    calls, decisions = split_calls(data)
    assert (calls.n, decisions.n) == (500, 40)


def test_a_wrong_override_value_is_nan_in_both_parsers(tmp_path, monkeypatch):
    line = json.loads(decision_line(0, "accept", "accept", "accept", False))
    line[ADVISER_DECISION_KEY]["override"] = "yes"
    log = tmp_path / "p.log"
    log.write_text(json.dumps(line) + "\n" + decision_line(1, "override", "refuse", "accept", True) + "\n")
    for arrow in (True, False):
        monkeypatch.setattr(parse_arrow, "USE_PYARROW", arrow)
        frame = read_log(log).frame
        assert math.isnan(frame[OVERRIDE].iat[0]) and frame[OVERRIDE].iat[1] == 1.0


def without_settings(report: dict) -> dict:
    report = dict(report, stats=dict(report["stats"]), settings=None, generated_at=None, log=None)
    report["stats"].pop("adviser")
    return report


def test_decision_lines_are_not_calls(logs, model_dir):
    quiet = AlertConfig(min_decisions=10**6)  # no override-rate alert: the rest must be the same
    plain, mixed = (build_report(read_log(log), load_context(model_dir), alert_config=quiet) for log in logs)
    # Every figure about calls (counts, latency, errors, drift, shares, sources, alerts) is unchanged.
    dumped = [json.dumps(without_settings(r), sort_keys=True).replace(str(log.parent), "LOG")
              for r, log in zip((plain, mixed), logs, strict=True)]
    assert dumped[0] == dumped[1] and '"where"' in dumped[0]  # alerts (with their lines) compared too
    assert mixed["stats"]["count"] == 500 and set(mixed["stats"]["sources"]) == set(plain["stats"]["sources"])


def test_a_replaced_decision_counts_once_the_final_one(logs, model_dir, tmp_path):
    """Evaluation r0 decided twice (accept, then an override that replaces it): one final decision."""
    replaced = json.loads(decision_line(0, "accept", "accept", "accept", False))
    again = json.loads(decision_line(0, "override", "refuse", "accept", True))
    again["request_id"], again["timestamp"] = "d0b", (START + timedelta(minutes=30)).isoformat()
    again[ADVISER_DECISION_KEY]["replaces"] = replaced[ADVISER_DECISION_KEY]
    log = tmp_path / "replaced.log"
    log.write_text(logs[1].read_text() + json.dumps(again) + "\n")
    adviser = analyse(log, model_dir)[0]["stats"]["adviser"]
    assert adviser["decisions"] == 40 and adviser["overrides"] == 13  # r0's final decision is the override
    assert adviser["override_rate"] == pytest.approx(13 / 40)


def test_adviser_figures(logs, model_dir):
    adviser = analyse(logs[1], model_dir)[0]["stats"]["adviser"]
    assert {k: adviser[k] for k in ("decisions", "accepted", "refused", "overrides")} == {
        "decisions": 40, "accepted": 14 + 2 + 4, "refused": 6 + 8 + 6, "overrides": 12}
    assert adviser["override_rate"] == pytest.approx(0.3)
    by = adviser["by_model_decision"]
    assert (by["accept"]["decisions"], by["accept"]["overrides"], by["accept"]["override_rate"]) == (20, 6, 0.3)
    assert (by["refuse"]["decisions"], by["refuse"]["overrides"], by["refuse"]["override_rate"]) == (10, 2, 0.2)
    assert (by["review"]["accepted"], by["review"]["refused"]) == (4, 6)
    plain = analyse(logs[0], model_dir)[0]["stats"]["adviser"]
    assert plain["decisions"] == 0 and plain["override_rate"] is None


def test_override_rate_alert_and_its_settings(logs, model_dir, tmp_path, capsys):
    data, context = read_log(logs[1]), load_context(model_dir)
    alerts = [a for a in build_report(data, context)["alerts"] if a["kind"] == OVERRIDE_RATE]
    assert len(alerts) == 1 and alerts[0]["value"] == pytest.approx(0.3) and alerts[0]["calls"] == 40
    assert alerts[0]["where"]["line"] == 501 and alerts[0]["last"]["line"] == 540
    quiet = [AlertConfig(override_rate_max=0.3), AlertConfig(min_decisions=41)]
    for config in quiet:
        assert not [a for a in build_report(data, context, alert_config=config)["alerts"] if a["kind"] == OVERRIDE_RATE]
    out = tmp_path / "r.json"
    analyse_main(["--log", str(logs[1]), "--model-dir", str(model_dir), "--json", str(out),
                  "--override-rate-max", "0.25", "--min-decisions", "40", "--html", str(tmp_path / "r.html")])
    report = json.loads(out.read_text())
    assert report["alert_counts"].get(OVERRIDE_RATE) == 1 and report["settings"]["alerts"]["min_decisions"] == 40
    text = capsys.readouterr().out
    assert "Décisions des conseillers : 40  contraires au modèle : 12 (30,0\u202f%)" in text
    assert "<h2>Décisions des conseillers</h2>" in (tmp_path / "r.html").read_text()
    assert "Décisions des conseillers" not in render_text(analyse(logs[0], model_dir)[0])


def test_dashboard_view_shows_calls_and_the_adviser_table(logs, model_dir):
    view = dashboard_view(read_log(logs[1]), load_context(model_dir), WHOLE_LOG, "15min", AlertConfig())
    one = view["series"][(view["series"]["statistic"] == MEAN) & (view["series"]["metric"] == SERIES[DURATION])]
    assert int(one["calls"].sum()) == 500
    table = view["adviser"]
    assert table["Décision du modèle"].tolist() == ["accepter", "refuser", "à étudier", "toutes"]
    assert table.loc[table["Décision du modèle"] == "toutes", "Taux de décisions contraires"].item() == "30,0\u202f%"
    assert view["sources"]["Appels"].map(int).sum() == 500
    assert dashboard_view(read_log(logs[0]), load_context(model_dir), WHOLE_LOG, "15min",
                          AlertConfig())["adviser"].empty


def test_dashboard_app_shows_the_adviser_section(monkeypatch, logs, model_dir):
    monkeypatch.setenv("LOG_PATH", str(logs[1]))
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception
    at.selectbox[0].set_value(WHOLE_LOG).run()
    assert "Décisions des conseillers" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "Taux de décisions contraires" in d.value.columns)
    assert table["Contraires au modèle"].tolist() == ["6", "2", "4", "12"]
