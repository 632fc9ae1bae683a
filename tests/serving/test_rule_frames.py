"""The batch's frame checks take a float frame (built features) as one block: the same verdicts, flags and
model rows as column by column (a features file read as text goes that way)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.reference import served_matrix
from serving.rules import Rules


@pytest.fixture(scope="module")
def frames(predictor):
    """A float frame of the model's columns with impossible, out-of-range, grouped and missing values, and
    the same values as text (object columns)."""
    rng = np.random.default_rng(3)
    names = list(predictor.features)
    values = rng.normal(0, 2, (40, len(names)))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[rng.random(values.shape) < 0.2] = 1.0  # sets exclusive options together
    values[5, :] = np.inf
    values[7, :] = -1e9
    floats = pd.DataFrame(values, columns=names)
    return floats, floats.astype(object)


@pytest.fixture(scope="module")
def predictor():
    from scoring import config
    from serving.predictor import Predictor

    return Predictor.from_dir(config.MODELS_DIR)


def test_check_frame_and_flags_of_a_float_frame_equal_the_column_path(frames, predictor):
    rules = Rules.compile(predictor.features, predictor.artifacts.reference.get("ranges", {}))
    floats, text = frames
    fast, slow = rules.check_frame(floats), rules.check_frame(text)
    assert fast == slow and sum(map(len, fast)) > 40  # refusals, groups and all
    assert any(v.feature.count(",") for row in fast for v in row)  # an exclusive group among them
    assert rules.out_of_range_frame(floats) == rules.out_of_range_frame(text)
    assert any(rules.out_of_range_frame(floats))


def test_served_matrix_of_floats_equals_the_column_path(frames, predictor):
    floats, text = frames
    subset = floats.iloc[:, ::3]  # absent columns come from the template
    fast = served_matrix(predictor.template[0], predictor.index, subset)
    slow = served_matrix(predictor.template[0], predictor.index, text.iloc[:, ::3])
    assert fast.dtype == np.float32 and np.array_equal(fast, slow, equal_nan=True)
