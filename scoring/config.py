"""Paths and per-deployment settings, in one place.

Paths are resolved from the project root so that every entry point works from any working
directory. What differs per deployment is one `pydantic-settings` object, `Settings`, whose fields
are the environment variables of the README (same names); it is read *when asked for*
(`settings()`), never at import time, so tests can set variables after importing. The getters
below (`model_dir()`, `log_path()`, ...) are what the packages call.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = PROJECT_ROOT / "datasets"
MODELS_DIR = PROJECT_ROOT / "models"
LOGS_DIR = PROJECT_ROOT / "logs"
DEFAULT_LOG_PATH = LOGS_DIR / "predictions.log"

# 0.0.0.0 so that the container's port mapping reaches the server; 7860 is Hugging Face's port.
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 7860

# Business cost of the two errors: a missed default (FN) costs about ten refused good clients (FP).
DEFAULT_COST_FN = 10.0
DEFAULT_COST_FP = 1.0

# Default size of the synthetic twin: keeps `python train.py` well under two minutes on 2 cores.
DEFAULT_SYNTHETIC_APPLICANTS = 30_000
DEFAULT_SEED = 42


# Seconds a record may wait in memory before the writer appends it: a `kill -9` loses at most this much.
DEFAULT_LOG_INTERVAL = 0.05
DEFAULT_LOG_MAX_AGE_DAYS = 30.0  # rotated files whose last record is older are deleted
DEFAULT_LOG_MAX_TOTAL_MB = 600.0  # the log and its rotated files together (50 MB x 11 files fit)
DEFAULT_CLUSTER_TIMEOUT = 30.0  # seconds (train.py / inference.py --cluster tcp://...)
LOG_SYNC_MODES = ("0", "1", "fsync")
# The feature store of known applicants (scoring/store.py), next to the model artifacts by default.
FEATURE_STORE_FILE = "feature_store.sqlite"
# Model lifecycle (promote.py, docs/lifecycle.md): decisions, replaced champions (for rollback) and the
# history of changes, beside the MLflow store; how often the service looks for a new model in its
# folders (a look is two stat() calls; 0: never, only on `POST /api/admin/reload` or SIGHUP).
DEFAULT_LIFECYCLE_DIR = PROJECT_ROOT / "mlruns" / "lifecycle"
DEFAULT_MODEL_WATCH_SECONDS = 2.0


class Settings(BaseSettings):
    """Every per-deployment setting, read from the environment (the variable is the field's name in
    capitals; an empty variable counts as unset)."""

    model_config = SettingsConfigDict(case_sensitive=False, env_ignore_empty=True, extra="ignore")

    model_dir: Path = Field(MODELS_DIR, description="MODEL_DIR: the model artifacts folder")
    feature_store: Path | None = Field(None, description="FEATURE_STORE: the feature store file "
                                                         "(default: feature_store.sqlite in the model folder)")
    log_path: Path = Field(DEFAULT_LOG_PATH, description="LOG_PATH: the prediction log")
    host: str = Field(DEFAULT_HOST, description="HOST: the interface the app listens on")
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, description="PORT: the app's port")
    # "0": a background writer (~50 ms in memory); "1": each call written before it is answered;
    # "fsync": written and fsync'd before it is answered.
    log_sync: Literal["0", "1", "fsync"] = Field("0", description="LOG_SYNC: " + " / ".join(LOG_SYNC_MODES))
    log_max_age_days: float = Field(DEFAULT_LOG_MAX_AGE_DAYS, gt=0, description="LOG_MAX_AGE_DAYS")
    log_max_total_mb: float = Field(DEFAULT_LOG_MAX_TOTAL_MB, gt=0, description="LOG_MAX_TOTAL_MB")
    replica_id: str | None = Field(None, description="REPLICA_ID: which replica wrote a log record (default: host)")
    lifecycle_dir: Path = Field(DEFAULT_LIFECYCLE_DIR, description="LIFECYCLE_DIR: promotion decisions, "
                                                                   "replaced champions and their history")
    challenger_dir: Path | None = Field(None, description="CHALLENGER_DIR: the challenger scored in the shadow "
                                                          "(default: <MODEL_DIR>-challenger)")
    # The share of calls the challenger also scores (1: all); the others' lines say `sampled_out`.
    shadow_share: float = Field(1.0, gt=0, le=1, allow_inf_nan=False,
                                description="SHADOW_SHARE: the share of calls scored in the shadow (0 < x <= 1)")
    model_watch_seconds: float = Field(DEFAULT_MODEL_WATCH_SECONDS, ge=0, allow_inf_nan=False,
                                       description="MODEL_WATCH_SECONDS: how often the service looks for a "
                                                   "promoted model (0: never)")
    # Abuse bounds (docs/security.md): the form's events per client, its queue, a request's read time.
    form_rate: float = Field(5.0, gt=0, description="FORM_RATE: form events a second per client (sustained)")
    form_rate_burst: float = Field(20.0, ge=1, description="FORM_RATE_BURST: form events at once per client")
    form_queue_max: int = Field(64, ge=1, description="FORM_QUEUE_MAX: form events waiting, all clients together")
    request_read_timeout: float = Field(10.0, gt=0, description="REQUEST_READ_TIMEOUT: seconds for a request's "
                                                                 "headers and body to arrive")
    # one answer ~5 KB: 4,096 answers ~20 MB (api.dossier_cache)
    dossier_cache: int = Field(4096, ge=0, description="DOSSIER_CACHE: stored applicants' answers kept in memory "
                                                       "(0: none)")
    # The key of a signed manifest.json (scoring.artifact_checks): a file outside the model folder, or the value.
    manifest_key_file: Path | None = Field(None, description="MANIFEST_KEY_FILE: the manifest's HMAC key, a file")
    manifest_key: SecretStr | None = Field(None, description="MANIFEST_KEY: the manifest's HMAC key")
    # Proxies (docs/security.md): forwarded headers (X-Forwarded-Host/-Proto/-For, Forwarded) are dropped
    # unless the peer is one of these; Gradio builds its links from them.
    trusted_proxies: str = Field("", description="TRUSTED_PROXIES: comma-separated addresses or networks of the "
                                                 "reverse proxies whose forwarded headers count (\"*\": any)")
    public_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/\S*)?$",
                                   description="PUBLIC_URL: the URL clients reach the app at (the form's links); "
                                               "default on a Hugging Face Space: https://$SPACE_HOST")
    space_host: str | None = Field(None, pattern=r"^[A-Za-z0-9.-]+$",
                                   description="SPACE_HOST: set by Hugging Face on a Space (its public host name)")
    # a remote scheduler on a busy network can take a while to answer
    cluster_timeout: float = Field(DEFAULT_CLUSTER_TIMEOUT, gt=0, description="CLUSTER_TIMEOUT: seconds to wait for "
                                   "a remote Dask scheduler and its first worker")

    @field_validator("log_sync", mode="before")
    @classmethod
    def _sync_word(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def settings() -> Settings:
    """The settings as the environment says now; a wrong value raises ValueError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first.get("loc") else "setting"
        raise ValueError(f"{name}={first.get('input')!r}: {first.get('msg')}") from None


