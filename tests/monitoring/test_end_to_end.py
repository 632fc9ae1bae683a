"""The whole chain: the real app logs calls from the simulator; analyse_logs reads them back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scoring import config
from scoring.schema import SCORE_KEY
from tests.helpers import PROJECT_ROOT, free_port, launched

pytestmark = pytest.mark.slow


def test_stable_traffic_through_the_app_raises_no_drift(tmp_path):
    port = free_port()
    log = tmp_path / "logs" / "predictions.log"
    n = 800
    # FEATURE_STORE names an absent file: the app reports it and builds nothing next to the committed model.
    env = {"LOG_PATH": str(log), "MODEL_DIR": str(config.MODELS_DIR), "PORT": str(port), "HOST": "127.0.0.1",
           "FEATURE_STORE": str(tmp_path / "no-store.sqlite")}
    with launched(["app_gradio.py"], f"http://127.0.0.1:{port}/health", env=env, log_file=tmp_path / "app.log"):
        sent = subprocess.run(
            [sys.executable, "-m", "monitoring.simulate", "--url", f"http://127.0.0.1:{port}", "--n", str(n),
             "--max-seconds", "120", "--seed", "11", "--model-dir", str(config.MODELS_DIR)],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        )
        assert sent.returncode == 0, sent.stderr
    summary = json.loads(sent.stdout.strip().splitlines()[-1])
    assert summary["ok"] == n
    report_path = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "analyse_logs.py", "--log", str(log), "--model-dir", str(config.MODELS_DIR),
         "--json", str(report_path), "--quiet"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(report_path.read_text())
    assert report["stats"]["count"] == n and report["corrupt_lines"] == 0
    flagged = {name: d["status"] for name, d in report["drift"].items() if d["status"] in ("watch", "drift")}
    assert not flagged, flagged  # the score too: its reference is what the service computes
    assert report["drift"][SCORE_KEY]["status"] == "stable"
    assert not [a for a in report["alerts"] if a["kind"] in ("drift", "high_risk_share", "error_rate")]
