"""Racing the tuning's candidates: the rule (pure) and the tuning with it (a bad candidate stops early,
the choice and the winner's figures are those of the run without racing)."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.fold_fits import FoldFit
from scoring.racing import RacingRule, catch_up_probability, decide
from scoring.report import _tuning
from scoring.training import TrainConfig
from scoring.tuning import _Race, tune

from .conftest import make_frame

RULE = RacingRule()


def test_catch_up_probability_follows_the_deficit_and_the_folds_left():
    noise = np.array([0.002, -0.001, 0.0005, -0.0015])
    tied = catch_up_probability(noise - noise.mean(), 5)
    behind = catch_up_probability(noise - 0.003, 5)
    far_behind = catch_up_probability(noise - 0.01, 5)
    assert tied == pytest.approx(0.5)
    assert 0 < far_behind < behind < tied
    # the same deficit is harder to make up when fewer folds are left
    assert catch_up_probability(noise[:3] - 0.003, 15) > catch_up_probability(noise[:3] - 0.003, 4)
    assert catch_up_probability(noise + 0.01, 5) > 0.99
    assert catch_up_probability([-0.01], 5) == 1.0  # one fold says nothing about the spread
    assert catch_up_probability([-0.01, -0.01, -0.01], 5) == 0.0  # no spread at all: it cannot catch up


@pytest.mark.parametrize("total", [5, 15])
def test_a_statistically_tied_candidate_is_never_stopped(total):
    """Within one standard error of the leader on the folds seen, at any decision of a 5-fold run, and
    while at least a third of the folds remain on 15."""
    rng = np.random.default_rng(1)
    for m in range(RULE.min_folds, total):
        if total == 15 and m > 10:
            break
        for _ in range(200):
            d = rng.normal(0, 0.004, m)
            d = d - d.mean() - rng.uniform(0, 1) * d.std(ddof=1) / np.sqrt(m)  # behind by < 1 SE
            assert catch_up_probability(d, total) >= RULE.threshold(total)


@pytest.mark.parametrize("total", [5, 15])
def test_the_would_be_winner_is_rarely_stopped(total):
    """Simulated runs of normal fold differences (the rule's model): among the runs the candidate would have
    won (mean difference above 0 after every fold), racing stopped it in fewer than alpha of them."""
    rng = np.random.default_rng(7)
    stopped = wins = 0
    for mu in (-0.5, -0.2, 0.0, 0.3):
        for _ in range(3000):
            d = rng.normal(mu, 1.0, total)
            if d.mean() > 0:
                wins += 1
                stopped += any(catch_up_probability(d[:m], total) < RULE.threshold(total)
                               for m in range(RULE.min_folds, total))
    assert wins > 1000
    assert stopped / wins < RULE.alpha


def test_decide_stops_only_the_hopeless_and_never_the_leader():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.002, 4)
    scores = {0: 0.80 + noise,
              1: 0.80 + noise + 0.001 + 0.001 * (-1) ** np.arange(4),  # tied (ahead on average: the leader)
              2: 0.70 + noise + rng.normal(0, 0.002, 4)}  # far behind
    out = decide(scores, 5, RULE)
    assert set(out) == {2} and out[2] < RULE.threshold(5)
    assert decide({c: v[:2] for c, v in scores.items()}, 5, RULE) == {}  # too few folds
    assert decide(scores, 4, RULE) == {}  # every fold seen: nothing left to save
    assert decide({2: scores[2]}, 5, RULE) == {}  # alone: it is the leader
    with pytest.raises(ValueError, match="same folds"):
        decide({0: scores[0], 2: scores[2][:3]}, 5, RULE)


def test_the_race_decides_the_same_whatever_order_the_parallel_fits_finish_in():
    """Two workers finish fits out of step: a fast bad candidate may be folds ahead of the others when the
    third fold is complete for all. The stops, their fold counts and the fits kept are the same as in
    the one-worker order, for every finishing order of the fits (each candidate in fold order)."""
    rng = np.random.default_rng(5)
    n_folds, level = 5, {0: 0.80, 1: 0.70, 2: 0.799}
    curves = {(c, f): np.linspace(0.5, level[c] + rng.normal(0, 0.002), 20) for c in level for f in range(n_folds)}

    def run(order):
        race = _Race(len(level), n_folds, RULE, max_rounds=20)
        for c, f in order:
            if race.running(c):
                race.record(c, f, FoldFit(curves[c, f], booster=None, best_round=20))
        return race.stopped, {c: sorted(fits) for c, fits in race.fits.items()}

    reference = run([(c, f) for f in range(n_folds) for c in level])  # one worker: fold by fold
    assert reference[0] == {1: {"after_folds": RULE.min_folds, "catch_up_probability": reference[0][1][
        "catch_up_probability"]}}
    assert reference[1] == {0: list(range(n_folds)), 1: list(range(RULE.min_folds)), 2: list(range(n_folds))}
    for seed in range(30):
        order_rng = np.random.default_rng(seed)
        queues = {c: [(c, f) for f in range(n_folds)] for c in level}
        order = []
        while any(queues.values()):
            c = order_rng.choice([c for c in queues if queues[c]])
            order.append(queues[c].pop(0))
        assert run(order) == reference
    # the bad candidate all done before the others reach their third fold: still stopped after three
    ahead = [(1, f) for f in range(n_folds)] + [(c, f) for f in range(n_folds) for c in (0, 2)]
    assert run(ahead) == reference


GOOD = {"learning_rate": 0.1, "max_depth": 2, "min_child_weight": 5, "reg_lambda": 5.0, "colsample_bytree": 0.8}
ALSO_GOOD = {**GOOD, "max_depth": 3}
BAD = {"learning_rate": 0.1, "max_depth": 1, "min_child_weight": 400, "reg_lambda": 100.0, "colsample_bytree": 0.1}


@pytest.fixture(scope="module")
def data():
    frame, y, _ = make_frame(2500, seed=21)
    x = frame.astype("float32")
    return x, y, TrainConfig(seed=4, n_jobs=1).xgb_params(1.0, list(x.columns))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bad_candidate_stops_early_and_the_choice_is_unchanged(data, workers):
    x, y, base = data
    kwargs = {"n_splits": 5, "n_repeats": 1, "seed": 4, "max_rounds": 120, "patience": 15, "quiet": True,
              "workers": workers}
    full = tune(x, y, base, candidates=(GOOD, BAD, ALSO_GOOD), **kwargs)
    raced = tune(x, y, base, candidates=(GOOD, BAD, ALSO_GOOD), racing=RULE, **kwargs)
    assert full.candidates[1].mean_auc < min(full.candidates[0].mean_auc, full.candidates[2].mean_auc) - 0.02
    bad = raced.candidates[1]
    assert bad.stopped is not None and bad.stopped["after_folds"] == RULE.min_folds
    assert len(bad.fold_auc) < 5 and bad.oof is None
    # the fits it had are the unraced run's first folds
    assert bad.fold_rounds == full.candidates[1].fold_rounds[:len(bad.fold_rounds)]
    # the others ran every fold, with the figures of the run without racing, and the same one is chosen
    assert raced.candidates.index(raced.best) == full.candidates.index(full.best)
    for i in (0, 2):
        assert raced.candidates[i].stopped is None
        assert raced.candidates[i].fold_auc == full.candidates[i].fold_auc
        assert raced.candidates[i].n_rounds == full.candidates[i].n_rounds
        assert np.array_equal(raced.candidates[i].oof, full.candidates[i].oof)
    summary = raced.summary()
    assert summary["candidates"][1]["folds"] == len(bad.fold_auc)
    assert summary["candidates"][1]["stopped_by_racing"]["after_folds"] == RULE.min_folds
    assert summary["candidates"][1]["diff_vs_reference"]["folds"] == len(bad.fold_auc)
    assert summary["racing"]["alpha"] == RULE.alpha
    assert "racing" not in full.summary() and "stopped_by_racing" not in full.summary()["candidates"][1]
    # the report says where the stopped candidate stopped and why, in French
    html = _tuning({"tuning": summary})
    probability = f"{100 * bad.stopped['catch_up_probability']:.2f}".replace(".", ",")
    assert "<th>Plis</th>" in html and f"arrêté : probabilité de finir devant {probability} %" in html
    assert "Course : un candidat s&#x27;arrête" in html or "Course : un candidat s'arrête" in html
    assert "arrêté" not in _tuning({"tuning": full.summary()})


def test_racing_never_stops_the_tied_candidates_of_the_fixture(data):
    x, y, base = data
    kwargs = {"n_splits": 5, "n_repeats": 1, "seed": 9, "max_rounds": 120, "patience": 15, "quiet": True,
              "workers": 2}
    raced = tune(x, y, base, candidates=(GOOD, ALSO_GOOD), racing=RULE, **kwargs)
    full = tune(x, y, base, candidates=(GOOD, ALSO_GOOD), **kwargs)
    assert all(c.stopped is None for c in raced.candidates)
    assert [c.fold_auc for c in raced.candidates] == [c.fold_auc for c in full.candidates]
    assert raced.candidates.index(raced.best) == full.candidates.index(full.best)
