"""The documentation's examples and model figures are those of the committed model in `models/`.

A retrained model changes its version, threshold and figures: these tests then fail until the pages
follow (the figures are read from `models/metrics.json`, `threshold.json`, `features.txt` and
`manifest.json`, the version recomputed the way the loader does).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from scoring import config, schema
from scoring.artifacts import model_version_of
from serving.predictor import Predictor

VERSION_PATTERNS = (
    re.compile(r'"model_version":\s*"([0-9a-f]+)"'),
    re.compile(r"version `([0-9a-f]{8,})`"),
)


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    folder = config.MODELS_DIR
    if not (folder / schema.MANIFEST_FILE).is_file():
        pytest.skip(f"no committed model in {folder} (run `python train.py`)")
    manifest = json.loads((folder / schema.MANIFEST_FILE).read_text(encoding="utf-8"))
    features = [line for line in (folder / schema.FEATURES_FILE).read_text(encoding="utf-8").splitlines() if line]
    threshold = json.loads((folder / schema.THRESHOLD_FILE).read_text(encoding="utf-8"))
    metrics = json.loads((folder / schema.METRICS_FILE).read_text(encoding="utf-8"))
    return {
        "version": model_version_of(manifest["files"][schema.MODEL_FILE], features, threshold),
        "manifest": manifest,
        "features": features,
        "threshold": threshold,
        "metrics": metrics,
    }


def _json_blocks(text: str) -> list[dict[str, Any]]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def _example_request(text: str) -> dict[str, Any]:
    """The body of the page's first `curl … /api/predict … -d '{…}'` example."""
    match = re.search(r"curl [^\n]*/api/predict [^\n]*-d '(\{.*?\})'", text, re.S)
    assert match, "no curl example of POST /api/predict"
    return json.loads(match.group(1))


def test_the_manifest_version_is_the_one_derived_from_the_files(model):
    assert model["manifest"]["model_version"] == model["version"]


def test_every_model_version_in_the_docs_is_the_committed_one(pages, model):
    found = {(name, version) for name, text in pages.items()
             for pattern in VERSION_PATTERNS for version in pattern.findall(text)}
    assert found, "no page names the model version"
    assert {version for _, version in found} == {model["version"]}, sorted(found)


def test_the_example_answer_is_the_committed_models(pages, model):
    answers = [doc for doc in _json_blocks(pages["docs/api.md"]) if "score" in doc and "reasons" in doc]
    assert len(answers) == 1
    answer = answers[0]
    reasons = answer["reasons"]
    assert answer["model_version"] == model["version"]
    assert answer["threshold"] == model["threshold"]["threshold"]
    assert answer["label"] == schema.label_for(answer["score"], answer["threshold"])
    listed = len(reasons["up"]) + len(reasons["down"])
    unlisted = reasons["unlisted"]["features"] if reasons["unlisted"] else 0
    sent = [k for k in _example_request(pages["docs/api.md"]) if k in model["features"]]  # gender: recorded only
    assert listed + unlisted == len(sent)
    assert listed + unlisted + reasons["rest"]["features"] == len(model["features"])
    points = sum(r["contribution_points"] for r in reasons["up"] + reasons["down"])
    points += reasons["rest"]["contribution_points"] + (reasons["unlisted"] or {}).get("contribution_points", 0)
    assert reasons["base_score"] + points / 100 == pytest.approx(answer["score"], abs=1e-5)


def test_the_example_request_scores_as_documented(pages, model):
    """The committed model, asked the documented question, gives the documented answer."""
    text = pages["docs/api.md"]
    answer = next(doc for doc in _json_blocks(text) if "score" in doc and "reasons" in doc)
    predictor = Predictor.from_dir(config.MODELS_DIR)
    result = predictor.predict({k: v for k, v in _example_request(text).items() if k in predictor.index})
    assert result.model_version == answer["model_version"]
    assert result.score == pytest.approx(answer["score"], abs=1e-6)
    for side, got in (("up", result.reasons_up), ("down", result.reasons_down)):
        documented = {r["feature"]: r["contribution_points"] for r in answer["reasons"][side]}
        assert {r.feature: round(r.points, 6) for r in got} == pytest.approx(documented, abs=1e-5)


