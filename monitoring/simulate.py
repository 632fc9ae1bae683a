"""Realistic prediction traffic, written as log records or sent to a running app, with scripted incidents.

Applicants are drawn like the training population described by `reference.json`: continuous
features are resampled from the reference sample, binary ones follow the reference share of ones,
and one-hot groups (gender, education) get at most one 1. The score is model-free but consistent:
a Gaussian copula ties it to the three `EXT_SOURCE_*` (lower external scores, higher risk) and maps
it through the reference score distribution, so without incidents the live scores follow the
reference and a shifted `EXT_SOURCE_*` moves the scores as a model would.

usage: python -m monitoring.simulate --log PATH --n N [--seed S] [incident options]
       python -m monitoring.simulate --url http://127.0.0.1:7860 --n N [--max-seconds T]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from tqdm import tqdm

from scoring import config
from scoring.schema import (
    EXCLUSIVE_GROUPS,
    EXT_SOURCE_1,
    EXT_SOURCE_2,
    EXT_SOURCE_3,
    MANIFEST_FILE,
    STATUS_ERROR,
    STATUS_OK,
    UI_FEATURE_NAMES,
    UI_FEATURES_BY_NAME,
    LogRecord,
    label_for,
)

DEFAULT_THRESHOLD = 0.5  # used only when the model folder has no threshold.json
MAX_API_REQUESTS = 10_000  # hard bound of the API mode, whatever --n says
PROGRESS_FROM = 50_000  # show progress bars (stderr) from this many calls
SCORE_LINK = 0.6  # correlation between the external-score risk index and the score's latent value


@dataclass
class Incidents:
    """Scripted trouble. Positions are record indices (see `resolve_position` for times)."""

    drift: dict[str, float] = field(default_factory=dict)  # feature -> shift (continuous: in std; binary: of p1)
    drift_from: int = 0
    slow_calls: int = 0  # number of calls slower than 0.5 s, placed in bursts
    burst_size: int = 5
    slow_seconds: tuple[float, float] = (0.6, 3.0)
    latency_factor: float = 1.0  # every call from latency_from on is this many times slower
    latency_from: int = 0
    cpu_spikes: int = 0  # number of runs of `spike_length` calls at 92-100 % CPU
    memory_spikes: int = 0  # number of runs of `spike_length` calls with 1.2-1.6 GB more memory
    spike_length: int = 10
    error_rate: float = 0.0  # share of bad requests from errors_from on
    errors_from: int = 0


@dataclass
class Traffic:
    """Generated calls, and where the incidents landed (so tests can check each is reported)."""

    records: list[LogRecord]
    slow_rows: list[int]
    cpu_rows: list[int]
    memory_rows: list[int]
    error_rows: list[int]
    inputs: pd.DataFrame


# --- Drawing applicants ------------------------------------------------------------------------


def draw_features(reference: dict[str, Any], n: int, rng: np.random.Generator,
                  drift: dict[str, float] | None = None) -> pd.DataFrame:
    """`n` applicants' 11 UI features drawn from the reference distributions, optionally shifted."""
    features = reference["features"]
    drift = drift or {}
    unknown = sorted(set(drift) - set(UI_FEATURE_NAMES))
    if unknown:
        raise ValueError(f"cannot drift {', '.join(unknown)}: not a UI feature ({', '.join(UI_FEATURE_NAMES)})")
    out: dict[str, np.ndarray] = {}
    grouped = {name for group in EXCLUSIVE_GROUPS for name in group.options.values() if name}
    for group in EXCLUSIVE_GROUPS:
        members = [name for name in group.options.values() if name]
        p = np.array([_shifted_p1(features[m], drift.get(m, 0.0)) for m in members])
        if any(m in drift for m in members):  # the drifted member keeps its share; the others fill the rest
            fixed = np.array([m in drift for m in members])
            rest = max(0.0, 1.0 - p[fixed].sum())
            free = p[~fixed].sum()
            if free > 0:
                p[~fixed] *= min(1.0, rest / free)
        p = p / p.sum() if p.sum() > 1.0 else p
        choice = rng.choice(len(members) + 1, size=n, p=[*p, max(0.0, 1.0 - p.sum())])
        for j, m in enumerate(members):
            out[m] = (choice == j).astype(np.int64)
    for name in UI_FEATURE_NAMES:
        if name in grouped:
            continue
        entry = features[name]
        if entry["kind"] == "binary":
            out[name] = (rng.random(n) < _shifted_p1(entry, drift.get(name, 0.0))).astype(np.int64)
            continue
        sample = np.asarray(entry.get("sample") or [], dtype=float)
        if sample.size == 0:
            raise ValueError(f"reference.json: {name} has no sample to draw from")
        values = rng.choice(sample, size=n, replace=True)
        if drift.get(name):
            spread = float(entry.get("std") or np.std(sample)) or 1.0
            values = np.clip(values + drift[name] * spread, entry.get("min", -np.inf), entry.get("max", np.inf))
        out[name] = values
    return pd.DataFrame({name: out[name] for name in UI_FEATURE_NAMES})


