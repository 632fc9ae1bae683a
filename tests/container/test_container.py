"""The real Dockerfile, built and run with ../shared/tools/container-check (buildah), from a folder
holding exactly the files the Hugging Face Space receives (`ship.txt`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from tests.container.test_ship import ship
from tests.helpers import PROJECT_ROOT, free_port

CONTAINER_CHECK = PROJECT_ROOT.parent / "shared" / "tools" / "container-check"

pytestmark = [pytest.mark.slow, pytest.mark.container]


@pytest.fixture(scope="module")
def container_tool():
    if not CONTAINER_CHECK.is_file():
        pytest.skip(f"{CONTAINER_CHECK} not found: the container can only be checked where that tool exists")
    if os.geteuid() != 0:
        pytest.skip("container-check needs root (buildah with chroot isolation)")
    return CONTAINER_CHECK


def test_image_builds_runs_and_serves(container_tool, tmp_path):
    space = tmp_path / "space"
    ship.copy(space)  # the build context is what the Space would hold, nothing else
    port = free_port()
    smoke = PROJECT_ROOT / "tests" / "container" / "smoke.py"
    then = (f"{shlex.quote(sys.executable)} {shlex.quote(str(smoke))} --port {port} "
            '--log-file "$CONTAINER_ROOT/app/logs/predictions.log"')
    result = subprocess.run(
        ["bash", str(container_tool), "--port", str(port), "--tag", f"credit-risk-api:test-{port}",
         "--then", then, str(space)],
        capture_output=True, text=True, timeout=1500,
    )
    report = result.stdout + result.stderr
    (tmp_path / "container-check.log").write_text(report)
    print(report)
    assert result.returncode == 0, report
    assert "GET /health -> 200" in report
    assert "POST /api/predict -> 200" in report
    assert "log line found" in report
