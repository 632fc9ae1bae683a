"""quantize_onnx.py: measures each variant on the parity rows; writes a file only when it flips nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import quantize_onnx
import scoring.onnx_quantize as onnx_quantize
from scoring.schema import MANIFEST_FILE, ONNX_FILE
from serving.predictor import Predictor


@pytest.fixture()
def copied(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "copy"))


def _table(out: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


def test_the_report_and_no_file_when_nothing_qualifies(copied: Path, capsys: pytest.CaptureFixture[str],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    assert quantize_onnx.main(["--model-dir", str(copied), "--rows", "1000"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    hint = "Please consider to run pre-processing"  # ONNX Runtime's advice for neural networks: not shown
    assert hint not in captured.err and hint not in out and not any(hint in r.getMessage() for r in caplog.records)
    table = _table(out)
    assert set(table) == {"original (float32)", "ort-dynamic-int8", "float16-thresholds-and-leaves",
                          "float16-leaves", "ort-static"}
    assert table["ort-dynamic-int8"][0] == "no" and "tree node unchanged" in table["ort-dynamic-int8"][-1]
    assert "tree ops among them: none" in table["ort-static"][-1]
    flips = int(table["float16-thresholds-and-leaves"][5].split("/")[0].replace(",", ""))
    assert flips > 0  # amounts past float16's range become infinite: decisions change
    assert "no quantised file written" in out
    assert not (copied / onnx_quantize.QUANTISED_FILE).exists()


def test_a_variant_that_keeps_every_decision_and_is_smaller_is_written(copied: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    def slimmer(model):  # same trees, shorter node name and no producer: smaller, identical scores
        import onnx

        out = onnx.ModelProto()
        out.CopyFrom(model)
        onnx_quantize._tree_node(out).name = "t"
        out.producer_name = ""
        return out, "test variant"

    monkeypatch.setattr(onnx_quantize, "_ort_dynamic", slimmer)
    assert quantize_onnx.main(["--model-dir", str(copied), "--rows", "1000"]) == 0
    assert "wrote" in capsys.readouterr().out
    written = copied / onnx_quantize.QUANTISED_FILE
    assert written.is_file() and written.stat().st_size < (copied / ONNX_FILE).stat().st_size
    manifest = json.loads((copied / MANIFEST_FILE).read_text())
    assert manifest["derived"][onnx_quantize.QUANTISED_FILE]["variant"] == "ort-dynamic-int8"
    assert Predictor.from_dir(copied, row_backend="onnxruntime").backends["row"] == "onnxruntime"  # checksums agree


def test_without_a_verified_export_it_says_what_to_run(copied: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((copied / MANIFEST_FILE).read_text())
    del manifest["files"][ONNX_FILE], manifest["derived"]
    (copied / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert quantize_onnx.main(["--model-dir", str(copied)]) == 2
    assert "convert_to_onnx.py" in capsys.readouterr().err
    assert quantize_onnx.main(["--model-dir", str(tmp_path / "none")]) == 2