def _pct(value: float) -> str:
    return f"{value:.3f}"


def test_the_model_figures_in_the_text_are_those_of_metrics_json(pages, model):
    metrics, threshold = model["metrics"], model["threshold"]
    zone = threshold["grey_zone"]
    n_features, rounds = str(len(model["features"])), str(metrics["n_rounds"])
    expected = [  # (page, pattern whose groups are figures, the figures models/ gives)
        ("docs/index.md", r"version `[0-9a-f]+`: (\d+) features, (\d+) trees", (n_features, rounds)),
        ("docs/index.md", r"threshold (0\.\d+) \(grey zone (0\.\d+)–(0\.\d+)\), holdout AUC (0\.\d+)",
         (_pct(threshold["threshold"]), _pct(zone["low"]), _pct(zone["high"]), _pct(metrics["auc"]))),
        ("docs/getting-started.md", r"and credit cards: (\d+) columns", (n_features,)),
    ]
    for page, pattern, figures in expected:
        match = re.search(pattern, pages[page])
        assert match, f"{page}: no text matches {pattern!r}"
        assert match.groups() == figures, f"{page}: {match.group(0)!r} but models/ gives {figures}"


def test_the_onnx_parity_figures_are_the_manifests(pages, model):
    parity = model["manifest"].get("derived", {}).get(schema.ONNX_FILE, {}).get("parity")
    if parity is None:
        pytest.skip("the committed model has no ONNX export")
    match = re.search(r"max \|Δp\| = ([\d.e-]+), mean ([\d.e-]+), (\d+) decision flips on ([\d,]+) rows",
                      pages["docs/decisions.md"])
    assert match
    assert float(match.group(1)) == pytest.approx(parity["max_abs_diff"], rel=0.1)
    assert float(match.group(2)) == pytest.approx(parity["mean_abs_diff"], rel=0.1)
    assert int(match.group(3)) == parity["decision_flips"]
    assert int(match.group(4).replace(",", "")) == parity["rows"]


def test_the_onnx_file_size_is_the_committed_files(pages, model):
    onnx = config.MODELS_DIR / schema.ONNX_FILE
    if not onnx.is_file():
        pytest.skip("the committed model has no ONNX export")
    match = re.search(r"`best_model\.onnx` is\s+([\d,]+) bytes", pages["docs/decisions.md"])
    assert match and int(match.group(1).replace(",", "")) == onnx.stat().st_size


NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?")


def _metric(metrics: dict[str, Any], key: str) -> float:
    value: Any = metrics
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return float(value)


def _table_figures(text: str) -> list[tuple[str, list[str], list[str]]]:
    """(figure, the numbers shown, the metrics.json keys) of each row of the figures table; a key
    written `.rest` replaces the last part of the row's latest full key."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[2].startswith("`") or "metrics.json" in cells[2]:
            continue
        keys, latest = [], ""
        for key in re.findall(r"`([^`]+)`", cells[2]):
            if key.startswith("."):
                key = latest.rsplit(".", 1)[0] + key
            else:
                latest = key
            keys.append(key)
        rows.append((cells[0], NUMBER.findall(cells[1].replace("*", "")), keys))
    return rows


def test_the_training_figures_table_is_metrics_json(pages, model):
    rows = _table_figures(pages["docs/training.md"])
    assert len(rows) >= 15, "the figures table of docs/training.md was not found"
    for figure, shown, keys in rows:
        assert len(shown) == len(keys), f"{figure}: {len(shown)} numbers for {len(keys)} keys"
        for number, key in zip(shown, keys, strict=True):
            decimals = len(number.split(".")[1]) if "." in number else 0
            expected = _metric(model["metrics"], key)
            assert abs(float(number.replace(",", "")) - expected) <= 0.5 * 10 ** -decimals + 1e-9, (
                f"{figure}: {number} shown, metrics.json {key} = {expected}")
