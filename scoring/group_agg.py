"""Grouped sums, means, minima and maxima of many columns at once, with the kernels pandas' groupby runs.

`scoring.features` aggregates each child table per applicant. Written as ``frame.groupby(key).agg({column:
[functions]})``, pandas runs one Cython kernel call per column and function and builds a Series and an
index for each: ~100 ms of fixed cost per `build_features` call whatever the number of rows, which made
small input chunks expensive (docs/decisions.md, "The per-chunk cost of the features"). `Groups` factorises
the keys once and runs each function once on a 2-D block of every column needing it, through pandas' public
``DataFrame.groupby(codes, sort=False).<function>()`` (its Cython kernels, NaN skipped; measured as fast as
calling the kernels themselves), and for the columns pandas would sum with numpy's ``reduceat`` (groups
sorted, no NaN) the same ``reduceat``. The values are the same to the bit as the per-column
``groupby.agg`` (tested against it and against frozen values: tests/scoring/data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FUNCTIONS = ("sum", "mean", "min", "max")
_REDUCEAT = {"sum": np.add, "mean": np.add, "min": np.minimum, "max": np.maximum}


class Groups:
    """The groups of `keys` in order of first appearance (``groupby(sort=False)``'s order)."""

    def __init__(self, keys: np.ndarray) -> None:
        codes, uniques = pd.factorize(np.asarray(keys), sort=False)
        if len(codes) and codes.min() < 0:
            raise ValueError("a group key is missing (NaN): the tables' keys are integers (scoring.data)")
        self.codes = codes.astype(np.intp, copy=False)
        self.keys = np.asarray(uniques)
        self.sizes = np.bincount(self.codes, minlength=len(self.keys)).astype(np.int64)
        # Each group's rows together (e.g. rows sorted by applicant): pandas then sums NaN-free columns with
        # numpy's reduceat, not the Cython kernel, and the last bit can differ between the two.
        self._starts = (np.flatnonzero(np.r_[True, self.codes[1:] != self.codes[:-1]])
                        if len(self.codes) and bool((self.codes[1:] >= self.codes[:-1]).all()) else None)

    def __len__(self) -> int:
        return len(self.keys)

    def reduce(self, how: str, columns: list[np.ndarray]) -> list[np.ndarray]:
        """`how` ("sum", "mean", "min" or "max") per group of each float64 column (1-d, one value a row) as
        ``SeriesGroupBy.<how>()`` computes it: NaN skipped, NaN for a group without a value (0 for a sum)."""
        out: list[np.ndarray | None] = [None] * len(columns)
        kernel_columns = []
        for j, values in enumerate(columns):
            if self._starts is not None and not np.isnan(values).any():
                out[j] = self._reduceat(how, np.ascontiguousarray(values, dtype=np.float64))
            else:
                kernel_columns.append(j)
        if kernel_columns:
            block = np.empty((len(self.codes), len(kernel_columns)))
            for i, j in enumerate(kernel_columns):
                block[:, i] = columns[j]
            result = self._kernel(how, block)
            for i, j in enumerate(kernel_columns):
                out[j] = result[:, i]
        return out

    def _reduceat(self, how: str, values: np.ndarray) -> np.ndarray:
        """pandas' path for sorted groups and a column without NaN (`BaseGrouper._reduceat_aggregate`)."""
        seg = _REDUCEAT[how].reduceat(values, self._starts)
        return seg / self.sizes.astype(np.float64) if how == "mean" else seg

    def _kernel(self, how: str, values: np.ndarray) -> np.ndarray:
        """pandas' Cython kernel on a rows x columns block, through its public groupby on the block (one call
        for every column; the same values as per column: columns apart, tested)."""
        grouped = pd.DataFrame(values, copy=False).groupby(self.codes, sort=False)
        return getattr(grouped, how)().to_numpy(dtype=np.float64)

    def aggregate(self, columns: dict[str, np.ndarray],
                  functions: dict[str, tuple[str, ...]]) -> tuple[list[str], np.ndarray]:
        """(names ``<column>_<function>`` in `functions`' order, groups x names) of the float64 `columns`."""
        names = [f"{column}_{how}" for column, hows in functions.items() for how in hows]
        out = np.empty((len(self.keys), len(names)))
        place = {name: i for i, name in enumerate(names)}
        for how in FUNCTIONS:
            wanted = [column for column, hows in functions.items() if how in hows]
            for column, result in zip(wanted, self.reduce(how, [columns[c] for c in wanted]), strict=True):
                out[:, place[f"{column}_{how}"]] = result
        return names, out
