"""Back-testing and stability in monitoring: a grade whose defaults doubled, a fallen AUC, a shifted characteristic
named in French, the grade distribution per window; and the CLI end to end with --outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyse_logs import main
from monitoring.backtest import BacktestConfig, backtest, stability
from monitoring.traffic import generate, write_log
from scoring.master_scale import grade_index
from scoring.schema import DOCUMENT_3, EXT_SOURCE_2, ID_COLUMN, THRESHOLD_FILE

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def scale(model_dir: Path) -> dict:
    return json.loads((model_dir / THRESHOLD_FILE).read_text())["master_scale"]


def _traffic(reference: dict, n: int, seed: int, days: int = 14, **drift):
    from monitoring.traffic import Incidents

    return generate(reference, n, seed=seed, start=START, span=timedelta(days=days), first_applicant_id=100000,
                    incidents=Incidents(drift=drift) if drift else None)


def _outcomes(records, edges, doubled: str | None, seed: int, factor: float = 1.0) -> pd.DataFrame:
    scored = [r for r in records if r.applicant_id is not None and r.prediction is not None]
    scores = np.array([r.prediction["score"] for r in scored])
    p = scores * factor
    if doubled is not None:
        p = np.where(grade_index(edges, scores) == "ABCDEFGHIJ".index(doubled), 2 * scores, p)
    rng = np.random.default_rng(seed)
    return pd.DataFrame({ID_COLUMN: [r.applicant_id for r in scored],
                         "defaulted": (rng.random(p.size) < np.clip(p, 0, 1)).astype(int),
                         "date": (pd.to_datetime([r.timestamp for r in scored]) + pd.Timedelta(days=400))
                         .strftime("%Y-%m-%d")})


def _joined(records, outcomes: pd.DataFrame) -> pd.DataFrame:
    scores = {r.applicant_id: r.prediction["score"] for r in records if r.applicant_id and r.prediction}
    return outcomes.assign(score=outcomes[ID_COLUMN].map(scores))


def test_a_grade_whose_defaults_doubled_fails_and_the_others_pass(reference, scale):
    traffic = _traffic(reference, 12000, seed=1)
    middle = scale["grades"][len(scale["grades"]) // 2]["grade"]
    joined = _joined(traffic.records, _outcomes(traffic.records, scale["edges"], middle, seed=2))
    result = backtest(joined, scale, {"auc": 0.75, "rows": {"holdout": 1000, "holdout_defaults": 80}})
    failed = [g["grade"] for g in result["grades"] if g["failed"]]
    assert failed == [middle]
    clean = backtest(_joined(traffic.records, _outcomes(traffic.records, scale["edges"], None, seed=3)), scale, None)
    assert not any(g["failed"] for g in clean["grades"])
    assert clean["auc_change"] is None  # no development figures to compare with


def test_auc_change_is_tested_against_development(reference, scale):
    traffic = _traffic(reference, 6000, seed=4)
    joined = _joined(traffic.records, _outcomes(traffic.records, scale["edges"], None, seed=5))
    same = backtest(joined, scale, {"auc": 0.70, "rows": {"holdout": 6000, "holdout_defaults": 480}})["auc_change"]
    assert not same["fell"]
    fell = backtest(joined, scale, {"auc": 0.95, "rows": {"holdout": 6000, "holdout_defaults": 480}})["auc_change"]
    assert fell["fell"] and fell["p_value_fell"] < 0.01 and fell["difference"] < 0


def test_stability_per_window_names_the_mover_in_french(reference, scale):
    traffic = _traffic(reference, 3000, seed=6, days=6)
    frame = pd.DataFrame([r.input for r in traffic.records if r.prediction])
    times = pd.to_datetime([r.timestamp for r in traffic.records if r.prediction])
    columns = {c: frame[c].to_numpy(dtype=float) for c in frame.columns}
    columns["score"] = np.array([r.prediction["score"] for r in traffic.records if r.prediction])
    late = times >= times[len(times) // 2]
    columns[EXT_SOURCE_2] = np.where(late, np.clip(columns[EXT_SOURCE_2] - 0.25, 0, 1), columns[EXT_SOURCE_2])
    result = stability(pd.Series(times), reference, columns, scale, BacktestConfig(window="1D", min_window=50))
    measured = [w for w in result["windows"] if "csi" in w]
    assert len(measured) >= 5
    assert measured[0]["csi"][EXT_SOURCE_2]["band"] == "stable"
    assert measured[-1]["csi"][EXT_SOURCE_2]["band"] == "unstable"
    assert measured[-1]["top_movers"][0]["feature"] == EXT_SOURCE_2
    assert measured[-1]["top_movers"][0]["label"] == "Score externe 2"
    assert abs(sum(measured[0]["grades"].values()) - 1) < 1e-6
    assert set(result["reference_grades"]) == set(measured[0]["grades"])


def test_cli_with_outcomes_flags_the_doubled_grade_and_the_shifted_characteristic(tmp_path, model_dir, reference,
                                                                                 scale):
    traffic = _traffic(reference, 9000, seed=7, **{DOCUMENT_3: -0.15})
    log = tmp_path / "predictions.log"
    write_log(log, traffic.records, append=False)
    worst = scale["grades"][-2]["grade"]
    outcomes = tmp_path / "outcomes.csv"
    _outcomes(traffic.records, scale["edges"], worst, seed=8).to_csv(outcomes, index=False)
    out, page = tmp_path / "report.json", tmp_path / "report.html"
    code = main(["--log", str(log), "--model-dir", str(model_dir), "--outcomes", str(outcomes), "--json", str(out),
                 "--html", str(page), "--stability-window", "7D", "--quiet"])
    doc = json.loads(out.read_text())
    assert code == 1
    kinds = {(a["kind"], a.get("grade") or a.get("feature")) for a in doc["alerts"]}
    assert ("grade_backtest", worst) in kinds
    assert ("drift", DOCUMENT_3) in kinds
    assert [g["grade"] for g in doc["backtest"]["grades"] if g["failed"]] == [worst]
    assert doc["stability"]["window"] == "7D" and len(doc["stability"]["windows"]) >= 2
    movers = [m["feature"] for m in doc["stability"]["overall"]["top_movers"]]
    assert DOCUMENT_3 in movers
    text = page.read_text()
    assert "Back-testing par classe" in text and "Stabilité" in text and worst in text


def test_simulator_and_analyser_end_to_end(tmp_path, model_dir, scale):
    """The two commands a user runs: simulate a log with outcomes where one grade defaults twice as often and
    one characteristic shifts, then analyse it; both injections are named."""
    from monitoring.simulate import main as simulate

    grade = scale["grades"][len(scale["grades"]) // 2]["grade"]
    log, outcomes, out = tmp_path / "p.log", tmp_path / "o.csv", tmp_path / "r.json"
    common = ["--log", str(log), "--model-dir", str(model_dir), "--n", "12000", "--seed", "3", "--span", "10d",
              "--outcomes", str(outcomes), "--quiet"]
    assert simulate([*common, "--grade-factor", "Z=2"]) == 2  # not a grade of the scale
    assert simulate([*common, "--grade-factor", f"{grade}=2", "--drift", f"{EXT_SOURCE_2}=-1.0"]) == 0
    code = main(["--log", str(log), "--model-dir", str(model_dir), "--outcomes", str(outcomes), "--json", str(out),
                 "--quiet"])
    doc = json.loads(out.read_text())
    assert code == 1
    assert [g["grade"] for g in doc["backtest"]["grades"] if g["failed"]] == [grade]
    assert doc["stability"]["overall"]["top_movers"][0]["label"] == "Score externe 2"
    assert ("drift", EXT_SOURCE_2) in {(a["kind"], a.get("feature")) for a in doc["alerts"]}


def test_the_whole_log_is_not_judged_on_a_handful_of_calls(reference, scale):
    """Two calls give no PSI for the whole log (a PSI of 6.8 on two calls was printed as a figure), and every
    view says why; from `min_window` calls on it is computed."""
    from monitoring.backtest_view import movers_sentence
    from monitoring.report import stability_lines

    traffic = _traffic(reference, 300, seed=7, days=1)
    frame = pd.DataFrame([r.input for r in traffic.records if r.prediction])
    times = pd.Series(pd.to_datetime([r.timestamp for r in traffic.records if r.prediction]))
    columns = {c: frame[c].to_numpy(dtype=float) for c in frame.columns}
    columns["score"] = np.array([r.prediction["score"] for r in traffic.records if r.prediction])
    few = stability(times[:2], reference, {k: v[:2] for k, v in columns.items()}, scale, BacktestConfig(min_window=50))
    assert few["overall"]["judged"] is False and few["overall"]["score_psi"] is None
    assert few["overall"]["top_movers"] == [] and "grade_psi" not in few["overall"]
    assert movers_sentence(few["overall"]) == "Non calculé : 2 appels, il en faut au moins 50."
    assert "non calculée, 2 appels" in "\n".join(stability_lines({"stability": few}))
    many = stability(times, reference, columns, scale, BacktestConfig(min_window=50))
    assert many["overall"]["judged"] is True and many["overall"]["score_psi"] is not None
    assert many["overall"]["top_movers"]
