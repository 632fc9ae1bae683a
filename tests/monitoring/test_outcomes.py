"""Outcomes joined to the logged decisions, the realised figures and their alerts; the expected figures (CBPE)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from monitoring.alerts import AlertConfig
from monitoring.context import load_context
from monitoring.dashboard_data import WHOLE_LOG, dashboard_view
from monitoring.estimate import estimate, expected_auc
from monitoring.html import render_html
from monitoring.outcomes import (
    CALIBRATION,
    OUTCOME_AUC,
    OutcomeConfig,
    OutcomeError,
    Outcomes,
    join_outcomes,
    read_outcomes,
)
from monitoring.reader import read_log
from monitoring.report import analyse, build_report, render_text
from monitoring.traffic import generate, outcomes_for, write_log
from scoring.schema import ID_COLUMN, LogRecord
from tests.monitoring.conftest import START, THRESHOLD
from tests.monitoring.test_cli import run as run_script


@pytest.mark.parametrize("a,b", [(1, 9), (2, 5), (0.5, 3)])
def test_expected_auc_is_the_auc_of_outcomes_drawn_from_the_scores(a, b):
    rng = np.random.default_rng(int(a * 10 + b))
    p = rng.beta(a, b, 200_000)
    y = rng.random(p.size) < p
    assert expected_auc(p) == pytest.approx(roc_auc_score(y, p), abs=0.006)
    rounded = np.round(p, 2)  # many ties: one ROC point per distinct score
    assert expected_auc(rounded) == pytest.approx(roc_auc_score(y, rounded), abs=0.006)


def test_expected_auc_is_undefined_without_both_classes():
    assert expected_auc(np.array([])) is None and expected_auc(np.zeros(5)) is None and expected_auc(np.ones(3)) is None
    assert expected_auc(np.full(100, 0.3)) == pytest.approx(0.5)  # one score for all: no ranking


def test_estimate_by_decision():
    scores = np.array([0.05, 0.1, 0.5, 0.7, 0.2])
    found = estimate(scores, np.array([0, 0, 1, 1, np.nan]))
    assert found.default_rate == pytest.approx(0.31)
    assert found.by_decision == {"0": {"n": 2, "default_rate": pytest.approx(0.075)},
                                 "1": {"n": 2, "default_rate": pytest.approx(0.6)}}
    assert found.recall == pytest.approx(1.2 / 1.55) and found.precision == pytest.approx(0.6)
    assert found.brier == pytest.approx(np.mean(scores * (1 - scores)))


def test_read_outcomes_counts_bad_rows_and_keeps_the_latest(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_text("SK_ID_CURR,defaulted,date,extra\n100002,1,2027-01-05,x\n100003,0,2027-01-06,\n"
                    "100002,0,2027-03-01,\nabc,1,2027-01-01,\n100004,2,2027-01-01,\n100005,1,someday,\n"
                    "100006.5,1,2027-01-01,\n100007,true,2027-01-01,\n99999999999999999999,1,2027-01-01,\n")
    found = read_outcomes(path)
    assert found.invalid_rows == 6
    assert found.frame.set_index(ID_COLUMN)["defaulted"].to_dict() == {100002: 0, 100003: 0}
    (tmp_path / "bad.csv").write_text("id,defaulted\n1,0\n")
    with pytest.raises(OutcomeError, match="missing column"):
        read_outcomes(tmp_path / "bad.csv")
    with pytest.raises(OutcomeError, match="not found"):
        read_outcomes(tmp_path / "absent.csv")


def _record(i: int, applicant: int | None, score: float, when: str, status: str = "ok") -> str:
    prediction = None if status == "error" else {"score": score, "label": "x", "decision": int(score >= 0.5)}
    return LogRecord(when, f"r{i}", {}, prediction, 0.01, 1.0, 1.0, "v", status, applicant_id=applicant).to_json()


def test_each_outcome_joins_the_last_successful_call_before_its_date(tmp_path):
    log = tmp_path / "p.log"
    log.write_text("\n".join([
        _record(0, 7, 0.2, "2026-01-01T10:00:00+00:00"),
        _record(1, 7, 0.6, "2026-03-01T10:00:00+00:00"),  # the decision applied: the last one before the date
        _record(2, 7, 0.9, "2026-05-01T10:00:00+00:00"),  # after the outcome's date: not the decision
        _record(3, 8, 0.3, "2026-01-02T10:00:00+00:00"),
        _record(4, 8, 0.3, "2026-01-03T10:00:00+00:00", status="error"),  # refused: no decision
        _record(5, None, 0.4, "2026-01-02T10:00:00+00:00"),  # a form call: no applicant
    ]) + "\n")
    frame = read_log(log).frame
    outcomes = pd.DataFrame({ID_COLUMN: [7, 8, 9], "defaulted": [1, 0, 1],
                             "date": pd.to_datetime(["2026-03-01", "2026-06-01", "2026-06-01"], utc=True)})
    joined = join_outcomes(frame, outcomes).set_index(ID_COLUMN)
    assert joined["score"].to_dict() == {7: 0.6, 8: 0.3}  # 9 was never scored
    assert joined["decision"].to_dict() == {7: 1.0, 8: 0.0}
    lines = frame["line"].to_numpy()[joined["row"].to_numpy()]  # where the joined calls are in the file
    assert dict(zip(joined.index, lines.tolist(), strict=True)) == {7: 2, 8: 4}


@pytest.fixture(scope="module")
def scored(reference):
    """6000 dossier calls of the twin's applicants, and their outcomes drawn from the scores."""
    traffic = generate(reference, 6000, seed=8, threshold=THRESHOLD, start=START, first_applicant_id=100002)
    return traffic, outcomes_for(traffic.records, seed=8)


