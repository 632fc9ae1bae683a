"""The hostile suite: each test is an attack of issue 19 that the service must survive or refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scoring.artifacts import sha256_of
from scoring.config import MODELS_DIR
from scoring.schema import MANIFEST_FILE


@pytest.fixture()
def model_copy(tmp_path: Path) -> Path:
    """A copy of the committed model folder, free to tamper with."""
    return Path(shutil.copytree(MODELS_DIR, tmp_path / "models"))


def rehash(folder: Path, *names: str) -> None:
    """Re-hash `names` in the manifest, as an attacker who can write the folder would."""
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    for name in names:
        manifest["files"][name] = sha256_of(folder / name)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


# Shared fixtures: the committed model and the fixture model come from tests/conftest.py; their stores and
# the dossier service from the api tests' conftest.
from tests.api.conftest import (  # noqa: E402,F401
    app_url,
    committed_store,
    dossier_service,
    fixture_store,
    twin_store_tables,
)
