"""Simulated applicants sent to a running app on this machine (`POST /api/predict`), loopback only."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import numpy as np

from monitoring.applicants import draw_features
from monitoring.traffic import bad_request
from scoring.schema import UI_FEATURES_BY_NAME

MAX_API_REQUESTS = 10_000  # hard bound of the API mode, whatever --n says


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
