"""dashboard.py: Streamlit's AppTest on a simulated log and on no log; a real server seen by Chromium."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from monitoring.alerts import AlertConfig
from monitoring.context import load_context
from monitoring.dashboard_data import (
    MAX,
    MEAN,
    MODEL_NAME,
    NOTE,
    STATUS,
    WHOLE_LOG,
    WINDOWS,
    alerts_table,
    dashboard_view,
    drift_table,
    series,
)
from monitoring.reader import read_log
from monitoring.traffic import Incidents, generate, outcomes_for, write_log
from scoring.schema import UI_FEATURE_NAMES
from tests.helpers import PROJECT_ROOT, free_port, launched
from tests.monitoring.conftest import START, THRESHOLD, simulated_log

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def incident_log(tmp_path_factory, reference):
    log = tmp_path_factory.mktemp("dash") / "predictions.log"
    simulated_log(log, reference, 1500, seed=21, slow_calls=4, cpu_spikes=1, drift={"EXT_SOURCE_2": -1.2})
    return log


def app(monkeypatch, log, model_dir) -> AppTest:
    monkeypatch.setenv("LOG_PATH", str(log))
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    return at


def drift_and_alerts(at: AppTest) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = [d.value for d in (*at.dataframe, *at.table)]  # the alerts: a static table, its messages wrap
    return (next(t for t in tables if NOTE in t.columns), next(t for t in tables if "Gravité" in t.columns))


def number(text: str) -> int:
    """A count as the dashboard writes it ("1 500", narrow no-break space)."""
    return int(text.replace("\u202f", ""))


def test_dashboard_on_a_simulated_log(monkeypatch, incident_log, model_dir):
    at = app(monkeypatch, incident_log, model_dir)
    assert not at.exception
    assert at.title[0].value == "Prêt à dépenser — suivi du service de scoring"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Appels"] == "1\u202f500"
    assert int(metrics["Alertes"]) >= 6  # 4 slow calls, 1 CPU spike, the drift of EXT_SOURCE_2
    assert len(at.get("vega_lite_chart")) == 4  # latency, CPU, memory, scores vs reference
    subheaders = [s.value for s in at.subheader]
    assert "Latence, CPU et mémoire" in subheaders
    assert "Dérive des données (bandes du PSI : 0,1 à surveiller, 0,25 dérive)" in subheaders
    sources = next(d.value for d in at.dataframe if "Origine" in d.value.columns)
    assert sources.to_dict("records") == [  # older records
        {"Origine": "non renseignée (anciens enregistrements)", "Appels": "1\u202f500", "Part": "100,0\u202f%"}]
    drift, alerts = drift_and_alerts(at)
    assert drift.set_index(MODEL_NAME).loc["EXT_SOURCE_2", STATUS] == "dérive"
    assert sorted(alerts["Type"].unique()) == ["CPU", "appel lent", "dérive"]
    assert not at.info and not at.warning and [e.value for e in at.error] == [
        "**Dérive des données : dérive** — en dérive : Score externe 2 ; score : à surveiller "
        "(11 caractéristiques mesurées sur 11)."]


def test_dashboard_opens_on_the_figures_of_analyse_logs(monkeypatch, tmp_path, reference, model_dir):
    import json

    import analyse_logs

    log = tmp_path / "predictions.log"  # two days of calls: a 24-hour default window would show less
    traffic = generate(reference, 600, seed=5, threshold=THRESHOLD, start=START, span=timedelta(hours=48),
                       incidents=Incidents(slow_calls=6, cpu_spikes=1, error_rate=0.3, errors_from=100))
    write_log(log, traffic.records, append=False)
    out = tmp_path / "report.json"
    analyse_logs.main(["--log", str(log), "--model-dir", str(model_dir), "--json", str(out)])
    cli = json.loads(out.read_text(encoding="utf-8"))
    at = app(monkeypatch, log, model_dir)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert number(metrics["Appels"]) == cli["stats"]["count"], (metrics, cli["stats"]["count"])
    assert cli["alerts"], [e.value for e in at.error]
    shown = drift_and_alerts(at)[1]
    assert sorted(shown["Message"]) == sorted(a["message_fr"] for a in cli["alerts"])  # the same alerts, in French
    assert int(metrics["Alertes"]) == len(cli["alerts"])


def test_dashboard_time_window_and_threshold_widgets(monkeypatch, incident_log, model_dir):
    at = app(monkeypatch, incident_log, model_dir)
    at.number_input[0].set_value(5000).run()  # slow-call threshold: 5 s, above every simulated call
    assert not at.exception
    assert "appel lent" not in set(drift_and_alerts(at)[1]["Type"])
    at.selectbox[0].set_value("Dernière heure").run()
    calls = number(at.metric[0].value)
    assert 500 < calls < 1000  # the last of the two simulated hours


def test_dashboard_with_an_outcome_file(monkeypatch, tmp_path, reference, model_dir):
    log, outcomes = tmp_path / "predictions.log", tmp_path / "outcomes.csv"
    traffic = generate(reference, 1000, seed=5, threshold=THRESHOLD, start=START, first_applicant_id=100002)
    write_log(log, traffic.records, append=False)
    outcomes_for(traffic.records, seed=5, default_factor=2.5).to_csv(outcomes, index=False)
    at = app(monkeypatch, log, model_dir)
    assert "Performance du modèle" in [s.value for s in at.subheader]
    assert any("pas encore de fichier d'issues" in c.value for c in at.caption)
    at.text_input[2].set_value(str(outcomes)).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Observé sur les issues" in d.value.columns).set_index("Indicateur")
    assert table.loc["AUC", "Observé sur les issues"] != "—"
    assert "calibration" in set(drift_and_alerts(at)[1]["Type"])  # 2.5 times the defaults the scores expect
    at.text_input[2].set_value(str(tmp_path / "absent.csv")).run()
    assert at.error[0].value.startswith("Fichier des issues constatées illisible ou introuvable.")


def test_dashboard_without_a_log(monkeypatch, tmp_path, model_dir):
    at = app(monkeypatch, tmp_path / "predictions.log", model_dir)
    assert not at.exception
    assert "Aucun journal de prédictions" in at.info[0].value and "monitoring.simulate" in at.info[0].value
    assert not at.metric and not at.get("vega_lite_chart")


def test_dashboard_without_a_reference(monkeypatch, incident_log, tmp_path):
    at = app(monkeypatch, incident_log, tmp_path / "no-model")
    assert not at.exception
    assert at.error[0].value.startswith("Dossier du modèle illisible")


def test_view_data(incident_log, model_dir):
    data = read_log(incident_log)
    view = dashboard_view(data, load_context(model_dir), WHOLE_LOG, "15min", AlertConfig())
    assert set(view["series"]["statistic"]) == {MEAN, MAX}
    assert view["series"]["calls"].groupby(view["series"]["statistic"]).sum().eq(3 * 1500).all()
    assert len(view["slow"]) == 4
    assert view["scores"].groupby("source")["share"].sum().round(6).eq(1.0).all()
    assert list(drift_table(view["report"])[MODEL_NAME]) == [*UI_FEATURE_NAMES, "score"]
    assert list(alerts_table({"alerts": []}).columns)[:2] == ["Gravité", "Type"]
    assert series(data.frame.iloc[:0], "5min").empty
    assert set(WINDOWS) >= {"Dernière heure", WHOLE_LOG}
    assert isinstance(view["last_call"], pd.Timestamp)


@pytest.mark.browser
@pytest.mark.slow
def test_streamlit_run_renders_the_dashboard(chromium, incident_log, model_dir, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "streamlit", "run", "dashboard.py", "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    env = {"LOG_PATH": str(incident_log), "MODEL_DIR": str(model_dir)}
    with launched(args, f"{url}/_stcore/health", env=env, log_file=tmp_path / "streamlit.log"):
        page = chromium.new_page(viewport={"width": 1500, "height": 2000})
        try:
            page.goto(url)
            page.get_by_text("Dérive des données (bandes").wait_for(timeout=60_000)
            page.locator(".vega-embed canvas, .vega-embed svg").nth(3).wait_for(timeout=30_000)
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot))
            assert page.title() == "Monitoring — Prêt à dépenser"
            assert page.get_by_role("heading", name="Prêt à dépenser — suivi du service de scoring").is_visible()
            assert page.locator(".vega-embed").count() == 4
            assert page.get_by_text("Scores : production et référence").is_visible()
            assert shot.stat().st_size > 50_000
        finally:
            page.close()


def test_dashboard_follows_a_growing_log(monkeypatch, tmp_path, reference, model_dir):
    log = tmp_path / "predictions.log"
    simulated_log(log, reference, 400, seed=41)
    at = app(monkeypatch, log, model_dir)
    assert at.metric[0].value == "400"
    more = generate(reference, 150, seed=42, threshold=THRESHOLD, start=START + timedelta(hours=2),
                    span=timedelta(minutes=30), incidents=Incidents(slow_calls=1))
    write_log(log, more.records, append=True)
    at.run()
    assert not at.exception
    assert at.metric[0].value == "550"
    assert "appel lent" in set(drift_and_alerts(at)[1]["Type"])