def _report(tmp_path, model_dir, traffic, outcomes: pd.DataFrame, config: OutcomeConfig | None = None):
    log, path = tmp_path / "p.log", tmp_path / "outcomes.csv"
    write_log(log, traffic.records, append=False)
    outcomes.to_csv(path, index=False)
    return analyse(log, model_dir, outcomes=path, outcome_config=config)


def test_realised_figures_agree_with_the_expected_ones_on_calibrated_scores(tmp_path, model_dir, scored):
    traffic, outcomes = scored
    report, data, context = _report(tmp_path, model_dir, traffic, outcomes)
    perf = report["performance"]
    real, expected = perf["realised"], perf["estimated"]
    assert real["n"] == 6000 and perf["outcomes"]["joined"] == 6000 and perf["waiting_for"] is None
    assert real["auc"] == pytest.approx(expected["auc"], abs=0.04)
    assert real["default_rate"] == pytest.approx(expected["default_rate"], abs=0.015)
    assert real["by_decision"]["1"]["default_rate"] > 2 * real["by_decision"]["0"]["default_rate"]
    assert perf["training"]["auc"] == context.metrics["auc"] and perf["training"]["ece"] >= 0
    assert real["calibration"]["ece"] < 0.03 and real["calibration"]["brier"] == pytest.approx(expected["brier"],
                                                                                                abs=0.01)
    assert not {OUTCOME_AUC, CALIBRATION} & set(report["alert_counts"])
    assert "observées sur 6\u202f000 issues" in render_text(report)
    assert "<h2>Performances</h2>" in render_html(report, data.frame, context.reference)
    assert json.loads(json.dumps(report))["performance"]["realised"]["calibration"]["bins"]


def test_outcomes_off_the_scores_raise_alerts(tmp_path, model_dir, scored):
    traffic, outcomes = scored
    shuffled = outcomes.assign(defaulted=np.random.default_rng(0).permutation(outcomes["defaulted"].to_numpy()))
    report, _, _ = _report(tmp_path, model_dir, traffic, shuffled)
    assert report["alert_counts"].get(OUTCOME_AUC) == 1  # the ranking is gone: AUC about 0.5
    riskier = outcomes_for(traffic.records, seed=8, default_factor=1.8)
    report, _, _ = _report(tmp_path, model_dir, traffic, riskier)
    assert report["alert_counts"].get(CALIBRATION) == 1 and OUTCOME_AUC not in report["alert_counts"]
    alert = next(a for a in report["alerts"] if a["kind"] == CALIBRATION)
    assert alert["value"] > alert["threshold"] and alert["where"]["line"] >= 1


def test_too_few_outcomes_are_not_judged(tmp_path, model_dir, scored):
    traffic, outcomes = scored
    report, _, _ = _report(tmp_path, model_dir, traffic, outcomes.iloc[:150])
    perf = report["performance"]
    assert perf["realised"] is None and "150 outcomes joined" in perf["waiting_for"]
    assert perf["estimated"]["n"] == 6000  # the estimate needs no outcome


def test_without_an_outcome_file_the_estimate_is_reported(model_dir, scored, tmp_path):
    traffic, _ = scored
    older = [replace(r, applicant_id=None, source=None) for r in traffic.records]
    assert older[0].applicant_id is None
    context = load_context(model_dir)
    view = dashboard_view(read_log_of(older, tmp_path), context, WHOLE_LOG, "15min", AlertConfig())
    table = view["performance"].set_index("Indicateur")
    assert table.loc["AUC", "Observé sur les issues"] == "—" and table.loc["AUC", "Attendu d'après les scores"] != "—"
    assert build_report(read_log_of(older, tmp_path), context)["performance"]["outcomes"] is None


def read_log_of(records: list[LogRecord], folder):
    write_log(folder / "p.log", records, append=False)
    return read_log(folder / "p.log")


def test_dashboard_view_with_outcomes(model_dir, scored, tmp_path):
    traffic, outcomes = scored
    path = tmp_path / "o.csv"
    outcomes.to_csv(path, index=False)
    view = dashboard_view(read_log_of(traffic.records, tmp_path), load_context(model_dir), WHOLE_LOG, "15min",
                          AlertConfig(), outcomes=read_outcomes(path))
    table = view["performance"].set_index("Indicateur")
    assert table.loc["AUC", "Observé sur les issues"] != "—" and table.loc["AUC", "Entraînement"] != "—"
    assert isinstance(read_outcomes(path), Outcomes)


def test_simulator_then_analyser_with_outcomes(tmp_path, model_dir):
    log, outcomes, out = tmp_path / "p.log", tmp_path / "o.csv", tmp_path / "r.json"
    sim = run_script("-m", "monitoring.simulate", "--log", str(log), "--n", "3000", "--seed", "4", "--model-dir",
                     str(model_dir), "--outcomes", str(outcomes), "--default-factor", "2")
    assert sim.returncode == 0, sim.stderr
    assert pd.read_csv(outcomes).columns.tolist() == [ID_COLUMN, "defaulted", "date"]
    result = run_script("analyse_logs.py", "--log", str(log), "--model-dir", str(model_dir), "--outcomes",
                        str(outcomes), "--json", str(out))
    assert result.returncode == 1 and "Performance" in result.stdout
    report = json.loads(out.read_text())
    assert report["performance"]["realised"]["n"] == 3000 and report["alert_counts"][CALIBRATION] == 1
    assert report["stats"]["sources"] == {"dossier": {"count": 3000, "share": 1.0}}
    bad = run_script("analyse_logs.py", "--log", str(log), "--model-dir", str(model_dir), "--outcomes",
                     str(tmp_path / "absent.csv"))
    assert bad.returncode == 2 and "not found" in bad.stderr
