"""Alerts: each slow call, sustained latency, CPU/memory runs, error rate, high-risk share, drift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.alerts import (
    CPU_KIND,
    ERROR_RATE,
    HIGH_RISK_SHARE,
    LATENCY,
    LATENCY_TREND,
    MEMORY_KIND,
    Alert,
    AlertConfig,
    all_alerts,
    runs,
    slow_calls,
    sustained_over,
)
from monitoring.drift import DRIFT, WATCH, FeatureDrift, Onset
from monitoring.reader import LogData, empty_frame
from monitoring.records import CPU, DURATION, ERROR, FILE, HIGH_RISK, LINE, MEMORY, TIME


def frame_of(n: int, **columns) -> LogData:
    """n calls one second apart, 30 ms, 20 % CPU, 400 MB, low risk; `columns` overrides."""
    base = empty_frame().reindex(range(n))
    base[TIME] = pd.date_range("2026-11-26T08:00", periods=n, freq="1s", tz="UTC")
    base[FILE] = 0
    base[LINE] = np.arange(1, n + 1)
    base[DURATION] = 0.03
    base[CPU] = 20.0
    base[MEMORY] = 400.0
    base[HIGH_RISK] = 0.0
    base[ERROR] = False
    for name, values in columns.items():
        base[name] = values
    return LogData(frame=base, files=["logs/predictions.log"])


def dicts(alerts: list[Alert]) -> list[dict]:
    """The alerts as the report serialises them."""
    return [a.to_dict() for a in alerts]


def test_runs():
    assert runs(np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=bool)) == [(1, 2), (4, 4), (7, 7)]
    assert runs(np.zeros(4, dtype=bool)) == []
    assert runs(np.ones(3, dtype=bool)) == [(0, 2)]


def test_each_slow_call_is_reported_with_where_and_how_bad():
    durations = np.full(100, 0.03)
    durations[[5, 6, 70]] = [0.6, 2.5, 0.51]
    durations[40] = 0.5  # at the threshold: not slower than it
    alerts = dicts(slow_calls(frame_of(100, duration=durations)))
    assert [a["where"]["line"] for a in alerts] == [6, 7, 71]
    assert [a["value"] for a in alerts] == [0.6, 2.5, 0.51]
    assert all(a["kind"] == LATENCY and a["threshold"] == 0.5 for a in alerts)
    assert [a["severity"] for a in alerts] == ["warning", "critical", "warning"]
    assert alerts[0]["start"] == "2026-11-26T08:00:05+00:00"
    assert alerts[0]["where"]["file"] == "logs/predictions.log"


def test_slow_call_threshold_is_configurable():
    durations = np.full(10, 0.03)
    durations[3] = 0.3
    assert slow_calls(frame_of(10, duration=durations)) == []
    assert len(slow_calls(frame_of(10, duration=durations), AlertConfig(slow_call_s=0.2))) == 1


def test_cpu_needs_consecutive_calls_over_the_threshold():
    cpu = np.full(50, 20.0)
    cpu[[3, 4]] = 95.0  # two in a row: a blip
    cpu[20:26] = [91, 99, 97, 93, 96, 92]
    alerts = dicts(sustained_over(frame_of(50, cpu_percent=cpu), CPU, 90.0, CPU_KIND, "%"))
    assert len(alerts) == 1
    assert (alerts[0]["where"]["line"], alerts[0]["last"]["line"], alerts[0]["calls"]) == (21, 26, 6)
    assert alerts[0]["value"] == 99.0


def test_memory_alert():
    memory = np.full(40, 400.0)
    memory[10:15] = 1800.0
    alerts, counts = all_alerts(frame_of(40, memory_usage_MB=memory), {})
    alerts = dicts(alerts)
    assert counts == {MEMORY_KIND: 1}
    assert alerts[0]["severity"] == "critical" and alerts[0]["threshold"] == 1024.0


def test_sustained_latency_rise_is_one_alert():
    n = 3600  # one hour, one call a second: four 15-minute buckets
    durations = np.full(n, 0.03)
    durations[1800:2700] = 0.09  # the third quarter is three times slower, yet no call over 0.5 s
    alerts, counts = all_alerts(frame_of(n, duration=durations), {})
    alerts = dicts(alerts)
    assert counts == {LATENCY_TREND: 1}
    assert alerts[0]["where"]["line"] == 1801 and alerts[0]["last"]["line"] == 2700


def test_error_rate_alert():
    n = 1800
    errors = np.zeros(n, dtype=bool)
    errors[np.arange(0, 900, 100)] = True  # 1 % in the first half: fine
    errors[np.arange(900, 1800, 10)] = True  # 10 % in the second half
    alerts, counts = all_alerts(frame_of(n, error=errors), {})
    alerts = dicts(alerts)
    assert counts == {ERROR_RATE: 1}
    assert alerts[0]["where"]["line"] == 901 and alerts[0]["value"] == 0.1


def test_high_risk_share_shift_against_the_reference():
    n = 1800
    high = (np.random.default_rng(0).random(n) < 0.15).astype(float)
    assert all_alerts(frame_of(n, high_risk=high), {}, reference_high_risk_share=0.15)[1] == {}
    high[900:] = (np.random.default_rng(1).random(900) < 0.5).astype(float)
    alerts, counts = all_alerts(frame_of(n, high_risk=high), {}, reference_high_risk_share=0.15)
    alerts = dicts(alerts)
    assert counts == {HIGH_RISK_SHARE: 1} and alerts[0]["where"]["line"] == 901
    assert all_alerts(frame_of(n, high_risk=high), {})[1] == {}  # no threshold known: not judged


def test_drift_alert_names_the_feature():
    since = FeatureDrift(DRIFT, "continuous", n=15, psi=0.7, test="ks", p_value=1e-12)
    onset = Onset(5, "2026-11-26T08:00:05+00:00", {"file": "logs/predictions.log", "line": 6}, since)
    drift = {"EXT_SOURCE_2": FeatureDrift(DRIFT, "continuous", psi=0.6, test="ks", p_value=1e-9, onset=onset),
             "EXT_SOURCE_3": FeatureDrift(WATCH, "continuous", psi=0.15, test="ks", p_value=1e-3)}
    alerts, counts = all_alerts(frame_of(20), drift)
    alerts = dicts(alerts)
    assert counts == {"drift": 1}
    assert alerts[0]["feature"] == "EXT_SOURCE_2" and alerts[0]["where"]["line"] == 6


def test_quiet_log_has_no_alert_and_empty_log_is_fine():
    assert all_alerts(frame_of(500), {}, reference_high_risk_share=0.0) == ([], {})
    assert all_alerts(LogData(frame=empty_frame(), files=[]), {}) == ([], {})


def test_alerts_of_one_kind_are_capped_but_counted():
    durations = np.full(30, 0.9)
    alerts, counts = all_alerts(frame_of(30, duration=durations), {}, AlertConfig(max_per_kind=10))
    alerts = dicts(alerts)
    assert counts[LATENCY] == 30 and sum(a["kind"] == LATENCY for a in alerts) == 10