def _shifted_p1(entry: dict[str, Any], shift: float) -> float:
    return float(np.clip(float(entry["p1"]) + shift, 0.0, 1.0))


def scores_for(reference: dict[str, Any], inputs: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Model-free scores that follow the reference score distribution and rise as EXT_SOURCE_* fall."""
    features = reference["features"]
    z = np.zeros(len(inputs))
    for name in (EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3):
        sample = np.sort(np.asarray(features[name]["sample"], dtype=float))
        lo = np.searchsorted(sample, inputs[name].to_numpy(), side="left")
        hi = np.searchsorted(sample, inputs[name].to_numpy(), side="right")
        u = np.clip((lo + hi) / 2 / sample.size, 0.5 / sample.size, 1 - 0.5 / sample.size)
        z += special.ndtri(u)
    latent = -SCORE_LINK * z / math.sqrt(3) + math.sqrt(1 - SCORE_LINK**2) * rng.standard_normal(len(inputs))
    score_sample = np.sort(np.asarray(features["score"]["sample"], dtype=float))
    return np.quantile(score_sample, special.ndtr(latent))


# --- Log mode ----------------------------------------------------------------------------------


def resolve_position(text: str | None, times: pd.DatetimeIndex) -> int:
    """A record index from an index ("500"), a fraction of the traffic ("0.5") or an ISO 8601 time."""
    if text is None or text == "":
        return 0
    try:
        value = float(text)
    except ValueError:
        moment = pd.Timestamp(text)
        moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
        return int(np.searchsorted(times.asi8, moment.value))
    if 0 < value < 1:
        return int(value * len(times))
    if value < 0 or value != int(value):
        raise ValueError(f"{text!r}: expected an index (>= 0), a fraction in (0, 1) or an ISO 8601 time")
    return int(value)


def timestamps(n: int, start: datetime, span: timedelta, rng: np.random.Generator) -> pd.DatetimeIndex:
    """Arrival times of `n` calls spread at random (a Poisson process) over `span` from `start`."""
    offsets = np.sort(rng.random(n)) * span.total_seconds()
    return pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(offsets, unit="s"))


def _runs_at(rng: np.random.Generator, n: int, count: int, length: int, taken: set[int]) -> list[int]:
    """Rows of `count` runs of `length` consecutive calls, not overlapping `taken` or each other."""
    rows: list[int] = []
    if count <= 0 or n < length:
        return rows
    for _ in range(count):
        for _attempt in range(100):
            start = int(rng.integers(0, n - length + 1))
            block = range(start, start + length)
            if not taken.intersection(range(start - 1, start + length + 1)):
                taken.update(block)
                rows.extend(block)
                break
    return sorted(rows)


def generate(reference: dict[str, Any], n: int, *, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
             incidents: Incidents | None = None, start: datetime | None = None,
             span: timedelta = timedelta(hours=2), model_version: str = "simulated") -> Traffic:
    """`n` log records of realistic traffic with the given incidents."""
    if n < 0:
        raise ValueError("n must be >= 0")
    inc = incidents or Incidents()
    rng = np.random.default_rng(seed)
    start = start or (datetime.now(UTC) - span)
    times = timestamps(n, start, span, rng)
    inputs = draw_features(reference, n, rng)
    if inc.drift and inc.drift_from < n:
        shifted = draw_features(reference, n - inc.drift_from, rng, inc.drift)
        inputs = pd.concat([inputs.iloc[: inc.drift_from], shifted], ignore_index=True)
    scores = scores_for(reference, inputs, rng)

    durations = rng.lognormal(math.log(0.035), 0.35, n)  # median 35 ms; P(> 0.5 s) ~ 1e-14
    durations[inc.latency_from:] *= inc.latency_factor
    cpu = np.clip(20 + 8 * rng.standard_normal(n), 1.0, 85.0)
    memory = np.clip(420 + np.cumsum(rng.normal(0, 0.3, n)) + rng.normal(0, 4, n), 300.0, 900.0)

    taken: set[int] = set()
    bursts = math.ceil(inc.slow_calls / max(1, inc.burst_size)) if inc.slow_calls else 0
    slow_rows = _runs_at(rng, n, bursts, min(inc.burst_size, inc.slow_calls), taken)[: inc.slow_calls]
    durations[slow_rows] = rng.uniform(*inc.slow_seconds, len(slow_rows))
    cpu_rows = _runs_at(rng, n, inc.cpu_spikes, inc.spike_length, taken)
    cpu[cpu_rows] = rng.uniform(92, 100, len(cpu_rows))
    memory_rows = _runs_at(rng, n, inc.memory_spikes, inc.spike_length, taken)
    memory[memory_rows] += rng.uniform(1200, 1600, len(memory_rows))
    failing = np.zeros(n, dtype=bool)
    failing[inc.errors_from:] = rng.random(max(0, n - inc.errors_from)) < inc.error_rate
    failing[sorted(taken)] = False  # keep incidents apart so each is reported as what it is
    error_rows = np.flatnonzero(failing).tolist()

    request_ids = [rng.bytes(8).hex() for _ in range(n)]
    stamps = times.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    rows = inputs.to_dict("records")
    records = []
    for i in tqdm(range(n), desc="simulating calls", unit="call", disable=n < PROGRESS_FROM, file=sys.stderr):
        given = {k: (int(v) if UI_FEATURES_BY_NAME[k].binary else round(float(v), 6)) for k, v in rows[i].items()}
        if failing[i]:
            bad = bad_request(given, rng)
            records.append(LogRecord(stamps[i], request_ids[i], bad[0], None, round(float(durations[i]) / 10, 6),
                                     round(float(cpu[i]), 1), round(float(memory[i]), 1), model_version,
                                     STATUS_ERROR, bad[1]))
            continue
        score = float(scores[i])
        records.append(LogRecord(stamps[i], request_ids[i], given,
                                 {"score": round(score, 6), "label": label_for(score, threshold)},
                                 round(float(durations[i]), 6), round(float(cpu[i]), 1), round(float(memory[i]), 1),
                                 model_version, STATUS_OK))
    return Traffic(records, slow_rows, cpu_rows, memory_rows, error_rows, inputs)


def bad_request(given: dict[str, Any], rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    """A rejected request: a feature missing, out of range, or not a number; and the API's message."""
    bad = dict(given)
    name = UI_FEATURE_NAMES[int(rng.integers(len(UI_FEATURE_NAMES)))]
    kind = int(rng.integers(3))
    feature = UI_FEATURES_BY_NAME[name]
    if kind == 0:
        del bad[name]
        return bad, f"{name}: field required"
    if kind == 1:
        bad[name] = feature.maximum * 3 + 1
        return bad, f"{name}: {bad[name]} is outside the allowed range"
    bad[name] = "abc"
    return bad, f"{name}: expected a number, got a string"


def write_log(path: Path, records: list[LogRecord], append: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        for record in tqdm(records, desc=f"writing {path.name}", unit="line", disable=len(records) < PROGRESS_FROM,
                           file=sys.stderr):
            fh.write(record.to_json())
            fh.write("\n")


# --- API mode ----------------------------------------------------------------------------------


def check_loopback(url: str) -> str:
    """The URL's host if it is a loopback address (or a name resolving only to loopback); else ValueError."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{url!r}: expected an http://host:port URL")
    host = parsed.hostname
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parsed.port or 80, proto=socket.IPPROTO_TCP)}
    except socket.gaierror as exc:
        raise ValueError(f"{host}: cannot resolve ({exc.strerror})") from exc
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ValueError(f"{host} is not a loopback address: the simulator only sends traffic to this machine "
                         "(127.0.0.1, ::1, localhost)")
    return host


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: only the checked loopback URL is ever called (a 3xx counts as failed)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def send_to_api(url: str, reference: dict[str, Any], n: int, *, seed: int = 0, drift: dict[str, float] | None = None,
                error_rate: float = 0.0, max_seconds: float = 60.0, rate: float | None = None,
                timeout: float = 10.0) -> dict[str, Any]:
    """POST `n` applicants (at most MAX_API_REQUESTS, stopping after `max_seconds`) to `url`/api/predict."""
    check_loopback(url)
    n = min(n, MAX_API_REQUESTS)
    rng = np.random.default_rng(seed)
    inputs = draw_features(reference, n, rng, drift)
    endpoint = url.rstrip("/") + "/api/predict"
    summary: dict[str, Any] = {"sent": 0, "ok": 0, "rejected": 0, "failed": 0, "statuses": {}, "latencies": []}
    started = time.monotonic()
    for row in inputs.to_dict("records"):
        if time.monotonic() - started > max_seconds:
            summary["stopped"] = f"time limit of {max_seconds} s reached"
            break
        payload = {k: (int(v) if UI_FEATURES_BY_NAME[k].binary else round(float(v), 6)) for k, v in row.items()}
        if rng.random() < error_rate:
            payload = bad_request(payload, rng)[0]
        request = urllib.request.Request(endpoint, data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        t0 = time.monotonic()
        try:
            with _OPENER.open(request, timeout=timeout) as resp:
                status = resp.status
                json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError, json.JSONDecodeError):
            status = 0
        summary["latencies"].append(time.monotonic() - t0)
        summary["sent"] += 1
        summary["statuses"][str(status)] = summary["statuses"].get(str(status), 0) + 1
        summary["ok" if status == 200 else "rejected" if 400 <= status < 500 else "failed"] += 1
        if rate:
            time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - t0)))
    lat = summary.pop("latencies")
    summary["mean_latency_s"] = float(np.mean(lat)) if lat else None
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


# --- CLI ---------------------------------------------------------------------------------------


def _drift_spec(text: str) -> tuple[str, float]:
    name, _, amount = text.rpartition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected FEATURE=SHIFT, e.g. EXT_SOURCE_2=-1.0")
    if name not in UI_FEATURE_NAMES:
        raise argparse.ArgumentTypeError(f"{name!r} is not one of the UI features: {', '.join(UI_FEATURE_NAMES)}")
    try:
        return name, float(amount)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: SHIFT must be a number") from None


def _duration(text: str) -> timedelta:
    try:
        delta = pd.Timedelta(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration such as 2h, 30min, 1d") from None
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive duration")
    return delta.to_pytimedelta()


def _start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an ISO 8601 time, e.g. 2026-11-26T08:00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.simulate",
        description="Write realistic prediction log records (or send requests to a running app on this machine), "
                    "with optional scripted incidents. Without incident options: normal traffic only.")
    parser.add_argument("--log", type=Path, help="log file to write (default: LOG_PATH or logs/predictions.log)")
    parser.add_argument("--n", type=int, required=True,
                        help=f"number of calls (with --url: at most {MAX_API_REQUESTS})")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same traffic (0)")
    parser.add_argument("--model-dir", type=Path, help="folder with reference.json (default: MODEL_DIR or models/)")
    parser.add_argument("--overwrite", action="store_true", help="replace the log instead of appending to it")
    parser.add_argument("--start", type=_start,
                        help="start of the time span, ISO 8601, UTC when no offset (default: now minus --span)")
    parser.add_argument("--span", type=_duration, default=timedelta(hours=2), help="time the calls spread over (2h)")
    group = parser.add_argument_group("incidents (positions: record index, fraction like 0.5, or ISO time)")
    group.add_argument("--drift", type=_drift_spec, action="append", default=[], metavar="FEATURE=SHIFT",
                       help="shift a feature: continuous by SHIFT standard deviations, binary by SHIFT on the share "
                            "of ones (repeatable)")
    group.add_argument("--drift-from", default="0", help="where the drift starts (default: from the first call)")
    group.add_argument("--slow-calls", type=int, default=0, help="number of calls slower than 0.5 s")
    group.add_argument("--burst-size", type=int, default=5, help="slow calls come in bursts of this many (5)")
    group.add_argument("--latency-factor", type=float, default=1.0, help="slow every call down by this factor ...")
    group.add_argument("--latency-from", default="0", help="... from this position")
    group.add_argument("--cpu-spikes", type=int, default=0, help="number of CPU spikes (92-100 %%)")
    group.add_argument("--memory-spikes", type=int, default=0, help="number of memory spikes (+1.2-1.6 GB)")
    group.add_argument("--spike-length", type=int, default=10, help="calls per CPU/memory spike (10)")
    group.add_argument("--error-rate", type=float, default=0.0, help="share of bad requests (status error) ...")
    group.add_argument("--errors-from", default="0", help="... from this position")
    api = parser.add_argument_group("API mode (instead of writing the log)")
    api.add_argument("--url", help="send requests to this running app, loopback only (http://127.0.0.1:7860)")
    api.add_argument("--max-seconds", type=float, default=60.0, help="stop sending after this long (60)")
    api.add_argument("--rate", type=float, help="requests per second (default: as fast as answered)")
    return parser


def _model_version(model_dir: Path) -> str:
    try:
        return str(json.loads((model_dir / MANIFEST_FILE).read_text())["model_version"])
    except (OSError, ValueError, KeyError, TypeError):
        return "simulated"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from monitoring.report import ContextError, load_context

    if args.n < 0:
        parser.error("--n must be >= 0")
    if not 0.0 <= args.error_rate <= 1.0:
        parser.error("--error-rate must be in [0, 1]")
    model_dir = args.model_dir or config.model_dir()
    try:
        context = load_context(model_dir)
    except ContextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    drift = dict(args.drift)
    if args.url:
        if args.slow_calls or args.cpu_spikes or args.memory_spikes or args.latency_factor != 1.0:
            parser.error("slow calls, latency and CPU/memory spikes happen in the server: not available with --url")
        try:
            summary = send_to_api(args.url, context.reference, args.n, seed=args.seed, drift=drift,
                                  error_rate=args.error_rate, max_seconds=args.max_seconds, rate=args.rate)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(summary))
        return 0 if summary["failed"] == 0 else 1
    threshold = context.threshold if context.threshold is not None else DEFAULT_THRESHOLD
    if context.threshold is None:
        print(f"note: no threshold.json in {model_dir}, labelling with threshold {DEFAULT_THRESHOLD}", file=sys.stderr)
    log = args.log or config.log_path()
    start = args.start or (datetime.now(UTC) - args.span)
    times = timestamps(args.n, start, args.span, np.random.default_rng(args.seed))
    try:
        incidents = Incidents(drift=drift, drift_from=resolve_position(args.drift_from, times),
                              slow_calls=args.slow_calls, burst_size=args.burst_size,
                              latency_factor=args.latency_factor,
                              latency_from=resolve_position(args.latency_from, times), cpu_spikes=args.cpu_spikes,
                              memory_spikes=args.memory_spikes, spike_length=args.spike_length,
                              error_rate=args.error_rate, errors_from=resolve_position(args.errors_from, times))
        traffic = generate(context.reference, args.n, seed=args.seed, threshold=threshold, incidents=incidents,
                           start=start, span=args.span, model_version=_model_version(model_dir))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        write_log(log, traffic.records, append=not args.overwrite)
    except OSError as exc:
        print(f"error: cannot write {log}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(traffic.records)} records to {log} ({times[0] if len(times) else '-'} → "
          f"{times[-1] if len(times) else '-'}): {len(traffic.slow_rows)} slow calls, "
          f"{len(traffic.cpu_rows)} calls in CPU spikes, {len(traffic.memory_rows)} in memory spikes, "
          f"{len(traffic.error_rows)} bad requests" + (f", drift of {', '.join(drift)} from record "
                                                       f"{incidents.drift_from}" if drift else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
