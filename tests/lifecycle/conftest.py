"""Fixtures of the lifecycle tests: features tables (train, shuffled targets, holdout) and a champion folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fixture_model import build_model_dir, make_frame


def write_features(path: Path, n: int, seed: int, *, shuffle: bool = False) -> Path:
    frame, target = make_frame(n, seed)
    if shuffle:  # a deliberately worse model: the targets no longer go with the applicants
        target = np.random.default_rng(seed).permutation(target)
    frame["TARGET"] = target
    frame.index.name = "SK_ID_CURR"
    frame.reset_index().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tables")
    return {"train": write_features(root / "train.csv", 3000, 1),
            "shuffled": write_features(root / "shuffled.csv", 3000, 1, shuffle=True),
            "holdout": write_features(root / "holdout.csv", 4000, 99)}


@pytest.fixture(scope="session")
def fixture_champion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A verified model folder (the committed champion's stand-in), never modified: copy it."""
    return build_model_dir(tmp_path_factory.mktemp("champion") / "models")
