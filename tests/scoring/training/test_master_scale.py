"""The master scale: grades chosen on training scores, monotone, none nearly empty; letters of scores."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.master_scale import MIN_SHARE, build_master_scale, grade_index, grade_of


def _population(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(-2.6 + 1.1 * rng.normal(size=n))))
    return (rng.random(n) < p).astype(int), p


def test_scale_is_monotone_with_no_empty_grade():
    y, p = _population(20000)
    scale = build_master_scale(y, p)
    grades = scale["grades"]
    assert 7 <= len(grades) <= 10 and scale["monotone"]
    assert [g["grade"] for g in grades] == list("ABCDEFGHIJ"[: len(grades)])
    rates = [g["default_rate"] for g in grades]
    assert rates == sorted(rates) and len(set(rates)) == len(rates)
    assert min(g["share"] for g in grades) >= MIN_SHARE
    assert sum(g["n"] for g in grades) == y.size
    assert grades[0]["low"] == 0.0 and grades[-1]["high"] == 1.0


def test_inverted_and_tiny_grades_are_merged():
    y, p = _population(3000, seed=1)
    noisy = p.copy()
    y = y.copy()
    y[(p > np.quantile(p, 0.38)) & (p < np.quantile(p, 0.50))] = 1  # one band riskier than the next ones
    scale = build_master_scale(y, noisy, cuts=(0.12, 0.25, 0.38, 0.50, 0.62, 0.73, 0.82, 0.89, 0.995))
    assert scale["monotone"]
    assert min(g["share"] for g in scale["grades"]) >= MIN_SHARE


def test_grade_of_agrees_with_grade_index_at_every_boundary():
    y, p = _population(20000)
    edges = build_master_scale(y, p)["edges"]
    probes = np.array([0.0, *edges, *np.nextafter(edges, 0), 0.5, 1.0])
    letters = [grade_of(edges, float(v)) for v in probes]
    assert letters == ["ABCDEFGHIJ"[i] for i in grade_index(edges, probes)]
    assert grade_of(edges, 0.0) == "A" and grade_of(edges, 1.0) == "ABCDEFGHIJ"[len(edges)]


def test_too_many_cuts_refused():
    y, p = _population(1000)
    with pytest.raises(ValueError):
        build_master_scale(y, p, cuts=tuple(np.linspace(0.05, 0.95, 10)))
