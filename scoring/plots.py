"""The model's charts as PNG bytes (matplotlib, Agg): the report embeds them, `save_plots` writes two."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scoring.cost import DEFAULT_GRID, cost_curve

if TYPE_CHECKING:
    from scoring.training import TrainResult

PLOT_FILES = ("roc.png", "cost_threshold.png")  # written next to the artifacts


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def roc_png(y: np.ndarray, scores: np.ndarray, auc: float, baseline: np.ndarray | None = None) -> bytes:
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    fpr, tpr, _ = roc_curve(y, scores)
    ax.plot(fpr, tpr, label=f"XGBoost (AUC {auc:.3f})")
    if baseline is not None:
        bf, bt, _ = roc_curve(y, baseline)
        ax.plot(bf, bt, label=f"référence EXT_SOURCE (AUC {roc_auc_score(y, baseline):.3f})", alpha=0.8)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="hasard")
    ax.set(xlabel="Taux de faux positifs", ylabel="Taux de vrais positifs", title="ROC (holdout)")
    ax.legend(loc="lower right")
    return _png(fig)


def pr_png(y: np.ndarray, scores: np.ndarray) -> bytes:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    precision, recall, _ = precision_recall_curve(y, scores)
    ax.plot(recall, precision, label=f"XGBoost (AP {average_precision_score(y, scores):.3f})")
    ax.axhline(np.mean(y), linestyle="--", color="grey", label=f"taux de défaut {np.mean(y):.3f}")
    ax.set(xlabel="Rappel", ylabel="Précision", title="Précision-rappel (holdout)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper right")
    return _png(fig)


def cost_png(y: np.ndarray, scores: np.ndarray, threshold: dict[str, Any]) -> bytes:
    return _png(cost_figure(y, scores, threshold))


def cost_figure(y: np.ndarray, scores: np.ndarray, threshold: dict[str, Any]):
    """The business cost per applicant against the threshold, zoomed on the chosen threshold and its grey zone."""
    plt = _pyplot()
    costs = cost_curve(y, scores, DEFAULT_GRID, threshold["cost_fn"], threshold["cost_fp"])
    fig, ax = plt.subplots(figsize=(6, 4))
    zone = threshold["grey_zone"]
    # the x-axis ends at three times the grey zone's top (not at 1): a threshold near 0,1 and its grey
    # zone would otherwise be squeezed into the first tenth of the chart
    right = min(1.0, max(3 * zone["high"], 2 * threshold["threshold"], 0.05))
    shown = right >= DEFAULT_GRID
    ax.plot(DEFAULT_GRID[shown], (costs / len(scores))[shown])
    ax.set_xlim(0, right)
    ax.axvline(threshold["threshold"], color="red", linestyle="--",
               label=f"seuil {threshold['threshold']:.3f}".replace(".", ","))
    ax.axvspan(zone["low"], zone["high"], color="orange", alpha=0.2, label="zone à étudier")
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}".replace(".", ","))
    ax.yaxis.set_major_formatter(lambda y, _: f"{y:g}".replace(".", ","))
    ax.set(xlabel="Seuil", ylabel=f"Coût par dossier ({threshold['cost_fn']:g}·FN + {threshold['cost_fp']:g}·FP)",
           title="Coût métier (out-of-fold)")
    ax.legend()
    return fig


def calibration_png(calibration: dict[str, Any]) -> bytes:
    plt = _pyplot()
    bins = calibration["bins"]
    pred = [b["mean_score"] for b in bins]
    rate = [b["default_rate"] for b in bins]
    top = max(max(pred), max(rate)) * 1.05
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, top], [0, top], "--", color="grey", label="calibration parfaite")
    ax.plot(pred, rate, "o-", label=f"déciles (Brier {calibration['brier']:.3f}, ECE {calibration['ece']:.3f})")
    ax.set(xlabel="Score moyen", ylabel="Taux de défaut observé", title="Calibration (holdout)")
    ax.legend(loc="upper left")
    return _png(fig)


def confusion_png(confusion: dict[str, int], threshold: float) -> bytes:
    plt = _pyplot()
    matrix = np.array([[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]])
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{value}", ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black", fontsize=13)
    ax.set_xticks([0, 1], ["accordé", "refusé"])
    ax.set_yticks([0, 1], ["bon client", "défaut"])
    ax.set(xlabel="Décision", ylabel="Réalité", title=f"Matrice de confusion (seuil {threshold:.3f})")
    return _png(fig)


def importance_png(importance: list[dict[str, Any]]) -> bytes:
    plt = _pyplot()
    top = importance[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1))
    ax.barh([row["label"] for row in top], [row["mean_abs_shap"] for row in top], color="#3b6ea5")
    ax.set(xlabel="Moyenne de |SHAP| (log-odds)", title="Importance globale (holdout)")
    return _png(fig)


def save_plots(images: dict[str, bytes], model_dir: Path) -> list[Path]:
    """Write the ROC and cost charts next to the artifacts (the report embeds all of them)."""
    paths = []
    for name, key in zip(PLOT_FILES, ("roc", "cost"), strict=True):
        path = Path(model_dir) / name
        path.write_bytes(images[key])
        paths.append(path)
    return paths


def chart_images(result: TrainResult) -> dict[str, bytes]:
    """Every chart of the report, as PNG bytes."""
    m = result.metrics
    images = {
        "roc": roc_png(result.holdout_target, result.holdout_scores, m["auc"], result.baseline_holdout_scores),
        "pr": pr_png(result.holdout_target, result.holdout_scores),
        "cost": cost_png(result.oof_target, result.oof_scores, result.threshold),
        "calibration": calibration_png(m["calibration"]),
        "confusion": confusion_png(m["confusion"], m["threshold"]),
    }
    if m.get("importance"):  # not computed without the holdout features (cluster training)
        images["importance"] = importance_png(m["importance"])
    return images
