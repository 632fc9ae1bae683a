"""One settings object (pydantic-settings) behind every per-deployment setting; the environment
names of the README stay, read when asked for, and a wrong value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring import config


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODEL_DIR", "LOG_PATH", "HOST", "PORT", "LOG_SYNC", "FEATURE_STORE", "REPLICA_ID"):
        monkeypatch.delenv(name, raising=False)
    assert config.model_dir() == config.MODELS_DIR
    assert config.log_path() == config.DEFAULT_LOG_PATH
    assert config.server_address() == (config.DEFAULT_HOST, config.DEFAULT_PORT)
    assert config.log_sync() == "0"
    assert config.feature_store_path(Path("m")) == Path("m") / config.FEATURE_STORE_FILE


def test_environment_names_are_read_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("LOG_PATH", str(tmp_path / "p.log"))
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("LOG_SYNC", " FSYNC ")
    monkeypatch.setenv("FEATURE_STORE", str(tmp_path / "s.sqlite"))
    monkeypatch.setenv("REPLICA_ID", "replica-7")
    assert config.model_dir() == tmp_path / "m"
    assert config.log_path() == tmp_path / "p.log"
    assert config.server_address()[1] == 8123
    assert config.log_sync() == "fsync"
    assert config.feature_store_path() == tmp_path / "s.sqlite"
    assert config.replica_id() == "replica-7"
    monkeypatch.setenv("MODEL_DIR", "")  # empty counts as unset
    assert config.model_dir() == config.MODELS_DIR


@pytest.mark.parametrize(("name", "value"), [("LOG_SYNC", "sometimes"), ("PORT", "99999"), ("PORT", "http"),
                                             ("LOG_MAX_AGE_DAYS", "-1"), ("LOG_MAX_TOTAL_MB", "lots")])
def test_a_wrong_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=rf"^{name}="):
        config.settings()
