"""The validation statistics against the field's libraries (optbinning, scipy.stats) on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scoring import validation_stats as vs
from scoring.stability import psi

optbinning = pytest.importorskip("optbinning")


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(7)
    n = 4000
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-2.5 + 1.2 * x)))
    y = (rng.random(n) < p).astype(int)
    return y, p + rng.normal(scale=0.02, size=n)  # scores: noisy probabilities


def test_gini_equals_optbinning(sample):
    from optbinning.metrics.classification import gini

    y, s = sample
    assert vs.gini(y, s) == pytest.approx(gini(y, s), abs=1e-12)


def test_ks_equals_scipy_two_sample_and_optbinning(sample):
    from optbinning.metrics.classification import ks

    y, s = sample
    ours, at = vs.ks_statistic(y, s)
    assert ours == pytest.approx(stats.ks_2samp(s[y == 1], s[y == 0]).statistic, abs=1e-12)
    # optbinning counts the population from 0 (off by one row): equal within one non-default's share
    assert abs(ours - ks(y, s)[0]) <= 1 / (y == 0).sum() + 1e-12
    assert s.min() <= at <= s.max()


def test_psi_equals_optbinning_divergence():
    from optbinning.binning.metrics import jeffrey

    expected = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    actual = np.array([0.05, 0.25, 0.3, 0.2, 0.2])
    assert psi(expected, actual) == pytest.approx(jeffrey(actual, expected, return_sum=True), rel=1e-3)


def test_herfindahl_equals_optbinning():
    from optbinning.binning.metrics import hhi

    counts = np.array([120, 300, 280, 150, 90, 40, 20])
    shares = counts / counts.sum()
    got = vs.herfindahl(counts)
    assert got["hhi"] == pytest.approx(hhi(shares), abs=1e-12)
    assert got["normalised"] == pytest.approx(hhi(shares, normalized=True), abs=1e-12)


@pytest.mark.parametrize(("n", "d", "pd"), [(500, 10, 0.02), (500, 20, 0.02), (80, 0, 0.01), (1000, 140, 0.10)])
def test_jeffreys_is_the_beta_posterior_and_binomial_is_scipys(n, d, pd):
    assert vs.jeffreys_pvalue(n, d, pd) == pytest.approx(stats.beta(d + 0.5, n - d + 0.5).cdf(pd), abs=1e-15)
    assert vs.binomial_pvalue(n, d, pd) == pytest.approx(stats.binom.sf(d - 1, n, pd), rel=1e-9)


def test_jeffreys_flags_an_underestimated_pd_and_not_a_right_one():
    assert vs.jeffreys_pvalue(1000, 40, 0.02) < 0.001  # twice the PD's defaults
    assert vs.jeffreys_pvalue(1000, 20, 0.02) > 0.3
    assert vs.jeffreys_pvalue(1000, 5, 0.02) > 0.99  # PD overestimated: not what this test rejects


def test_calibration_tests_accept_true_probabilities_and_reject_halved_ones(sample):
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.4, 20000)
    y = (rng.random(p.size) < p).astype(int)
    assert vs.hosmer_lemeshow(y, p)["p_value"] > 0.01
    assert vs.spiegelhalter(y, p)["p_value"] > 0.01
    assert vs.hosmer_lemeshow(y, p / 2)["p_value"] < 1e-6
    assert vs.spiegelhalter(y, p / 2)["p_value"] < 1e-6


def test_gains_table_rank_ordering_and_capture():
    rng = np.random.default_rng(11)
    s = 1 / (1 + np.exp(-(-2.0 + 1.5 * rng.normal(size=50000))))
    y = (rng.random(s.size) < s).astype(int)
    bands, names = vs.decile_bands(s)
    rows = vs.gains_table(y, s, bands, names)
    assert sum(r["n"] for r in rows) == y.size
    assert rows[0]["cum_defaults_share"] == pytest.approx(1.0)
    assert rows[-1]["cum_defaults_share"] == pytest.approx(rows[-1]["defaults"] / y.sum())
    assert vs.rank_ordering(rows)["monotone"]
    swapped = [dict(r) for r in rows]
    swapped[3]["default_rate"], swapped[4]["default_rate"] = rows[4]["default_rate"], rows[3]["default_rate"]
    assert vs.rank_ordering(swapped) == {"monotone": False, "inversions": [["D4", "D5"]]}


def test_curves_end_where_they_must(sample):
    y, s = sample
    roc, cap = vs.roc_points(y, s), vs.cap_points(y, s)
    assert roc["tpr"][0] >= 0 and roc["tpr"][-1] == 1.0
    assert cap["captured"][0] == 0.0 and cap["captured"][-1] == 1.0
    assert cap["captured"][10] > 0.1  # the riskiest 10 % hold more than 10 % of the defaults


def test_auc_change_test_sees_a_fall_and_not_noise():
    fell = vs.auc_change_test(0.66, 200, 2000, 0.76, 478, 5522)
    same = vs.auc_change_test(0.755, 200, 2000, 0.76, 478, 5522)
    assert fell["p_value_fell"] < 0.001 < same["p_value_fell"]
    se = vs.auc_standard_error(0.76, 478, 5522)
    assert 0.005 < se < 0.03


def test_score_psi_and_characteristic_csi_equal_optbinning_scorecard_monitoring():
    """optbinning's ScorecardMonitoring on a shifted sample: its score PSI and each characteristic's CSI
    equal the project's PSI over the same bins (the monitoring module's function)."""
    import pandas as pd
    from optbinning import BinningProcess, Scorecard
    from optbinning.scorecard import ScorecardMonitoring
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)

    def sample(n: int, shift: float) -> tuple[pd.DataFrame, np.ndarray]:
        x = pd.DataFrame({"a": rng.normal(shift, 1, n), "b": rng.gamma(2.0 + shift, 1.0, n)})
        y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + x["a"] - 0.3 * x["b"])))).astype(int)
        return x, y.to_numpy()

    x_e, y_e = sample(6000, 0.0)
    x_a, y_a = sample(3000, 0.4)
    card = Scorecard(BinningProcess(["a", "b"]), LogisticRegression(), scaling_method="min_max",
                     scaling_method_params={"min": 0, "max": 1000}).fit(x_e, y_e)
    monitor = ScorecardMonitoring(card, psi_method="cart", psi_n_bins=10).fit(x_a, y_a, x_e, y_e)
    table = monitor.psi_table().drop(index="Totals")
    ours = psi(table["Count E"].to_numpy(float), table["Count A"].to_numpy(float))
    assert ours == pytest.approx(monitor.psi_table().loc["Totals", "PSI"], rel=1e-3)
    detailed = monitor.psi_variable_table(style="detailed")
    summary = monitor.psi_variable_table(style="summary").set_index("Variable")["PSI"]
    for name in ("a", "b"):
        bins = detailed[detailed["Variable"] == name]
        csi = psi(bins["Count E"].to_numpy(float), bins["Count A"].to_numpy(float))
        assert csi == pytest.approx(summary[name], rel=1e-3, abs=1e-6)
    assert summary["a"] > 0.05  # the shift is seen
