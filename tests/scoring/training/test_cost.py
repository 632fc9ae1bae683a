"""Cost and threshold maths."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.cost import best_threshold, business_cost, confusion_at, cost_curve


def brute_force_cost(y, s, t, cfn, cfp):
    fn = sum(1 for yi, si in zip(y, s, strict=True) if yi == 1 and si < t)
    fp = sum(1 for yi, si in zip(y, s, strict=True) if yi == 0 and si >= t)
    return cfn * fn + cfp * fp


def test_confusion_counts_refuse_at_or_above_threshold():
    y = np.array([0, 0, 1, 1, 0])
    s = np.array([0.1, 0.5, 0.5, 0.2, 0.9])
    assert confusion_at(y, s, 0.5) == (1, 2, 1, 1)  # tn, fp, fn, tp
    assert business_cost(y, s, 0.5, 10, 1) == 12


def test_cost_curve_matches_brute_force():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500), 2)  # ties on purpose
    grid = np.round(np.arange(0.0, 1.01, 0.01), 2)
    got = cost_curve(y, s, grid, 10, 1)
    want = [brute_force_cost(y, s, t, 10, 1) for t in grid]
    np.testing.assert_array_equal(got, want)


def test_best_threshold_minimises_cost_and_brackets_grey_zone():
    rng = np.random.default_rng(1)
    y = (rng.random(4000) < 0.1).astype(int)
    s = np.clip(0.08 + 0.3 * y + rng.normal(0, 0.12, y.size), 0, 1)
    choice = best_threshold(y, s, 10, 1)
    grid = np.round(np.arange(0.001, 1.0, 0.001), 3)
    all_costs = cost_curve(y, s, grid, 10, 1)
    assert choice.cost == all_costs.min()
    assert business_cost(y, s, choice.threshold, 10, 1) == choice.cost
    assert choice.grey_low <= choice.threshold <= choice.grey_high
    assert choice.grey_low < choice.grey_high
    assert business_cost(y, s, choice.grey_low, 10, 1) <= 1.05 * choice.cost


@pytest.mark.parametrize("cost_fn", [1.0, 10.0, 50.0])
def test_costlier_misses_lower_the_threshold(cost_fn):
    rng = np.random.default_rng(2)
    y = (rng.random(3000) < 0.1).astype(int)
    s = np.clip(0.1 + 0.3 * y + rng.normal(0, 0.15, y.size), 0, 1)
    cheap = best_threshold(y, s, cost_fn, 1.0).threshold
    dear = best_threshold(y, s, cost_fn * 4, 1.0).threshold
    assert dear <= cheap
