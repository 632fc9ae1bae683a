"""What ships: `ship.txt` is the one list of the image's files (Space upload, build context, .dockerignore).

The app must run from exactly those files: every project module it can import is in the list, and a
copy of the listed files alone serves the form and the API. The project installs with its commands.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, free_port, launched

PROJECT_PACKAGES = ("scoring", "serving", "api", "monitoring", "cluster")


def _ship():
    spec = importlib.util.spec_from_file_location("ship", PROJECT_ROOT / ".github" / "ship.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ship = _ship()


def _module_file(name: str, root: Path) -> Path | None:
    """The file of project module `name` under `root` (a package's __init__.py), or None."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, root: Path) -> set[str]:
    """Project modules that `path` imports anywhere (top level or inside functions), with their packages."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] in PROJECT_PACKAGES:
                parts = name.split(".")
                found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {name for name in found if _module_file(name, root) is not None}


def reachable_files(entry: Path, root: Path) -> set[str]:
    """Every project file reachable by imports from `entry`, as paths relative to `root`."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        relative = path.relative_to(root).as_posix()
        if relative in seen:
            continue
        seen.add(relative)
        todo += [_module_file(name, root) for name in _imported_modules(path, root)]
    return seen


def test_dockerignore_is_generated_from_the_ship_list():
    assert (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8") == ship.dockerignore()


def test_the_ship_list_holds_whole_packages_and_the_model():
    shipped = set(ship.files())
    tracked = subprocess.run(["git", "ls-files", "scoring", "serving", "api", "models"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    python = {name for name in tracked if name.endswith(".py")}
    assert python and python <= shipped  # sub-packages too (scoring/synthetic/)
    assert "scoring/synthetic/__init__.py" in shipped and "scoring/synthetic/risk.py" in shipped
    manifest = json.loads((PROJECT_ROOT / "models" / "manifest.json").read_text())
    assert {f"models/{name}" for name in manifest["files"]} <= shipped
    assert not any(name.startswith(("tests/", "datasets/", "logs/", "monitoring/")) for name in shipped)


def test_every_dockerfile_copy_source_is_shipped():
    shipped = set(ship.files())
    sources = []
    for line in (PROJECT_ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY"):
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            sources += words[:-1]
    assert sources
    for source in sources:
        prefix = source.rstrip("/") + "/"
        assert source in shipped or any(name.startswith(prefix) for name in shipped), source


def test_every_module_the_app_can_import_is_shipped():
    reachable = reachable_files(PROJECT_ROOT / "app_gradio.py", PROJECT_ROOT)
    assert {"api/app.py", "serving/predictor.py", "scoring/reference.py", "scoring/schema.py"} <= reachable
    assert reachable - set(ship.files()) == set()


def test_the_import_walk_sees_imports_inside_functions(tmp_path):
    (tmp_path / "scoring").mkdir()
    (tmp_path / "scoring" / "__init__.py").write_text("")
    (tmp_path / "scoring" / "late.py").write_text("")
    (tmp_path / "main.py").write_text("def f():\n    from scoring import late\n")
    assert reachable_files(tmp_path / "main.py", tmp_path) == {"main.py", "scoring/__init__.py", "scoring/late.py"}


@pytest.mark.slow
def test_the_shipped_files_alone_serve_the_app(tmp_path):
    """A copy of the ship list, on its own (the project's checkout out of sys.path), serves form and API."""
    space = tmp_path / "space"
    copied = ship.copy(space)
    assert set(copied) == set(ship.files())
    probe = "import importlib.util as u; print(u.find_spec('scoring'))"
    found = subprocess.run([sys.executable, "-E", "-s", "-c", probe], cwd="/", capture_output=True,
                           text=True).stdout.strip()
    if found != "None":
        pytest.skip(f"the project is importable from site-packages ({found}): a missing file would go unnoticed")
    port = free_port()
    env = {"MODEL_DIR": str(space / "models"), "LOG_PATH": str(tmp_path / "logs" / "predictions.log")}
    request = (PROJECT_ROOT / "tests" / "container" / "sample_request.json").read_bytes()
    with launched(["-E", "-s", "app_gradio.py", "--port", str(port), "--host", "127.0.0.1"],
                  f"http://127.0.0.1:{port}/health", env=env, cwd=space, log_file=tmp_path / "app.log"):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=request,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        assert resp.status == 200 and 0.0 <= answer["score"] <= 1.0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
            assert resp.status == 200 and b"gradio" in resp.read().lower()
    assert "Traceback" not in (tmp_path / "app.log").read_text(errors="replace")


def test_console_scripts_point_at_the_commands():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    assert {"credit-train", "credit-inference", "credit-app", "credit-analyse-logs", "credit-convert-to-onnx",
            "credit-quantize-onnx", "credit-profiling", "credit-synthetic"} <= set(scripts)
    modules = set(project["tool"]["setuptools"]["py-modules"])
    for target in scripts.values():
        module, function = target.split(":")
        if "." not in module:
            assert module in modules, module  # a root script, installed as a top-level module
        assert re.search(rf"^def {function}\(", (_module_file(module, PROJECT_ROOT)
                                                 or PROJECT_ROOT / f"{module}.py").read_text(), re.M), target


def test_the_data_files_the_app_reads_are_shipped():
    from scoring.synthetic.marginals import MARGINALS_FILE  # the twin behind the default feature store

    assert MARGINALS_FILE.relative_to(PROJECT_ROOT).as_posix() in set(ship.files())
