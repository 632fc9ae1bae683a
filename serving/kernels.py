"""Compiled loops over the model's own trees (numba): one row's score and its TreeSHAP table reads.

Why: for one row, ONNX Runtime's `session.run` costs 12-22 µs before any tree is read (the same
call on an Identity model, measured beside it) and XGBoost's `inplace_predict` 250-380 µs; the 328
trees of depth 2 themselves are about 650 comparisons. A loop compiled once at load by numba
(public API, `numba.njit`) walks them without branches in about 5 µs (`python
benchmarks/bench_predictor.py`; numbers in docs/decisions.md, "Scoring backends").

Exactness: the walk is XGBoost's (go left when x < threshold, a NaN follows the default
direction), the margin is summed in float32 in tree order from the base margin, and the logistic
is taken in float32, as XGBoost's CPU predictor does: scores are XGBoost's to the bit on the rows
checked (tested within 1e-6 on split-probing rows, with no decision flip).

Without numba `AVAILABLE` is False and the predictor keeps ONNX Runtime / numpy.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from typing import Any

import numpy as np

from scoring.trees import Trees

log = logging.getLogger(__name__)

# numba is imported (0.3 s) and the loops decorated on first use only: batch runs never need them.
AVAILABLE = importlib.util.find_spec("numba") is not None
NUMBA = "numba"
_jitted = False
_jit_lock = threading.Lock()


def _walk(x, roots, first, feature, threshold, default_right, value, depth, base):  # pragma: no cover - compiled
    """float32 margin of row `x`: every tree walked from its root to a leaf, without branches (the
    right child follows the left one: the next node is first + 1 when the row goes right). Every tree takes
    `depth` steps (the deepest leaf's): a leaf leads to itself (`_flat_siblings`), so the steps' count does
    not depend on the row and the trees' walks overlap in the processor (4.5 against 6 µs a row for the
    committed model, whose 328 trees are of depth 2)."""
    s = base
    for r in roots:
        n = r
        for _ in range(depth):
            v = x[feature[n]]
            n = first[n] + ((v >= threshold[n]) | ((v != v) & default_right[n]))  # NaN: the default way
        s += value[n]
    return s


def _probability(x, roots, first, feature, threshold, default_right, value, depth, base):  # pragma: no cover
    m = _walk(x, roots, first, feature, threshold, default_right, value, depth, base)
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-m))


def _probabilities(matrix, roots, first, feature, threshold, default_right, value, depth, base,
                   out):  # pragma: no cover
    for i in range(matrix.shape[0]):
        out[i] = _probability(matrix[i], roots, first, feature, threshold, default_right, value, depth, base)


def _shap(x, edge_feature, edge_threshold, edge_left, nan_follows, n_edges, table, table_base, out):  # pragma: no cover
    """TreeSHAP of row `x` from the tables of `serving.treeshap.TreeShap` (added into `out`)."""
    for leaf in range(edge_feature.shape[0]):
        pattern = 0
        for e in range(n_edges[leaf]):  # no branches: bit e = the row follows edge e
            v = x[edge_feature[leaf, e]]
            known = np.int64(v == v)  # 0 for NaN
            follows = (known & ((v < edge_threshold[leaf, e]) == edge_left[leaf, e])) | \
                ((1 - known) & nan_follows[leaf, e])
            pattern |= follows << e
        entry = table_base[leaf] + pattern
        for e in range(n_edges[leaf]):
            out[edge_feature[leaf, e]] += table[entry, e]


def ready() -> bool:
    """numba is there and the loops are handed to it (on the first call; False if numba fails to import)."""
    if not AVAILABLE:
        return False
    if not _jitted:
        _jit()
    return _jitted


def _jit() -> None:
    """Hand the loops to numba (once; each compiles on its first call)."""
    global _walk, _probability, _probabilities, _shap, _jitted, AVAILABLE
    with _jit_lock:
        if _jitted:
            return
        try:
            import numba
        except Exception as exc:  # noqa: BLE001 - a broken install (llvmlite...) must not stop scoring
            log.warning("numba cannot be imported (%s): no compiled loops", exc)
            AVAILABLE = False
            return

        jit = numba.njit(nogil=True)
        _walk = jit(_walk)  # before its callers: they find the compiled one when they compile
        _probability = jit(_probability)
        _probabilities = jit(_probabilities)
        _shap = jit(_shap)
        _jitted = True


class CompiledTrees:
    """XGBoost's prediction of a binary:logistic model, as numba loops over its trees (flat arrays)."""

    name = NUMBA

    def __init__(self, trees: Trees):
        if not ready():
            raise RuntimeError("numba is not available")
        *arrays, depth = _flat_siblings(trees)
        self._args = (*arrays, np.int64(depth), np.float32(trees.base_margin))
        self.n_features = trees.n_features
        probe = np.zeros((1, trees.n_features), dtype=np.float32)
        self(probe)  # compile now (about a second), not on the first request
        self.one(probe)

    def one(self, row: np.ndarray) -> float:
        """The probability of a (1, n_features) float32 row."""
        return float(_probability(row[0], *self._args))

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities (float32) of a (rows, n_features) float32 matrix."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        out = np.empty(len(matrix), dtype=np.float32)
        _probabilities(matrix, *self._args, out)
        return out


def _flat_siblings(trees: Trees) -> tuple[Any, ...]:
    """Every tree's nodes renumbered breadth first into flat arrays, the two children of a node side
    by side: roots, first child, split feature, float32 threshold, NaN goes right, leaf value; and the
    depth of the deepest leaf. A leaf's next node is itself (first child = itself, threshold NaN, which
    no value reaches, NaN not going right): a walk may take more steps than its leaf's depth."""
    roots, first, feature, threshold, default_right, value = [], [], [], [], [], []
    deepest = 0
    for tree in trees.trees:
        roots.append(len(first))
        order, at, depth = [0], {0: len(first)}, {0: 0}
        for node in order:  # grows while read: breadth first
            if tree.left[node] >= 0:
                for child in (int(tree.left[node]), int(tree.right[node])):
                    at[child] = len(first) + len(order)
                    depth[child] = depth[node] + 1
                    order.append(child)
        deepest = max(deepest, max(depth.values()))
        for node in order:
            inner = tree.left[node] >= 0
            first.append(at[int(tree.left[node])] if inner else at[node])
            feature.append(int(tree.feature[node]) if inner else 0)
            threshold.append(tree.threshold[node] if inner else np.nan)
            default_right.append(bool(inner and not tree.default_left[node]))
            value.append(tree.value[node])
    return (np.array(roots, dtype=np.int32), np.array(first, dtype=np.int32), np.array(feature, dtype=np.int32),
            np.array(threshold, dtype=np.float32), np.array(default_right, dtype=np.bool_),
            np.array(value, dtype=np.float32), deepest)


def shap_into(x: np.ndarray, edge_feature: np.ndarray, edge_threshold: np.ndarray, edge_left: np.ndarray,
              nan_follows: np.ndarray, n_edges: np.ndarray, table: np.ndarray, table_base: np.ndarray,
              out: np.ndarray) -> None:
    """Add the TreeSHAP contributions of float32 row `x` into `out` (see `serving.treeshap`); needs `ready()`."""
    _shap(x, edge_feature, edge_threshold, edge_left, nan_follows, n_edges, table, table_base, out)
