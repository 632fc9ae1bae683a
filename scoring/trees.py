"""The trees of a binary:logistic XGBoost model as numpy arrays, read through the public JSON dump.

One reader for what needs the model's own splits: the exact TreeSHAP of `serving/treeshap.py` and the
split-probing rows of the ONNX parity check (`scoring/onnx_export.py`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import xgboost as xgb


class UnsupportedModel(ValueError):
    """A model these readers do not handle (not gbtree, not binary:logistic, categorical splits...)."""


@dataclass(frozen=True)
class Tree:
    left: np.ndarray  # int32, -1 at leaves
    right: np.ndarray
    feature: np.ndarray  # int32 split feature
    threshold: np.ndarray  # float32: go left when x < threshold
    default_left: np.ndarray  # bool: where a missing value goes
    value: np.ndarray  # float32 leaf value (margin) at leaves
    cover: np.ndarray  # float64 sum of hessians (TreeSHAP's path weights)

    def is_leaf(self, node: int) -> bool:
        return bool(self.left[node] < 0)


@dataclass(frozen=True)
class Trees:
    trees: tuple[Tree, ...]
    base_margin: float  # log-odds of base_score
    n_features: int

    def thresholds_by_feature(self) -> dict[int, np.ndarray]:
        """Every distinct split threshold of each feature (float32, sorted)."""
        found: dict[int, set[float]] = {}
        for tree in self.trees:
            inner = tree.left >= 0
            for f, t in zip(tree.feature[inner].tolist(), tree.threshold[inner].tolist(), strict=True):
                found.setdefault(f, set()).add(t)
        return {f: np.array(sorted(ts), dtype=np.float32) for f, ts in found.items()}

    def max_depth(self) -> int:
        def depth(tree: Tree, node: int) -> int:
            if tree.is_leaf(node):
                return 0
            return 1 + max(depth(tree, int(tree.left[node])), depth(tree, int(tree.right[node])))

        return max((depth(t, 0) for t in self.trees), default=0)


def used_booster(model: xgb.XGBClassifier | xgb.Booster) -> xgb.Booster:
    """The booster `predict_proba` uses: the trees up to `best_iteration` when early-stopped."""
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    try:
        best = model.best_iteration
    except AttributeError:
        return booster
    return booster[: int(best) + 1]


def read_trees(booster: xgb.Booster) -> Trees:
    """Parse `booster` (already cut to the rounds in use); raises `UnsupportedModel`."""
    learner = json.loads(booster.save_raw("json"))["learner"]
    objective = learner["objective"]["name"]
    if objective != "binary:logistic":
        raise UnsupportedModel(f"objective {objective!r}: only binary:logistic is handled")
    gbm = learner["gradient_booster"]
    if gbm["name"] != "gbtree":
        raise UnsupportedModel(f"booster {gbm['name']!r}: only gbtree is handled")
    params = learner["learner_model_param"]
    if int(params.get("num_target", 1)) != 1 or int(params.get("num_class", 0)) > 1:
        raise UnsupportedModel("multi-output model: only one target is handled")
    base = json.loads(params["base_score"]) if params["base_score"].startswith("[") else [params["base_score"]]
    prob = float(np.float32(base[0]))
    trees = []
    for t in gbm["model"]["trees"]:
        if any(t["split_type"]) or int(t["tree_param"].get("size_leaf_vector", 1)) > 1:
            raise UnsupportedModel("categorical splits or vector leaves are not handled")
        left = np.asarray(t["left_children"], dtype=np.int32)
        cond = np.asarray(t["split_conditions"], dtype=np.float32)
        trees.append(Tree(
            left=left,
            right=np.asarray(t["right_children"], dtype=np.int32),
            feature=np.asarray(t["split_indices"], dtype=np.int32),
            threshold=cond,
            default_left=np.asarray(t["default_left"], dtype=bool),
            value=np.where(left < 0, cond, np.float32(0)).astype(np.float32),
            cover=np.asarray(t["sum_hessian"], dtype=np.float64),
        ))
    return Trees(tuple(trees), math.log(prob / (1.0 - prob)), int(params["num_feature"]))
