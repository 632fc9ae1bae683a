"""Drift maths: PSI, bands, the confirming tests, sample-size guard, dataset verdict, onset."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitoring.drift import (
    DRIFT,
    INSUFFICIENT,
    STABLE,
    WATCH,
    DriftConfig,
    FeatureDrift,
    Onset,
    binned_shares,
    dataset_verdict,
    drift_onset,
    drift_report,
    feature_drift,
    psi,
    psi_band,
)
from scoring.reference import distribution
from scoring.schema import SCORE_KEY, UI_FEATURE_NAMES


def test_psi_of_identical_distributions_is_zero():
    assert psi([0.2, 0.3, 0.5], [20, 30, 50]) == pytest.approx(0.0, abs=1e-12)


def test_psi_matches_the_formula():
    expected, actual = np.array([0.5, 0.5]), np.array([0.8, 0.2])
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(expected, actual) == pytest.approx(by_hand, rel=1e-9)
    assert psi(expected, actual * 1000) == pytest.approx(by_hand, rel=1e-9)  # counts or shares


def test_psi_stays_finite_with_an_empty_bin():
    value = psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    assert math.isfinite(value) and value > 1.0


def test_psi_refuses_bins_that_do_not_match():
    with pytest.raises(ValueError, match="same non-empty bins"):
        psi([0.5, 0.5], [1, 2, 3])


@pytest.mark.parametrize(("value", "band"), [(0.0, STABLE), (0.0999, STABLE), (0.1, WATCH), (0.2499, WATCH),
                                             (0.25, DRIFT), (3.0, DRIFT)])
def test_psi_bands(value, band):
    assert psi_band(value) == band


def test_binary_feature_uses_two_bins():
    expected, counts = binned_shares({"kind": "binary", "p1": 0.3}, np.array([1, 1, 0, 0, 0, 1.0]))
    assert expected.tolist() == pytest.approx([0.7, 0.3])
    assert counts.tolist() == [3, 3]


def _continuous(seed=0, n=20_000):
    return distribution(np.random.default_rng(seed).normal(0, 1, n), binary=False, seed=seed)


def test_same_distribution_is_stable_and_a_shift_is_drift():
    entry = _continuous()
    rng = np.random.default_rng(1)
    same = feature_drift(entry, rng.normal(0, 1, 2000))
    shifted = feature_drift(entry, rng.normal(0.8, 1, 2000))
    assert same.status == STABLE and same.psi < 0.05 and same.test == "ks"
    assert shifted.status == DRIFT and shifted.psi >= 0.25 and shifted.p_value < 1e-6


def test_moderate_shift_is_watch():
    result = feature_drift(_continuous(), np.random.default_rng(2).normal(0.4, 1, 5000))
    assert result.status == WATCH and 0.1 <= result.psi < 0.25


def test_too_few_values_is_insufficient_not_an_alarm():
    entry = _continuous()
    result = feature_drift(entry, np.full(50, 5.0), DriftConfig(min_samples=200))
    assert result.status == INSUFFICIENT and result.psi is None and "50 values" in result.reason


def test_missing_values_do_not_count_towards_the_sample():
    values = np.r_[np.random.default_rng(3).normal(0, 1, 150), np.full(500, np.nan)]
    result = feature_drift(_continuous(), values, DriftConfig(min_samples=200))
    assert result.status == INSUFFICIENT and result.n == 150 and result.n_missing == 500


def test_a_psi_band_needs_the_test_to_agree():
    # 25 values over 10 bins give PSI well above 0.1 by chance alone; the KS test does not confirm it.
    entry = _continuous()
    live = np.random.default_rng(4).normal(0, 1, 25)
    result = feature_drift(entry, live, DriftConfig(min_samples=20))
    assert result.psi >= 0.1
    assert result.p_value >= 0.01 and result.status == STABLE


def test_binary_drift_uses_chi_square():
    entry = {"kind": "binary", "n": 1000, "n_missing": 0, "p1": 0.3}
    rng = np.random.default_rng(5)
    assert feature_drift(entry, (rng.random(2000) < 0.3).astype(float)).status == STABLE
    moved = feature_drift(entry, (rng.random(2000) < 0.6).astype(float))
    assert moved.test == "chi2" and moved.status == DRIFT and moved.live == pytest.approx(0.6, abs=0.03)


def test_report_covers_every_ui_feature_and_the_score(reference):
    report = drift_report(reference, {})
    assert set(report) == {*UI_FEATURE_NAMES, SCORE_KEY}
    assert all(r.status == INSUFFICIENT for r in report.values())


def _report(**statuses):
    base = {name: FeatureDrift(STABLE) for name in (*UI_FEATURE_NAMES, SCORE_KEY)}
    return base | {name: s if isinstance(s, FeatureDrift) else FeatureDrift(s) for name, s in statuses.items()}


def test_dataset_verdict():
    assert dataset_verdict(_report()).status == STABLE
    assert dataset_verdict({k: FeatureDrift(INSUFFICIENT) for k in _report()}).status == INSUFFICIENT
    one = dataset_verdict(_report(EXT_SOURCE_1=DRIFT))
    assert one.status == DRIFT and one.drifted == ["EXT_SOURCE_1"]  # a drift alert fires: never "watch"
    late = dataset_verdict(_report(EXT_SOURCE_1=FeatureDrift(WATCH, onset=Onset(0, "", {}, FeatureDrift(DRIFT)))))
    assert late.status == DRIFT and late.drifted == ["EXT_SOURCE_1"]
    assert dataset_verdict(_report(EXT_SOURCE_1=DRIFT, score=DRIFT)).status == DRIFT
    three = _report(EXT_SOURCE_1=DRIFT, EXT_SOURCE_2=DRIFT, EXT_SOURCE_3=DRIFT)
    assert dataset_verdict(three).status == DRIFT
    assert dataset_verdict(_report(score=WATCH)).status == WATCH


def test_onset_points_at_the_first_drifting_segment():
    entry = _continuous()
    rng = np.random.default_rng(6)
    values = np.r_[rng.normal(0, 1, 1200), rng.normal(1.5, 1, 800)]
    assert drift_onset(entry, values, 200) == 1200
    assert drift_onset(entry, rng.normal(0, 1, 2000), 200) is None
