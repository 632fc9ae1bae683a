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


def log_path() -> Path:
    """Prediction log: `LOG_PATH` or `logs/predictions.log`."""
    return Path(os.environ.get("LOG_PATH") or DEFAULT_LOG_PATH)


def server_address() -> tuple[str, int]:
    """Host and port of the app: `HOST` / `PORT` or 0.0.0.0:7860."""
    return os.environ.get("HOST") or DEFAULT_HOST, int(os.environ.get("PORT") or DEFAULT_PORT)
