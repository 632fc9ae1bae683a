"""Exact path-dependent TreeSHAP for one row, from tables built at load, equal to XGBoost's `pred_contribs`.

Why not XGBoost's own: for one row it needs a DMatrix (~90 µs, it reads the cgroup CPU files) and
its TreeSHAP (~110 µs for the default model). Here the work that does not depend on the row is done
once at load, so a row costs one pass over the leaves' edges: a numba loop (`serving.kernels`), or a
few vectorised numpy operations without numba (measured in `benchmarks/bench_predictor.py`).

The maths (Lundberg et al. 2018, the algorithm XGBoost implements). For a leaf l of value v whose
path holds the distinct features P (a feature split twice on the path is one feature), let
z_j = product of cover(child) / cover(parent) over the path's edges on feature j, and o_j = 1 when
the row follows every edge of feature j on the path (missing values follow the default direction),
else 0. Then leaf l adds to feature i of P:

    v · (o_i − z_i) · Σ_{S ⊆ O \\ {i}} |S|! (|P| − |S| − 1)! / |P|! · Π_{k ∈ P \\ S \\ {i}} z_k

where O = {j : o_j = 1}. The o's of a leaf form a pattern of at most 2^depth values, so the
contribution of each (leaf, pattern) is tabulated at load: for a row, each path edge is tested
(x < threshold, or the default direction), the edge bits give the pattern, one gather reads the
table and `np.bincount` sums the contributions per feature. The bias (last column) is the base
margin plus each tree's cover-weighted mean leaf value.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from scoring.trees import Tree, Trees, UnsupportedModel
from serving import kernels

# Table entries = leaves × 2^depth × depth; past this the model is left to XGBoost's TreeSHAP.
MAX_TABLE_ENTRIES = 1 << 23
MAX_DEPTH = 10


def _leaf_paths(tree: Tree) -> list[tuple[int, list[tuple[int, int, bool, float]]]]:
    """(leaf, [(parent node, feature, went left, cover ratio) ...]) for each leaf, root first."""
    out = []
    stack: list[tuple[int, list[tuple[int, int, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if tree.is_leaf(node):
            out.append((node, path))
            continue
        for child, left in ((int(tree.left[node]), True), (int(tree.right[node]), False)):
            ratio = tree.cover[child] / tree.cover[node] if tree.cover[node] > 0 else 0.0
            stack.append((child, [*path, (node, int(tree.feature[node]), left, ratio)]))
    return out


class TreeShap:
    """Exact TreeSHAP contributions of one row, shape (n_features + 1,); the last one is the bias."""

    def __init__(self, trees: Trees):
        paths = [(tree, leaf, path) for tree in trees.trees for leaf, path in _leaf_paths(tree)]
        depth = max((len(p) for _, _, p in paths), default=0)
        n_leaves = len(paths)
        if depth > MAX_DEPTH or n_leaves * (1 << depth) * max(depth, 1) > MAX_TABLE_ENTRIES:
            raise UnsupportedModel(f"{n_leaves} leaves of depth up to {depth}: table too large")
        self.n_features = trees.n_features
        # Four edges a leaf (depth <= 4): the edge bits of a leaf are read as one uint32 (see _patterns).
        d = 4 if depth <= 4 else depth
        self.edge_feature = np.zeros((n_leaves, d), dtype=np.intp)
        self.edge_threshold = np.zeros((n_leaves, d), dtype=np.float32)
        self.edge_left = np.zeros((n_leaves, d), dtype=bool)
        nan_follows = np.zeros((n_leaves, d), dtype=bool)
        slot_of_edge = np.full((n_leaves, d), d, dtype=np.intp)  # d: padding
        first_edge = np.zeros((n_leaves, d), dtype=bool)
        z = np.ones((n_leaves, d), dtype=np.float64)  # zero fraction per slot (distinct feature)
        n_slots = np.zeros(n_leaves, dtype=np.intp)
        self.n_edges = np.array([len(p) for _, _, p in paths], dtype=np.intp)
        value = np.zeros(n_leaves, dtype=np.float64)
        for li, (tree, leaf, path) in enumerate(paths):
            value[li] = float(tree.value[leaf])
            slots: dict[int, int] = {}
            for e, (node, feature, left, ratio) in enumerate(path):
                self.edge_feature[li, e] = feature
                self.edge_threshold[li, e] = tree.threshold[node]
                self.edge_left[li, e] = left
                nan_follows[li, e] = bool(tree.default_left[node]) == left
                if feature not in slots:
                    slots[feature] = len(slots)
                    first_edge[li, e] = True
                s = slots[feature]
                slot_of_edge[li, e] = s
                z[li, s] *= ratio
            n_slots[li] = len(slots)
        slot_table = self._slot_table(z, n_slots, value, d)  # (leaves, 2^d slot patterns, d slots)
        # From edge patterns to slot patterns: a slot is followed when all of its edges are.
        n_patterns = 1 << d
        table = np.zeros((n_leaves, n_patterns, d), dtype=np.float64)
        rows = np.arange(n_leaves)
        slot_onehot = slot_of_edge[:, :, None] == np.arange(d)[None, None, :]  # (leaves, edges, slots)
        all_bits = ((np.arange(n_patterns)[:, None] >> np.arange(d)[None, :]) & 1).astype(bool)
        for bits, q in zip(all_bits, self._patterns(all_bits).tolist(), strict=True):
            failed = (slot_onehot & ~bits[None, :, None]).any(axis=1)  # (leaves, slots)
            p = ((~failed) * (1 << np.arange(d))).sum(axis=1)
            per_slot = slot_table[rows, p]  # (leaves, slots)
            table[:, q, :] = np.where(first_edge, np.take_along_axis(per_slot, np.minimum(slot_of_edge, d - 1),
                                                                      axis=1), 0.0)
        self.table = table.reshape(n_leaves * n_patterns, d)
        self.table_base = (rows * n_patterns).astype(np.intp)
        # A missing value compares False with `<`, i.e. it would follow right edges; flip where its
        # default direction says otherwise.
        self.nan_flip = nan_follows != ~self.edge_left
        full = (1 << d) - 1
        self.bias = trees.base_margin + float((value * self._zprod(z, d)[:, full]).sum())
        self.depth = depth
        # The compiled reader's copy, cut to the real depth (the numpy reader pads it to 4 edges): a
        # row only sets the bits of its leaf's edges, so the patterns past 2^depth are never read.
        # For the default model (depth 2) 83 KB instead of 668 KB: it stays in cache between calls.
        cut = (slice(None), slice(0, depth))
        self._compiled = (np.ascontiguousarray(self.edge_feature[cut]), np.ascontiguousarray(self.edge_threshold[cut]),
                          np.ascontiguousarray(self.edge_left[cut]), np.ascontiguousarray(nan_follows[cut]),
                          self.n_edges,
                          np.ascontiguousarray(table.reshape(n_leaves, n_patterns, d)[:, :1 << depth, :depth]
                                               ).reshape(n_leaves << depth, depth),
                          (rows << depth).astype(np.intp))

    @property
    def name(self) -> str:
        """Which reader computes the contributions (numba unless it is missing or failed to import)."""
        return "treeshap-numba" if kernels.AVAILABLE else "treeshap-numpy"

    @staticmethod
    def _zprod(z: np.ndarray, d: int) -> np.ndarray:
        """Π_{k in mask} z_k for every bit mask of the d slots, shape (leaves, 2^d)."""
        out = np.ones((len(z), 1 << d), dtype=np.float64)
        for mask in range(1, 1 << d):
            low = (mask & -mask).bit_length() - 1
            out[:, mask] = out[:, mask & (mask - 1)] * z[:, low]
        return out

    @classmethod
    def _slot_table(cls, z: np.ndarray, n_slots: np.ndarray, value: np.ndarray, d: int) -> np.ndarray:
        """Contribution of each (leaf, slot pattern O, slot i), leaf value included."""
        weights = np.zeros((d + 1, d + 1))  # weights[m, s] = s! (m - s - 1)! / m!
        for m in range(1, d + 1):
            for s in range(m):
                weights[m, s] = math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
        zprod = cls._zprod(z, d)
        full = (1 << d) - 1
        w_of = weights[n_slots]  # (leaves, d + 1)
        table = np.zeros((len(z), 1 << d, d), dtype=np.float64)
        for i in range(d):
            real_i = i < n_slots
            for p in range(1 << d):
                o_i = (p >> i) & 1
                rest = p & ~(1 << i)
                total = np.zeros(len(z))
                s_mask = rest
                while True:  # every subset S of the followed slots other than i
                    valid = (s_mask >> n_slots) == 0
                    total += np.where(valid, w_of[:, s_mask.bit_count()] * zprod[:, full & ~s_mask & ~(1 << i)], 0.0)
                    if s_mask == 0:
                        break
                    s_mask = (s_mask - 1) & rest
                table[:, p, i] = np.where(real_i, value * (o_i - z[:, i]) * total, 0.0)
        return table

    @staticmethod
    def _patterns(follows: np.ndarray) -> np.ndarray:
        """Index of each row's edge bits (a bool array (leaves, d)): bit e = edge e followed."""
        if follows.shape[1] == 4:  # the 4 bytes as one uint32; one multiply gathers the bits
            word = np.ascontiguousarray(follows).view(np.uint32).ravel()
            return (word * np.uint32(0x01020408)) >> np.uint32(24) if sys.byteorder == "little" else \
                follows @ (1 << np.arange(4))
        return follows.view(np.uint8) @ (1 << np.arange(follows.shape[1]))

    def __call__(self, row: np.ndarray) -> np.ndarray:
        """Contributions of one float32 row of n_features values (NaN = missing)."""
        if kernels.ready():  # the same table reads in a compiled loop (`serving.kernels`)
            out = np.zeros(self.n_features + 1)
            kernels.shap_into(np.ascontiguousarray(row, dtype=np.float32), *self._compiled, out)
            out[self.n_features] = self.bias
            return out
        return self.numpy(row)

    def numpy(self, row: np.ndarray) -> np.ndarray:
        """`self(row)` in vectorised numpy (without numba)."""
        v = np.asarray(row, dtype=np.float32).take(self.edge_feature)
        follows = ((v < self.edge_threshold) == self.edge_left) ^ (np.isnan(v) & self.nan_flip)
        contrib = self.table.take(self.table_base + self._patterns(follows), axis=0)
        out = np.bincount(self.edge_feature.ravel(), contrib.ravel(), minlength=self.n_features + 1)
        out[self.n_features] = self.bias
        return out
