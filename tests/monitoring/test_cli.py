"""analyse_logs.py and `python -m monitoring.simulate`: exit codes and outputs. Reports, environment defaults and
the simulator run as real processes; the option and input errors call `analyse_logs.main(argv)` in the test's
process (the same parser and checks, without a process start-up each)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import analyse_logs
from tests.helpers import PROJECT_ROOT, run_main
from tests.monitoring.conftest import simulated_log


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.fixture(scope="module")
def logs(tmp_path_factory, reference):
    folder = tmp_path_factory.mktemp("logs")
    simulated_log(folder / "stable.log", reference, 1000, seed=11)
    simulated_log(folder / "slow.log", reference, 1000, seed=12, slow_calls=3, burst_size=3)
    return folder


def test_no_alert_exits_0(logs, model_dir, tmp_path):
    out = tmp_path / "report.json"
    result = run("analyse_logs.py", "--log", str(logs / "stable.log"), "--model-dir", str(model_dir),
                 "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "Appels : 1\u202f000" in result.stdout and "Alertes : 0 — aucune" in result.stdout
    latency = next(line for line in result.stdout.splitlines() if line.startswith("Latence"))
    assert latency.startswith("Latence (ms) : moyenne ") and " p50 0,00 " not in latency  # fast calls, in ms
    report = json.loads(out.read_text())
    assert {"stats", "drift", "alerts", "corrupt_lines"} <= set(report)
    assert report["stats"]["count"] == 1000 and report["alerts"] == [] and report["corrupt_lines"] == 0
    assert {"p50", "p95", "p99", "mean", "min", "max"} <= set(report["stats"]["latency_s"])
    assert "score" in report["drift"] and report["drift"]["score"]["status"] in ("stable", "watch", "drift")
    assert all(isinstance(v["psi"], float) for v in report["drift"].values())


def test_alerts_exit_1_with_json_and_html(logs, model_dir, tmp_path):
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    log = logs / "slow.log"
    with open(log, "a") as fh:
        fh.write('{"timestamp": "2026-11-26T09:59:59+00:00", "dur')  # a truncated last line
    result = run("analyse_logs.py", "--log", str(log), "--model-dir", str(model_dir),
                 "--json", str(out), "--html", str(page))
    assert result.returncode == 1, result.stderr
    report = json.loads(out.read_text())
    slow = [a for a in report["alerts"] if a["kind"] == "latency"]
    assert len(slow) == 3 and report["corrupt_lines"] == 1
    assert all(a["where"]["file"] == str(log) and a["where"]["line"] >= 1 and a["value"] > 0.5 for a in slow)
    assert "slow.log:" in result.stdout and "lignes rejetées (hors de toute statistique) : 1" in result.stdout
    html = page.read_text()
    assert html.startswith("<!doctype html>") and html.count('src="data:image/png;base64,') == 2
    assert "<script" not in html and "http" not in html.replace(str(log), "")  # self-contained


def test_time_window_and_thresholds(logs, model_dir, tmp_path):
    out = tmp_path / "r.json"
    result = run_main(analyse_logs.main, "--log", str(logs / "stable.log"), "--model-dir", str(model_dir),
                      "--since", "2026-11-26T08:30:00", "--until", "2026-11-26T09:00:00Z", "--slow-call", "0.05",
                      "--json", str(out), "--quiet")
    assert result.returncode == 1 and result.stdout == ""
    report = json.loads(out.read_text())
    assert 0 < report["stats"]["count"] < 400
    assert report["stats"]["first"] >= "2026-11-26T08:30" and report["stats"]["last"] < "2026-11-26T09:00"
    assert report["alert_counts"]["latency"] == sum(1 for a in report["alerts"] if a["kind"] == "latency") > 0


@pytest.mark.parametrize("args,message", [
    (["--log", "{tmp}/absent.log"], "no log at"),
    (["--model-dir", "{tmp}/no-model"], "model folder"),
    (["--since", "last tuesday"], "neither an ISO 8601 time"),
    (["--window", "fortnightly"], "--window"),
    (["--json", "{tmp}/missing-folder/r.json"], "ERROR:"),
    (["--no-such-option"], "unrecognized arguments"),
    (["--psi-watch", "0.3", "--psi-drift", "0.2"], "--psi-watch < --psi-drift"),
])
def test_usage_and_io_errors_exit_2(logs, model_dir, tmp_path, args, message):
    base = ["--log", str(logs / "stable.log"), "--model-dir", str(model_dir)]
    result = run_main(analyse_logs.main, *base, *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert message in result.stderr


def test_bad_reference_exits_2(logs, tmp_path):
    (tmp_path / "reference.json").write_text("{not json")
    result = run_main(analyse_logs.main, "--log", str(logs / "stable.log"), "--model-dir", str(tmp_path))
    assert result.returncode == 2 and "reference.json cannot be read as JSON" in result.stderr


def test_env_defaults_and_help(logs, model_dir):
    env = {"PATH": "/usr/bin:/bin", "LOG_PATH": str(logs / "stable.log"), "MODEL_DIR": str(model_dir)}
    result = run("analyse_logs.py", env=env)
    assert result.returncode == 0 and "Appels : 1\u202f000" in result.stdout
    help_text = run("analyse_logs.py", "--help").stdout
    assert "--since" in help_text and "Exit code" in help_text


def test_simulator_then_analyser(tmp_path, model_dir):
    log = tmp_path / "predictions.log"
    sim = run("-m", "monitoring.simulate", "--log", str(log), "--n", "800", "--seed", "3", "--model-dir",
              str(model_dir), "--memory-spikes", "1", "--drift", "EXT_SOURCE_1=-1.5")
    assert sim.returncode == 0, sim.stderr
    assert "wrote 800 records" in sim.stdout
    out = tmp_path / "r.json"
    result = run("analyse_logs.py", "--log", str(log), "--model-dir", str(model_dir), "--json", str(out))
    assert result.returncode == 1
    kinds = {(a["kind"], a.get("feature")) for a in json.loads(out.read_text())["alerts"]}
    assert ("memory", None) in kinds and ("drift", "EXT_SOURCE_1") in kinds
