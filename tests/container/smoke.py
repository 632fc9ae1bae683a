"""Smoke checks run against a live container (by container-check's --then, or by hand).

usage: python tests/container/smoke.py [--port 7860] [--log-file PATH]
Checks GET /health, one POST /api/predict, the form at /, and (with --log-file) that the
call's request_id was written to the log file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

REQUEST = Path(__file__).with_name("sample_request.json")


def fetch(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--log-file", type=Path, help="the container's log file, seen from this machine")
    args = parser.parse_args(argv)
    base = f"http://127.0.0.1:{args.port}"
    status, body = fetch(f"{base}/health")
    print(f"GET /health -> {status} {body[:200].decode()}")
    status, body = fetch(f"{base}/api/predict", REQUEST.read_bytes())
    answer = json.loads(body)
    print(f"POST /api/predict -> {status} {json.dumps(answer, ensure_ascii=False)}")
    if status != 200 or not 0.0 <= answer["score"] <= 1.0 or not answer.get("request_id"):
        print("unexpected /api/predict answer", file=sys.stderr)
        return 1
    status, body = fetch(f"{base}/")
    print(f"GET / -> {status}, {len(body)} bytes")
    if status != 200 or b"gradio" not in body.lower():
        print("the form page does not look like a Gradio app", file=sys.stderr)
        return 1
    if args.log_file:
        deadline = time.monotonic() + 10  # the logger may write from a background thread
        while time.monotonic() < deadline:
            lines = args.log_file.read_text(encoding="utf-8").splitlines() if args.log_file.exists() else []
            mine = [json.loads(line) for line in lines if answer["request_id"] in line]
            if mine:
                print(f"log line found in {args.log_file}: status={mine[0]['status']}")
                return 0
            time.sleep(0.5)
        print(f"no log line with request_id {answer['request_id']} in {args.log_file}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
