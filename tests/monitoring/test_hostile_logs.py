"""Reports that never mislead: corrupt logs, wrong types, lines out of order, huge lines, one drift verdict,
and the logs of several replicas merged."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import timedelta

import pytest

from monitoring.drift import DRIFT
from monitoring.reader import read_log
from monitoring.records import TIME
from monitoring.report import analyse
from scoring.schema import EXT_SOURCE_3, LABEL_LOW_RISK, UI_FEATURE_NAMES
from tests.helpers import PROJECT_ROOT
from tests.monitoring.conftest import START, simulated_log

INPUT = {name: 0.5 if "EXT" in name else 1 for name in UI_FEATURE_NAMES}


def line(i: int, **changes) -> str:
    fields = dict(timestamp=(START + timedelta(seconds=i)).isoformat(), request_id=f"r{i}", input=INPUT,
                  prediction={"score": 0.2, "label": LABEL_LOW_RISK}, duration=0.01, cpu_percent=10.0,
                  memory_usage_MB=400.0, model_version="v1")
    record = fields | changes
    return json.dumps({k: v for k, v in record.items() if v is not None or k == "prediction"}, separators=(",", ":"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "analyse_logs.py", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)


def test_a_log_of_corrupt_lines_only_alerts(tmp_path, model_dir):
    log = tmp_path / "p.log"
    log.write_text("".join(f'{{"timestamp": "2026-11-26T10:00:{i:02d}", "dur\n' for i in range(30)) + "garbage\n")
    out = tmp_path / "r.json"
    result = run("--log", str(log), "--model-dir", str(model_dir), "--json", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["stats"]["count"] == 0 and report["corrupt_lines"] == 31
    [alert] = report["alerts"]
    assert alert["kind"] == "corrupt_lines" and alert["severity"] == "critical" and alert["where"]["line"] == 1
    assert "corrupt_lines" in result.stdout


def test_one_cut_line_in_a_long_log_is_counted_without_an_alert(tmp_path, model_dir):
    log = tmp_path / "p.log"
    log.write_text("".join(line(i) + "\n" for i in range(300)) + '{"timestamp": "2026')
    report, data, _ = analyse(log, model_dir)
    assert data.corrupt_lines == 1 and not [a for a in report["alerts"] if a["kind"] == "corrupt_lines"]


@pytest.mark.parametrize("bad", [
    {"duration": True}, {"duration": -5}, {"duration": "0.5"}, {"duration": None}, {"duration": 1e308 * 10},
    {"cpu_percent": False}, {"cpu_percent": -1.0}, {"memory_usage_MB": "400"},
    {"timestamp": "0001-01-01T00:00:00+00:00"}, {"timestamp": "9999-12-31T00:00:00+00:00"},
    {"prediction": {"score": True, "label": LABEL_LOW_RISK}}, {"prediction": {"score": 7.0, "label": LABEL_LOW_RISK}},
], ids=lambda bad: json.dumps(bad))
def test_wrong_types_and_implausible_values_are_corrupt_not_coerced(tmp_path, model_dir, bad):
    log = tmp_path / "p.log"
    lines = [line(i) for i in range(50)]
    record = json.loads(lines[10]) | {k: (v if v != 1e308 * 10 else "INF") for k, v in bad.items()}
    text = json.dumps(record).replace('"INF"', "1e999")  # a number JSON reads as infinity
    lines[10] = text
    log.write_text("\n".join(lines) + "\n")
    data = read_log(log)
    assert data.corrupt_lines == 1 and data.n == 49
    assert data.corrupt_examples[0]["line"] == 11 and data.corrupt_examples[0]["reason"]
    report, _, _ = analyse(log, model_dir)
    assert report["stats"]["latency_s"]["min"] >= 0 and report["stats"]["latency_s"]["max"] == pytest.approx(0.01)
    assert not [a for a in report["alerts"] if a["kind"] == "latency"]


def test_lines_out_of_order_give_one_cpu_alert_in_time_order(tmp_path, model_dir):
    lines = [line(i, cpu_percent=95.0 if 50 <= i < 250 else 10.0) for i in range(300)]
    random.Random(3).shuffle(lines)
    log = tmp_path / "p.log"
    log.write_text("\n".join(lines) + "\n")
    report, data, _ = analyse(log, model_dir)
    assert data.frame[TIME].is_monotonic_increasing
    cpu = [a for a in report["alerts"] if a["kind"] == "cpu"]
    assert len(cpu) == 1 and cpu[0]["calls"] == 200
    assert cpu[0]["start"] == (START + timedelta(seconds=50)).isoformat()
    assert all(a["end"] >= a["start"] for a in report["alerts"])


_PEAK = """
import resource, sys
from monitoring.reader import read_log
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = read_log(sys.argv[1])
print(data.n, data.corrupt_lines, data.corrupt_examples[0]["reason"],
      (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.parametrize(("megabytes", "terminated"), [(50, True), (50, False), (3, True)],
                         ids=["inside", "last-line", "3-MB-inside-a-block"])
def test_a_50_mb_line_is_corrupt_and_never_held_whole(tmp_path, megabytes, terminated):
    log = tmp_path / "p.log"
    with open(log, "w") as fh:
        fh.write("".join(line(i) + "\n" for i in range(100)))
        fh.write('{"timestamp":"2026-11-26T08:10:00+00:00","input":{"note":"' + "x" * (megabytes << 20) + '"}}')
        if terminated:
            fh.write("\n" + "".join(line(i) + "\n" for i in range(100, 200)))
    result = subprocess.run([sys.executable, "-c", _PEAK, str(log)], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    words = result.stdout.split()
    n, corrupt, grown_mb = int(words[0]), int(words[1]), int(words[-1])
    assert n == (200 if terminated else 100) and corrupt == 1 and "longer than" in result.stdout
    assert grown_mb < 150, f"reading a log with a 50 MB line grew the process by {grown_mb} MB"


def test_the_drift_verdict_and_the_drift_alerts_agree(tmp_path, model_dir, reference):
    """A drift that began late is a "watch" over the window and a "drift" since its onset: one verdict."""
    log = tmp_path / "late.log"
    simulated_log(log, reference, 2000, seed=8, drift={EXT_SOURCE_3: -1.0}, drift_from=1400)
    report, _, _ = analyse(log, model_dir)
    alerted = {a["feature"] for a in report["alerts"] if a["kind"] == "drift"}
    verdict = report["drift_verdict"]
    assert EXT_SOURCE_3 in alerted and report["drift"][EXT_SOURCE_3]["status"] != DRIFT
    assert verdict["status"] == DRIFT
    assert set(verdict["drifted"]) | ({"score"} if verdict["score"] == DRIFT else set()) == alerted


def test_logs_of_several_replicas_are_merged_in_time_order_with_figures_per_replica(tmp_path, model_dir):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.log").write_text("".join(line(i, replica="a", duration=0.01) + "\n" for i in range(0, 600, 2)))
    (folder / "b.log.1").write_text("".join(line(i, replica="b", duration=0.03) + "\n" for i in range(1, 301, 2)))
    (folder / "b.log").write_text("".join(line(i, replica="b", duration=0.03, status="error", prediction=None)
                                          + "\n" for i in range(301, 600, 2)))
    (folder / "old.log").write_text(line(600) + "\n")  # written before records named their replica
    (folder / "b.log.lock").write_text("")
    out = tmp_path / "r.json"
    result = run("--log", str(folder / "*.log"), "--model-dir", str(model_dir), "--json", str(out))
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(out.read_text())
    assert report["stats"]["count"] == 601 and report["corrupt_lines"] == 0
    assert sorted(report["log"]["files"]) == sorted(str(folder / n) for n in ("a.log", "b.log.1", "b.log", "old.log"))
    replicas = report["stats"]["replicas"]
    assert set(replicas) == {"a", "b", "unknown"}
    assert replicas["a"]["count"] == 300 and replicas["a"]["errors"] == 0
    assert replicas["b"]["count"] == 300 and replicas["b"]["errors"] == 150 and replicas["b"]["error_rate"] == 0.5
    assert replicas["a"]["latency_s"]["p50"] == pytest.approx(0.01) and replicas["b"]["latency_s"]["p50"] == 0.03
    assert "Instances : 3" in result.stdout
    data = read_log([folder / "a.log", str(folder / "b.log")])
    assert data.frame[TIME].is_monotonic_increasing and data.n == 600
    assert list(data.frame["replica"].iloc[:4]) == ["a", "b", "a", "b"]


def test_a_glob_that_matches_nothing_is_a_usage_error(tmp_path, model_dir):
    result = run("--log", str(tmp_path / "*.log"), "--model-dir", str(model_dir))
    assert result.returncode == 2 and "no log matches" in result.stderr


def test_rejected_lines_are_listed_in_line_order(tmp_path, reference):
    """Garbage, a cut line and wrong-typed records are found by different passes of the block reader; the
    report lists the examples by line all the same (they came out 18, 1, 2, ...)."""
    simulated_log(tmp_path / "good.log", reference, 5)
    good = (tmp_path / "good.log").read_text().splitlines(keepends=True)
    lines = ["garbage\n", good[0], '{"timestamp": "x", "status": "ok", "input": [1]}\n', "\x00\xff\n", good[1],
             '{"timestamp": "2026-11-26T10:00:00", "dur\n', "[1, 2]\n"]
    log = tmp_path / "p.log"
    log.write_text("".join(lines), encoding="utf-8", errors="surrogateescape")
    data = read_log(log)
    numbers = [e["line"] for e in data.corrupt_examples]
    assert data.corrupt_lines == 5 and len(data.frame) == 2
    assert numbers == sorted(numbers) == [1, 3, 4, 6, 7]
