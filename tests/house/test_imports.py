"""The house's rules on imports: the import-linter contracts of pyproject.toml, no circle between
modules (imports inside functions count), and few imports of project modules inside functions."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("scoring", "serving", "api", "monitoring", "cluster", "lifecycle")
# Imports of project modules inside a function, each with the measured reason it stays there.
ALLOWED_INNER_IMPORTS = {
    ("api/app.py", "api.ui"),  # Gradio (about 2 s) only when the form is mounted
    ("analyse_logs.py", "monitoring.html"),  # matplotlib only when an HTML page is asked for
    ("inference.py", "cluster.ClusterError"), ("inference.py", "cluster.batch"),  # Dask only with --cluster
    ("train.py", "cluster.training"),  # Dask only with --cluster
    ("serving/backends.py", "scoring.onnx_export"),  # ONNX Runtime only when numba is missing
    ("promote.py", "lifecycle.cli"),  # `--check` runs in the deploy job before any install: standard library only
    ("cluster/__init__.py", "scoring.features"),  # run on a worker: the check that it can import the project
    ("scoring/store_build.py", "scoring.synthetic"),  # the twin's generator (pyarrow) only when a store is built
}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (requirements-dev.txt)")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.lower().replace("0 broken", "")


def test_no_module_circle() -> None:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_planted_circle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _inner_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module in PACKAGES:
                names = [f"{node.module}.{a.name}" for a in node.names]  # `from scoring import data`
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                names = []
            found |= {n for n in names if n.split(".")[0] in PACKAGES}
    return found


def test_imports_inside_functions_are_the_few_with_a_reason() -> None:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")] + list(ROOT.glob("*.py"))
    inner = {(p.relative_to(ROOT).as_posix(), m) for p in files for m in _inner_imports(p)}
    assert inner <= ALLOWED_INNER_IMPORTS, sorted(inner - ALLOWED_INNER_IMPORTS)


def test_no_package_imports_an_entry_point() -> None:
    entry_points = {p.stem for p in ROOT.glob("*.py")}
    pattern = re.compile(rf"^\s*(?:from|import)\s+({'|'.join(sorted(entry_points))})\b", re.M)
    offenders = [p.relative_to(ROOT).as_posix() for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
