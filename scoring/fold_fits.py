"""The fold fits of cross-validation: each fold's matrices built once and shared by every candidate,
fits run side by side on one thread each.

What it changes against fitting `xgb.XGBClassifier(...).fit(x, y, eval_set=...)` once per candidate and
fold, and what it does not (tested equal, curve and scores, in tests/scoring/training/test_fold_fits.py):

- The training rows of a fold are binned once (`QuantileDMatrix`, the quantile sketch of `max_bin`
  cuts) and every candidate trains on that matrix; the sketch depends on the rows and `max_bin` only.
- The validation rows are a plain `DMatrix`. The scikit-learn wrapper bins them too (a `QuantileDMatrix`
  with the training cuts), and XGBoost then evaluates each round's AUC on the binned rows at about
  18 ms a round against 0.5 ms on plain rows (measured on the default twin's folds, 6 Dec 2026): most
  of the tuning's time went there. The binned and plain rows go down the same branches (a split
  threshold is a cut), so the validation curves are the same to the bit.
- The matrices are built from the rows' values without the feature names (the monotone constraints are
  given by position, as XGBoost turns a dict of names into them), and the names and types are set on each
  fold's booster after its training. With names, XGBoost's Python side fetches and compares the 389 names
  of every matrix twice a round (`Booster.update`, `Booster.eval_set`): about 1 ms a round, more than half
  of a fit's time at 3,200 rows, holding the GIL the other worker's fit needs (py-spy, 6 Dec 2026). The
  trees, curves and boosters are the same to the byte (tested).
- `workers` fits run at once, each on one thread (`nthread=1`), a fold's matrices used by one fit at a
  time. XGBoost's trees do not depend on its thread count (tested), and two single-threaded fits keep
  both cores busy where one 2-thread fit spends much of its time in OpenMP barriers on a shared machine
  (docs/decisions.md, "Threads").
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

VALIDATION = "validation_0"  # the name the scikit-learn wrapper gives its first eval set


@dataclass
class FoldFit:
    """One candidate on one fold: the validation AUC of every round and the booster."""

    curve: np.ndarray
    booster: xgb.Booster
    best_round: int  # the fold's own early-stopped best round, 1-based

    def scores(self, x_valid: pd.DataFrame | np.ndarray, rounds: int) -> np.ndarray:
        """Probabilities of the validation rows with the first `rounds` trees (the fold's last if fewer); an
        array of the rows' values (in the training columns' order) gives the same as the frame, faster."""
        kept = min(rounds, self.booster.num_boosted_rounds())
        return self.booster.inplace_predict(x_valid, iteration_range=(0, kept))


@dataclass
class Fold:
    """A fold's rows and the matrices built for them (by the thread of the fit that first asked).

    A fit leases one pair of matrices for its whole training; a fit that finds every pair in use gets a
    new one (a second copy, only when `run_fits` lets two fits share a fold)."""

    fit_idx: np.ndarray
    valid_idx: np.ndarray
    _free: list[tuple[xgb.QuantileDMatrix, xgb.DMatrix]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    copies: int = 0

    @contextmanager
    def lease(self, x: pd.DataFrame, y: np.ndarray, max_bin: int) -> Iterator[tuple[xgb.QuantileDMatrix, xgb.DMatrix]]:
        """A pair (training rows binned, validation rows plain) of unnamed matrices, in `x`'s column order."""
        with self._lock:
            pair = self._free.pop() if self._free else None
            self.copies += pair is None
        if pair is None:
            # float32: what XGBoost reads of any numeric column (a bool or int column included)
            rows = x.iloc[self.fit_idx].to_numpy(np.float32)
            train = xgb.QuantileDMatrix(rows, y[self.fit_idx], max_bin=max_bin, nthread=1)
            valid = xgb.DMatrix(x.iloc[self.valid_idx].to_numpy(np.float32), y[self.valid_idx], nthread=1)
            pair = (train, valid)
        try:
            yield pair
        finally:
            with self._lock:
                self._free.append(pair)

    def release(self) -> None:
        with self._lock:
            self._free.clear()


