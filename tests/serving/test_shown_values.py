"""`serving.reasons.shown_value`: a reason shows a float32 value with its 7 significant digits; the whole
numbers kept without formatting are exactly what the formatting gives."""

from __future__ import annotations

import math

import numpy as np

from serving.reasons import shown_value


def _formatted(v: float) -> float | None:
    return None if v != v else float(f"{v:.7g}")


def test_a_shown_value_is_its_seven_digits() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.uniform(-1, 1, 20_000), rng.uniform(0, 1e6, 20_000), rng.integers(-10**8, 10**8, 20_000),
        rng.integers(0, 100, 5_000), rng.normal(0, 1e9, 5_000), 10.0 ** rng.uniform(-12, 12, 5_000),
        [0.0, -0.0, 1.0, -1.0, 9_999_999.0, 10_000_000.0, -9_999_999.0, -10_000_000.0, 16_777_216.0, 0.5, 1e-45,
         3.4e38, math.inf, -math.inf, math.nan, 123_456.5, 99_999_995.0]]).astype(np.float32)
    for v in values.tolist():  # Python floats, as `values.item` gives them
        shown, expected = shown_value(v), _formatted(v)
        assert (shown is None and expected is None) or (shown == expected and math.copysign(1, shown)
                                                         == math.copysign(1, expected)), v
