"""Schemathesis with `--checks all` against the launched app with access control on (issue 19): 0
failures, and every documented route but /health refuses a call without an identity (its
`ignored_auth` check). The same run with access control off is tests/api/test_surfaces.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import PROJECT_ROOT, free_port, launched

TOKEN = "st-token-0123456789"
EXE = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))


@pytest.fixture(scope="module")
def guarded_app(model_dir: Path, fixture_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("guarded")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MODEL_DIR": str(model_dir), "LOG_PATH": str(logs / "predictions.log"), "HOST": "127.0.0.1",
           "PORT": str(port), "HF_HUB_OFFLINE": "1", "FEATURE_STORE": str(fixture_store),
           "API_TOKENS": f"schemathesis:{TOKEN}", "FORM_USERS": "conseiller:motdepasse"}
    with launched(["app_gradio.py"], f"{url}/health", env=env, log_file=logs / "server.out"):
        yield url


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(EXE), reason="schemathesis not installed (requirements-dev.txt)")
def test_schemathesis_finds_no_failure_with_access_control_on(guarded_app: str, tmp_path: Path) -> None:
    url = guarded_app
    assert httpx.get(f"{url}/openapi.json").status_code == 401  # the schema itself is behind the policy
    doc = httpx.get(f"{url}/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert "bearer" in doc["components"]["securitySchemes"]
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(doc))
    env = os.environ | {"SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"}  # no hook: no failure is dropped
    run = subprocess.run([EXE, "--config-file", str(PROJECT_ROOT / "tests/api/schemathesis.toml"), "run",
                          str(schema), "--url", url, "-H", f"Authorization: Bearer {TOKEN}", "--checks", "all",
                          "--max-examples", "20", "--seed", "1"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=600)
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", run.stdout).groups())
    assert generated == passed >= 100, summary
    operations = sum(len(methods) for methods in doc["paths"].values())
    assert f"Selected: {operations}/{operations}" in run.stdout
    print(f"Schemathesis (access control on): {generated} cases, 0 failures")