def native_params(params: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    """The learner parameters `xgb.XGBClassifier(**params).fit` passes to `xgb.train`, on one thread.

    With `names` (the columns of unnamed matrices), monotone constraints given by name are turned into
    the tuple by position that XGBoost builds from a named matrix."""
    native = xgb.XGBClassifier(**params).get_xgb_params()
    native = {k: v for k, v in native.items() if v is not None}
    constraints = native.get("monotone_constraints")
    if names is not None and isinstance(constraints, dict):
        if not set(constraints) <= set(names):
            raise ValueError("Constrained features are not a subset of training data feature names")
        native["monotone_constraints"] = tuple(constraints.get(name, 0) for name in names)
    return native | {"objective": "binary:logistic", "n_jobs": 1}


def feature_info(x: pd.DataFrame) -> tuple[list[str] | None, list[str] | None]:
    """The feature names and types XGBoost gives a matrix built from `x` (none of its rows needed; ~20 ms
    for 389 columns, so the tuning asks once)."""
    info = xgb.DMatrix(x.iloc[:0])
    return info.feature_names, info.feature_types


class _Abort(xgb.callback.TrainingCallback):
    """Stops the training after the round in which `stop()` became true (a candidate dropped by racing)."""

    def __init__(self, stop: Callable[[], bool]) -> None:
        super().__init__()
        self.stop = stop

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        return bool(self.stop())


def fit_fold(x: pd.DataFrame, y: np.ndarray, fold: Fold, params: dict[str, Any], *, max_rounds: int,
             patience: int, stop: Callable[[], bool] | None = None,
             info: tuple[list[str] | None, list[str] | None] | None = None) -> FoldFit:
    """Train one candidate on one fold with early stopping on the fold's validation AUC.

    `stop`, asked after every round, ends the fit early when true (its result is then incomplete:
    the caller discards it). `info`: `feature_info(x)`, when the caller has it."""
    result: dict[str, Any] = {}
    with fold.lease(x, y, int(params.get("max_bin") or 256)) as (train, valid):
        booster = xgb.train(native_params(params, list(x.columns)), train, max_rounds, evals=[(valid, VALIDATION)],
                            early_stopping_rounds=patience, evals_result=result, verbose_eval=False,
                            callbacks=[_Abort(stop)] if stop is not None else None)
    booster.feature_names, booster.feature_types = info or feature_info(x)  # the booster a named matrix gives
    return FoldFit(curve=np.asarray(result[VALIDATION]["auc"]), booster=booster,
                   best_round=int(booster.best_iteration) + 1)


def run_fits(tasks: Iterable[tuple[Any, int]], fit: Callable[[Any, int], Any], *, workers: int,
             done: Callable[[Any, int, Any], None] | None = None,
             share_when_idle: bool = False) -> dict[tuple[Any, int], Any]:
    """`fit(key, fold)` for every task, `workers` at a time, never two at once on the same fold.

    Tasks start in the order given (put the longest first); a worker takes the next one whose fold is
    free. With `share_when_idle`, a worker that finds none takes the next task anyway rather than wait
    (its fit then leases a copy of the fold's matrices: `Fold.lease`). `done(key, fold, result)` is
    called under a lock as each finishes (progress). The first error stops the others from starting
    and is raised.
    """
    pending = list(tasks)
    busy: Counter[int] = Counter()  # running fits per fold
    results: dict[tuple[Any, int], Any] = {}
    errors: list[BaseException] = []
    ready = threading.Condition()

    def work() -> None:
        while True:
            with ready:
                while True:
                    if errors or not pending:
                        return
                    task = next((t for t in pending if not busy[t[1]]), pending[0] if share_when_idle else None)
                    if task is not None:
                        pending.remove(task)
                        busy[task[1]] += 1
                        break
                    ready.wait()
            try:
                out = fit(*task)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
                with ready:
                    errors.append(exc)
                    busy[task[1]] -= 1
                    ready.notify_all()
                return
            with ready:
                results[task] = out
                busy[task[1]] -= 1
                if done is not None:
                    done(task[0], task[1], out)
                ready.notify_all()

    if workers <= 1:
        work()
    else:
        threads = [threading.Thread(target=work, name=f"fold-fit-{i}", daemon=True) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return results
