"""Paths and per-deployment settings, in one place.

Paths are resolved from the project root so that every entry point works from any working
directory. What differs per deployment is read from the environment *when asked for*, never at
import time, so tests can set variables after importing.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def model_dir() -> Path:
    """Model artifacts folder: `MODEL_DIR` or `models/`."""
    return Path(os.environ.get("MODEL_DIR") or MODELS_DIR)


# The feature store of known applicants (scoring/store.py), next to the model artifacts by default.
FEATURE_STORE_FILE = "feature_store.sqlite"


def feature_store_path(model_directory: str | Path | None = None) -> Path:
    """Feature store file: `FEATURE_STORE`, or `feature_store.sqlite` in `model_directory` (default `model_dir()`)."""
    given = os.environ.get("FEATURE_STORE")
    if given:
        return Path(given)
    return Path(model_directory if model_directory is not None else model_dir()) / FEATURE_STORE_FILE


def log_path() -> Path:
    """Prediction log: `LOG_PATH` or `logs/predictions.log`."""
    return Path(os.environ.get("LOG_PATH") or DEFAULT_LOG_PATH)


def server_address() -> tuple[str, int]:
    """Host and port of the app: `HOST` / `PORT` or 0.0.0.0:7860."""
    return os.environ.get("HOST") or DEFAULT_HOST, int(os.environ.get("PORT") or DEFAULT_PORT)


# --- Prediction log (api/logger.py; see the README's "Prediction log" section) ------------------

# Seconds a record may wait in memory before the writer appends it: a `kill -9` loses at most this much.
DEFAULT_LOG_INTERVAL = 0.05
DEFAULT_LOG_MAX_AGE_DAYS = 30.0  # rotated files whose last record is older are deleted
DEFAULT_LOG_MAX_TOTAL_MB = 600.0  # the log and its rotated files together (50 MB x 11 files fit)
LOG_SYNC_MODES = ("0", "1", "fsync")


def log_sync() -> str:
    """`LOG_SYNC`: "0" (default: a background writer, ~50 ms in memory), "1" (each call written before it is
    answered) or "fsync" (written and fsync'd before it is answered)."""
    value = (os.environ.get("LOG_SYNC") or "0").strip().lower()
    if value not in LOG_SYNC_MODES:
        raise ValueError(f"LOG_SYNC={value!r}: expected one of {', '.join(LOG_SYNC_MODES)}")
    return value


def _positive(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a positive number") from None
    if not value > 0:
        raise ValueError(f"{name}={text!r}: expected a positive number")
    return value


def log_max_age_days() -> float:
    """`LOG_MAX_AGE_DAYS`: rotated log files whose last record is older are deleted (default 30)."""
    return _positive("LOG_MAX_AGE_DAYS", DEFAULT_LOG_MAX_AGE_DAYS)


def log_max_total_mb() -> float:
    """`LOG_MAX_TOTAL_MB`: the log and its rotated files together stay under this size (default 600)."""
    return _positive("LOG_MAX_TOTAL_MB", DEFAULT_LOG_MAX_TOTAL_MB)


def replica_id() -> str:
    """`REPLICA_ID`, or the host name: which app replica wrote a log record."""
    import socket

    return (os.environ.get("REPLICA_ID") or socket.gethostname() or "replica")[:100]
