"""`scoring.group_agg.Groups` gives pandas' ``groupby(sort=False).agg`` to the bit: interleaved or sorted groups
(pandas sums these two in different ways), columns with and without NaN, infinities, magnitudes where the
order of the additions shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.group_agg import Groups

FUNCTIONS = {"a": ("sum", "mean", "min", "max"), "b": ("mean", "sum"), "c": ("max", "min"), "d": ("mean",)}


def _frame(seed: int, rows: int, sort: bool, nan_in: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    keys = rng.integers(10**5, 10**5 + rows // 4 + 1, rows)
    if sort:
        keys = np.sort(keys)
    scale = rng.choice([1e-3, 1.0, 1e7, 1e12], (rows, 4))
    values = rng.normal(0, 1, (rows, 4)) * scale + rng.integers(0, 10**6, (rows, 1))
    frame = pd.DataFrame(values, columns=list("abcd"))
    for column in nan_in:
        frame.loc[rng.random(rows) < 0.3, column] = np.nan
    if rows > 5:
        frame.loc[3, "c"] = np.inf
        frame.loc[5, "a"] = -np.inf
    frame.insert(0, "k", keys)
    return frame


def _pandas(frame: pd.DataFrame) -> pd.DataFrame:
    result = frame.groupby("k", sort=False).agg({c: list(f) for c, f in FUNCTIONS.items()})
    result.columns = [f"{c}_{f}" for c, f in result.columns]
    return result


@pytest.mark.parametrize("sort", [False, True], ids=["interleaved", "sorted"])
@pytest.mark.parametrize("nan_in", ["", "b", "abcd"])
@pytest.mark.parametrize("rows", [1, 7, 2_000])
def test_groups_equal_pandas_to_the_bit(sort, nan_in, rows):
    frame = _frame(rows + len(nan_in), rows, sort, nan_in)
    groups = Groups(frame["k"].to_numpy())
    names, values = groups.aggregate({c: frame[c].to_numpy() for c in FUNCTIONS}, FUNCTIONS)
    expected = _pandas(frame)
    assert names == list(expected.columns) and groups.keys.tolist() == expected.index.tolist()
    assert np.array_equal(values.view(np.int64), expected.to_numpy().view(np.int64))  # NaN and -0.0 included
    assert groups.sizes.tolist() == frame.groupby("k", sort=False).size().tolist()


def test_the_two_summations_differ_so_the_choice_matters():
    """Sorted groups without NaN are summed by numpy (reduceat), others by pandas' compensated kernel: on
    these values the two disagree in the last bit, and `Groups` follows pandas in both cases."""
    values = np.array([71325.7, 204696.2, 45086.2, 150533.9, 127115.9, 385282.9, 205078.2, 287137.7])
    keys = np.zeros(len(values), dtype=np.int64)
    sorted_sum = Groups(keys).reduce("sum", [values])[0][0]
    with_nan = Groups(np.r_[keys, 0]).reduce("sum", [np.r_[values, np.nan]])[0][0]
    assert sorted_sum != with_nan
    assert sorted_sum == pd.Series(values).groupby(keys).sum().iloc[0]
    assert with_nan == pd.Series(np.r_[values, np.nan]).groupby(np.r_[keys, 0]).sum().iloc[0]


def test_empty_and_missing_keys():
    groups = Groups(np.empty(0, dtype=np.int64))
    names, values = groups.aggregate({"a": np.empty(0)}, {"a": ("sum", "mean")})
    assert len(groups) == 0 and values.shape == (0, 2) and names == ["a_sum", "a_mean"]
    with pytest.raises(ValueError, match="missing"):
        Groups(np.array([1.0, np.nan]))
