"""The binning hole: a mostly-zero feature and a binary share must flag the shifts Evidently flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitoring.drift import DRIFT, STABLE, WATCH, DriftConfig, feature_drift, share_band
from scoring.reference import distribution
from scoring.stability import psi

OVERDUE = "BUREAU_AMT_CREDIT_SUM_OVERDUE_max"
DOC3 = "FLAG_DOCUMENT_3"


def _overdue(rng: np.random.Generator, n: int, nonzero: float) -> np.ndarray:
    return np.where(rng.random(n) < nonzero, rng.exponential(5000.0, n), 0.0)


def test_a_mass_point_gets_its_own_bin():
    rng = np.random.default_rng(0)
    entry = distribution(_overdue(rng, 20000, 0.02))
    assert 0.0 in entry["edges"] and len(entry["edges"]) > 2
    zero_bin = entry["edges"].index(0.0) + 1
    assert entry["proportions"][zero_bin] == pytest.approx(0.98, abs=0.01)


def test_overdue_share_from_2_to_100_percent_drifts_and_stable_traffic_does_not():
    rng = np.random.default_rng(1)
    entry = distribution(_overdue(rng, 20000, 0.02))
    shifted = feature_drift(entry, _overdue(rng, 1000, 1.0))
    assert shifted.status == DRIFT and shifted.psi > 1.0
    assert feature_drift(entry, _overdue(rng, 1000, 0.02)).status == STABLE


def test_old_single_bin_reference_was_blind():
    """What the issue measured: with one bin, PSI is 0 whatever happens (the reason for the fix)."""
    assert psi([0.0, 1.0], [0.0, 1.0]) == 0.0


def test_binary_share_has_a_rule_in_points():
    rng = np.random.default_rng(2)
    entry = distribution((rng.random(20000) < 0.71).astype(float))
    live = (rng.random(1000) < 0.56).astype(float)  # 15 points fewer
    result = feature_drift(entry, live)
    assert result.psi < DriftConfig().psi_watch  # the PSI alone stays under its band
    assert result.status == DRIFT
    assert feature_drift(entry, (rng.random(1000) < 0.71).astype(float)).status == STABLE
    assert share_band(0.71, 0.65) == WATCH and share_band(0.71, 0.69) == STABLE


def test_analyse_logs_names_both_shifted_characteristics(tmp_path: Path, model_dir: Path, reference: dict):
    from analyse_logs import main
    from tests.monitoring.conftest import simulated_log

    log = tmp_path / "predictions.log"
    simulated_log(log, reference, n=1200, seed=4)
    rng = np.random.default_rng(5)
    p1 = reference["features"][DOC3]["p1"]
    lines = []
    for line in log.read_text().splitlines():
        record = json.loads(line)
        if record.get("status") == "ok":
            record["input"][OVERDUE] = float(rng.exponential(5000.0))
            record["input"][DOC3] = int(rng.random() < p1 - 0.15)
        lines.append(json.dumps(record))
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "report.json"
    code = main(["--log", str(log), "--model-dir", str(model_dir), "--json", str(out), "--quiet"])
    doc = json.loads(out.read_text())
    assert code == 1
    assert doc["drift"][OVERDUE]["status"] == DRIFT
    assert doc["drift"][DOC3]["status"] == DRIFT
    drifted = {a.get("feature") for a in doc["alerts"] if a["kind"] == "drift"}
    assert {OVERDUE, DOC3} <= drifted
