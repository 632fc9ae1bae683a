"""profiling.py writes .prof files that pstats and snakeviz read, for the three paths."""

from __future__ import annotations

import pstats
import subprocess
import sys
from pathlib import Path

import pytest

import api.app
import profiling
from scoring import config
from tests.helpers import run_main


@pytest.fixture()
def fresh_service(model_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setattr(api.app, "_service", None)
    yield
    if api.app._service is not None:
        api.app._service.logger.close()


def _functions(stats: pstats.Stats) -> set[str]:
    return {name for (_, _, name) in stats.stats}  # type: ignore[attr-defined]


def test_profiles_of_the_three_paths(fresh_service, model_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "profiles"
    code = profiling.main(["--model-dir", str(model_dir), "--out-dir", str(out_dir), "--n", "40",
                           "--batch-rows", "300", "--top", "5"])
    assert code == 0
    printed = capsys.readouterr().out
    expected = {"predict": "predict_credit_score", "api": "predict", "batch": "score_file"}
    for name, function in expected.items():
        path = out_dir / f"profile_{name}.prof"
        stats = pstats.Stats(str(path))
        assert function in _functions(stats), name
        assert f"### {name}:" in printed and str(path) in printed
    assert "cumulative" in printed  # pstats' table, sorted by cumulative time
    api_stats = pstats.Stats(str(out_dir / "profile_api.prof"))
    files = {file for (file, _, _) in api_stats.stats}  # type: ignore[attr-defined]
    assert any(f.endswith("predictor.py") for f in files)  # the handler's work, not only the framework's
    assert any(f.endswith("logger.py") for f in files)  # logging was on during the calls ...
    assert not list(out_dir.glob("*.log"))  # ... into a temporary log: nothing a `logs/*.log` glob would merge

    snakeviz_stats = pytest.importorskip("snakeviz.stats")
    rows = snakeviz_stats.table_rows(stats)
    assert rows and snakeviz_stats.json_stats(stats)


def test_only_one_path(fresh_service, model_dir: Path, tmp_path: Path) -> None:
    assert profiling.main(["--model-dir", str(model_dir), "--out-dir", str(tmp_path), "--n", "5",
                           "--only", "predict"]) == 0
    assert [p.name for p in tmp_path.glob("*.prof")] == ["profile_predict.prof"]


def test_usage_errors(tmp_path: Path) -> None:
    run = [sys.executable, str(config.PROJECT_ROOT / "profiling.py")]
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "snakeviz" in helped.stdout and "--out-dir" in helped.stdout
    bad = run_main(profiling.main, "--n", "0")  # in process: the same checks, no start-up each
    assert bad.returncode == 2 and "--n" in bad.stderr
    wrong = run_main(profiling.main, "--only", "everything")
    assert wrong.returncode == 2
    missing = run_main(profiling.main, "--model-dir", str(tmp_path / "none"), "--only", "batch",
                       "--out-dir", str(tmp_path))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