def model_dir() -> Path:
    """Model artifacts folder: `MODEL_DIR` or `models/`."""
    return settings().model_dir


def feature_store_path(model_directory: str | Path | None = None) -> Path:
    """Feature store file: `FEATURE_STORE`, or `feature_store.sqlite` in `model_directory` (default `model_dir()`)."""
    given = settings().feature_store
    if given is not None:
        return given
    return Path(model_directory if model_directory is not None else model_dir()) / FEATURE_STORE_FILE


def log_path() -> Path:
    """Prediction log: `LOG_PATH` or `logs/predictions.log`."""
    return settings().log_path


def server_address() -> tuple[str, int]:
    """Host and port of the app: `HOST` / `PORT` or 0.0.0.0:7860."""
    current = settings()
    return current.host, current.port


def log_sync() -> str:
    """`LOG_SYNC`: "0" (default: a background writer, ~50 ms in memory), "1" (each call written before it is
    answered) or "fsync" (written and fsync'd before it is answered)."""
    return settings().log_sync


def cluster_timeout() -> float:
    """`CLUSTER_TIMEOUT`: seconds to wait for a remote Dask scheduler and for its first worker (default 30)."""
    return settings().cluster_timeout


def log_max_age_days() -> float:
    """`LOG_MAX_AGE_DAYS`: rotated log files whose last record is older are deleted (default 30)."""
    return settings().log_max_age_days


def log_max_total_mb() -> float:
    """`LOG_MAX_TOTAL_MB`: the log and its rotated files together stay under this size (default 600)."""
    return settings().log_max_total_mb


def replica_id() -> str:
    """`REPLICA_ID`, or the host name: which app replica wrote a log record."""
    return (settings().replica_id or socket.gethostname() or "replica")[:100]


def lifecycle_dir() -> Path:
    """`LIFECYCLE_DIR` or `mlruns/lifecycle/`."""
    return settings().lifecycle_dir


def challenger_dir(model_directory: str | Path | None = None) -> Path:
    """`CHALLENGER_DIR`, or `<model folder>-challenger` beside the serving folder: while it holds a model,
    the service scores every call with it too, in the shadow (`promote.py --challenger` puts one there)."""
    given = settings().challenger_dir
    if given is not None:
        return given
    serving = Path(model_directory if model_directory is not None else model_dir())
    return serving.parent / f"{serving.name}-challenger"


def shadow_share() -> float:
    """`SHADOW_SHARE` (default 1: every call is scored in the shadow)."""
    return settings().shadow_share


def public_url() -> str | None:
    """`PUBLIC_URL`, or on a Hugging Face Space `https://$SPACE_HOST`; None: links follow the request."""
    current = settings()
    if current.public_url:
        return current.public_url.rstrip("/")
    return f"https://{current.space_host}" if current.space_host else None


def model_watch_seconds() -> float:
    """`MODEL_WATCH_SECONDS` (default 2; 0 turns the watch off)."""
    return settings().model_watch_seconds
