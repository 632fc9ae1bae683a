"""The master scale: risk grades A (best) … on the probability of default, chosen on training data.

`build_master_scale` starts from score quantiles of the out-of-fold scores of the training rows
(finer in the risky tail, as master scales are), then merges neighbouring grades until every grade
holds at least `min_share` of the applicants and the observed default rate rises strictly from
grade to grade. The document is stored in `threshold.json` under `master_scale` (so the manifest
covers it and the model version follows it):

    {"edges": [e1, …, e_{k-1}],          # grade i holds scores in [e_i, e_{i+1}) (e_0 = 0, e_k = 1)
     "grades": [{"grade": "A", "low": 0.0, "high": e1, "pd": mean OOF score, "default_rate": observed,
                 "n": int, "defaults": int, "share": float}, …],
     "chosen_on": "out-of-fold scores of the training rows"}
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np

LETTERS = "ABCDEFGHIJ"
MIN_GRADES, MAX_GRADES = 7, 10
# Cumulative shares of the applicants (best first) at which the candidate grades start: broad
# grades for the bulk of good applicants, narrow ones in the risky tail.
START_CUTS = (0.12, 0.25, 0.38, 0.50, 0.62, 0.73, 0.82, 0.89, 0.95)
MIN_SHARE = 0.02  # a grade holding less is "nearly empty"


def _summary(y: np.ndarray, s: np.ndarray, bands: np.ndarray, k: int) -> list[dict[str, Any]]:
    out = []
    for b in range(k):
        mask = bands == b
        n = int(mask.sum())
        out.append({"n": n, "defaults": int(y[mask].sum()), "pd": float(s[mask].mean()) if n else 0.0,
                    "default_rate": float(y[mask].mean()) if n else 0.0})
    return out


def _merge_once(edges: list[float], rows: list[dict[str, Any]], total: int, min_share: float) -> list[float] | None:
    """Edges with one boundary removed (the worst offender), or None when nothing needs merging."""
    small = [i for i, r in enumerate(rows) if r["n"] < min_share * total]
    if small:
        i = min(small, key=lambda j: rows[j]["n"])
        j = i - 1 if i == len(rows) - 1 or (i > 0 and rows[i - 1]["n"] < rows[i + 1]["n"]) else i
        return edges[:j] + edges[j + 1:]  # merge grade j with j + 1
    inverted = [i for i in range(len(rows) - 1) if rows[i + 1]["default_rate"] <= rows[i]["default_rate"]]
    if inverted:
        i = min(inverted, key=lambda j: rows[j + 1]["default_rate"] - rows[j]["default_rate"])
        return edges[:i] + edges[i + 1:]
    return None


def build_master_scale(y: np.ndarray, scores: np.ndarray, *, cuts: tuple[float, ...] = START_CUTS,
                       min_share: float = MIN_SHARE) -> dict[str, Any]:
    """Grades on training targets and (out-of-fold) scores: monotone in default rate, none below `min_share`."""
    y = np.asarray(y).astype(int)
    s = np.asarray(scores, dtype=float)
    if len(cuts) + 1 > MAX_GRADES:
        raise ValueError(f"at most {MAX_GRADES} grades")
    edges = sorted({float(e) for e in np.quantile(s, cuts)})
    while True:
        bands = np.searchsorted(edges, s, side="right")
        rows = _summary(y, s, bands, len(edges) + 1)
        merged = _merge_once(edges, rows, y.size, min_share)
        if merged is None:
            break
        edges = merged
    bounds = [0.0, *edges, 1.0]
    grades = [{"grade": LETTERS[i], "low": bounds[i], "high": bounds[i + 1], **row, "share": row["n"] / y.size}
              for i, row in enumerate(rows)]
    return {"edges": edges, "grades": grades, "n_grades": len(grades),
            "monotone": all(b["default_rate"] > a["default_rate"] for a, b in zip(grades, grades[1:], strict=False)),
            "min_share": min_share, "chosen_on": "out-of-fold scores of the training rows"}


def grade_of(edges: list[float], score: float) -> str:
    """The grade letter of one score (a bisection over a handful of floats: no measurable cost)."""
    return LETTERS[bisect_right(edges, score)]


def grade_index(edges: list[float], scores: np.ndarray) -> np.ndarray:
    """Grade index (0 = A) of each score."""
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(scores, dtype=float), side="right")


def grade_names(scale: dict[str, Any]) -> list[str]:
    return [g["grade"] for g in scale["grades"]]
