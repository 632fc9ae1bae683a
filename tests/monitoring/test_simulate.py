"""The simulator's traffic, and the detectors on it: no false alarm, each incident reported where it is."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from monitoring import api_traffic, simulate
from monitoring.context import load_context
from monitoring.drift import DRIFT, STABLE
from monitoring.reader import read_log
from monitoring.report import build_report
from monitoring.traffic import generate
from scoring.schema import (
    DOCUMENT_3,
    EXCLUSIVE_GROUPS,
    EXT_SOURCE_3,
    LABEL_HIGH_RISK,
    SCORE_KEY,
    STATUS_ERROR,
    UI_FEATURE_NAMES,
)
from tests.monitoring.conftest import START, THRESHOLD, simulated_log

SEEDS = range(20)


def analyse(path, model_dir):
    return build_report(read_log(path), load_context(model_dir))


def test_records_look_like_the_reference(reference):
    traffic = generate(reference, 4000, seed=1, threshold=THRESHOLD, start=START)
    inputs = traffic.inputs
    for group in EXCLUSIVE_GROUPS:
        members = [m for m in group.options.values() if m]
        assert inputs[members].sum(axis=1).max() <= 1
    for name in UI_FEATURE_NAMES:
        entry = reference["features"][name]
        if entry["kind"] == "binary":
            assert inputs[name].mean() == pytest.approx(entry["p1"], abs=0.03), name
        else:
            assert inputs[name].between(entry["min"], entry["max"]).all(), name
    scores = np.array([r.prediction["score"] for r in traffic.records])
    labels = [r.prediction["label"] for r in traffic.records]
    assert ((scores >= THRESHOLD) == [label == LABEL_HIGH_RISK for label in labels]).all()
    assert [r.prediction["decision"] for r in traffic.records] == (scores >= THRESHOLD).astype(int).tolist()
    times = [r.timestamp for r in traffic.records]
    assert times == sorted(times)
    assert times[0] >= START.isoformat() and times[-1] < (START + timedelta(hours=2)).isoformat()
    assert len({r.request_id for r in traffic.records}) == 4000
    assert traffic.slow_rows == traffic.cpu_rows == traffic.memory_rows == traffic.error_rows == []


def test_score_follows_the_external_scores(reference):
    traffic = generate(reference, 3000, seed=2, threshold=THRESHOLD, start=START)
    scores = np.array([r.prediction["score"] for r in traffic.records])
    ext = traffic.inputs[["EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"]].mean(axis=1).to_numpy()
    assert np.corrcoef(ext, scores)[0, 1] < -0.3


def test_same_seed_same_log(tmp_path, reference):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    simulated_log(a, reference, 200, seed=7, slow_calls=3)
    simulated_log(b, reference, 200, seed=7, slow_calls=3)
    assert a.read_bytes() == b.read_bytes()


def test_stable_traffic_raises_no_alarm_over_20_seeds(tmp_path, model_dir, reference):
    """False-alarm rate: share of seeds whose stable log gets any drift flag (watch or drift) or any alert."""
    flagged = []
    for seed in SEEDS:
        log = tmp_path / f"stable-{seed}.log"
        simulated_log(log, reference, 1000, seed=100 + seed)
        report = analyse(log, model_dir)
        if report["alerts"] or any(r["status"] != STABLE for r in report["drift"].values()):
            flagged.append(seed)
    rate = len(flagged) / len(SEEDS)
    print(f"false-alarm rate over {len(SEEDS)} seeds of 1000 calls: {rate:.0%} (seeds {flagged})")
    assert rate <= 0.05


@pytest.mark.parametrize("feature,shift", [(EXT_SOURCE_3, -1.0), (DOCUMENT_3, -0.35)])
def test_a_shift_in_one_feature_is_flagged_on_it_alone(tmp_path, model_dir, reference, feature, shift):
    log = tmp_path / "drift.log"
    simulated_log(log, reference, 1500, seed=3, drift={feature: shift}, drift_from=300)
    report = analyse(log, model_dir)
    assert report["drift"][feature]["status"] == DRIFT
    others = {k: v["status"] for k, v in report["drift"].items() if k not in (feature, SCORE_KEY)}
    assert set(others.values()) == {STABLE}, others
    if feature == DOCUMENT_3:  # the simulated score does not depend on it
        assert report["drift"][SCORE_KEY]["status"] == STABLE
    drift_alerts = [a for a in report["alerts"] if a["kind"] == "drift"]
    assert [a["feature"] for a in drift_alerts] == [feature]
    # The onset is found near where the drift was injected (segments of 200 calls).
    assert 200 <= drift_alerts[0]["where"]["line"] <= 600


def test_injected_slow_calls_are_each_reported(tmp_path, model_dir, reference):
    log = tmp_path / "slow.log"
    traffic = simulated_log(log, reference, 1500, seed=4, slow_calls=12, burst_size=4)
    assert len(traffic.slow_rows) == 12
    report = analyse(log, model_dir)
    reported = sorted(a["where"]["line"] for a in report["alerts"] if a["kind"] == "latency")
    assert reported == [row + 1 for row in traffic.slow_rows]
    assert {a["kind"] for a in report["alerts"]} == {"latency"}


def test_cpu_memory_and_error_incidents_are_reported(tmp_path, model_dir, reference):
    log = tmp_path / "incidents.log"
    traffic = simulated_log(log, reference, 2000, seed=5, cpu_spikes=2, memory_spikes=1, spike_length=8,
                            error_rate=0.3, errors_from=1500)
    report = analyse(log, model_dir)
    by_kind: dict[str, list] = {}
    for alert in report["alerts"]:
        by_kind.setdefault(alert["kind"], []).append(alert)
    assert sorted(a["where"]["line"] - 1 for a in by_kind["cpu"]) == traffic.cpu_rows[::8]
    assert [a["where"]["line"] - 1 for a in by_kind["memory"]] == traffic.memory_rows[::8]
    assert len(by_kind["error_rate"]) >= 1
    assert by_kind["error_rate"][0]["where"]["line"] - 1 >= 1400  # the bucket holding call 1500 or later
    assert all(e >= 1500 for e in traffic.error_rows)
    assert report["stats"]["errors"] == len(traffic.error_rows)
    assert set(by_kind) == {"cpu", "memory", "error_rate"}


def test_cli_writes_records(tmp_path, model_dir, capsys):
    log = tmp_path / "cli.log"
    rc = simulate.main(["--log", str(log), "--n", "300", "--seed", "1", "--model-dir", str(model_dir),
                        "--start", "2026-11-26T08:00:00", "--span", "1h", "--slow-calls", "2", "--error-rate", "0.1",
                        "--errors-from", "2026-11-26T08:30:00"])
    assert rc == 0
    assert "wrote 300 records" in capsys.readouterr().out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 300
    errors = [r for r in records if r["status"] == STATUS_ERROR]
    assert errors and all(r["timestamp"] >= "2026-11-26T08:30" and r["prediction"] is None for r in errors)
    assert sum(r["duration"] > 0.5 for r in records) == 2
    assert simulate.main(["--log", str(log), "--n", "10", "--model-dir", str(model_dir)]) == 0
    assert len(log.read_text().splitlines()) == 310  # appends unless --overwrite


def test_cli_refuses_bad_options(tmp_path, model_dir, capsys, caplog):
    with pytest.raises(SystemExit):
        simulate.main(["--log", str(tmp_path / "x.log"), "--n", "10", "--drift", "AGE=1"])
    assert "not one of the UI features" in capsys.readouterr().err
    assert simulate.main(["--log", str(tmp_path / "x.log"), "--n", "10", "--model-dir", str(tmp_path / "none")]) == 2
    assert "not found" in caplog.text


@pytest.mark.parametrize("url", ["http://192.0.2.10:7860", "http://example.invalid:80", "ftp://127.0.0.1/"])
def test_api_mode_refuses_non_loopback_hosts(url):
    with pytest.raises(ValueError):
        api_traffic.check_loopback(url)


class _Recorder(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - the name http.server calls
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        missing = [n for n in UI_FEATURE_NAMES if not isinstance(body.get(n), int | float)]
        status, answer = (422, {"detail": f"{missing[0]}: invalid"}) if missing else (200, {"score": 0.1})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_api_mode_posts_applicants_to_a_loopback_server(reference):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.received = []
    try:
        url = f"http://localhost:{server.server_address[1]}"
        summary = api_traffic.send_to_api(url, reference, 40, seed=1, error_rate=0.25, max_seconds=20)
    finally:
        server.shutdown()
        server.server_close()
    assert summary["sent"] == 40 == len(_Recorder.received)
    assert {path for path, _ in _Recorder.received} == {"/api/predict"}
    assert summary["ok"] + summary["rejected"] == 40 and summary["rejected"] > 0 and summary["failed"] == 0
    complete = [body for _, body in _Recorder.received
                if all(isinstance(body.get(n), int | float) for n in UI_FEATURE_NAMES)]
    assert len(complete) == summary["ok"]


def test_api_mode_is_bounded_in_time(reference):
    summary = api_traffic.send_to_api("http://127.0.0.1:9", reference, 5, max_seconds=0.0)
    assert summary["sent"] == 0 and "time limit" in summary["stopped"]


def test_a_late_drift_is_found_from_its_onset(tmp_path, model_dir, reference):
    """Drift in the last 30 % of the log: diluted over the window, clear from where it started."""
    log = tmp_path / "late.log"
    simulated_log(log, reference, 2000, seed=8, drift={EXT_SOURCE_3: -1.0}, drift_from=1400)
    report = analyse(log, model_dir)
    result = report["drift"][EXT_SOURCE_3]
    assert result["psi"] < result["since_onset"]["psi"]
    assert result["since_onset"]["status"] == DRIFT
    assert 1300 <= result["onset_row"] <= 1500
    alert = next(a for a in report["alerts"] if a["kind"] == "drift")
    assert alert["feature"] == EXT_SOURCE_3 and alert["where"]["line"] == result["onset_row"] + 1


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_POST(self):  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(302)  # urllib follows a 302 after a POST (as a GET) unless told not to
        self.send_header("Location", type(self).target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class _Elsewhere(_Recorder):
    def do_GET(self):  # noqa: N802
        type(self).received.append((self.path, None))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def test_api_mode_never_follows_a_redirect(reference):
    """A redirect could send the traffic to any host: the simulator counts it as failed and goes nowhere."""
    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), _Elsewhere)
    redirector = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    _Elsewhere.received = []
    _Redirector.target = f"http://127.0.0.1:{elsewhere.server_address[1]}/elsewhere"
    servers = [elsewhere, redirector]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        summary = api_traffic.send_to_api(f"http://127.0.0.1:{redirector.server_address[1]}", reference, 5,
                                       max_seconds=20)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert _Elsewhere.received == []
    assert summary["sent"] == 5 and summary["statuses"] == {"302": 5} and summary["failed"] == 5
