"""The report's cost chart is zoomed on the chosen threshold: the x-axis stops at three times the grey zone's
top (not at 1), so a threshold near 0,1 and its grey zone fill the chart instead of its first tenth; the
labels are French. `chart_images` (what train.py embeds in the report) draws this chart."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import plots
from scoring.cost import DEFAULT_GRID


def _sample(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(4000) < 0.08).astype(int)
    scores = np.clip(rng.beta(1.2, 10, 4000) + 0.12 * y, 0, 1)
    return y, scores


@pytest.mark.parametrize("t, low, high", [(0.09, 0.06, 0.13), (0.2, 0.15, 0.25), (0.01, 0.005, 0.012)])
def test_the_cost_chart_is_zoomed_around_the_threshold(t, low, high):
    y, scores = _sample()
    threshold = {"threshold": t, "grey_zone": {"low": low, "high": high}, "cost_fn": 10, "cost_fp": 1}
    fig = plots.cost_figure(y, scores, threshold)
    try:
        ax = fig.axes[0]
        left, right = ax.get_xlim()
        assert left == 0 and right == pytest.approx(min(1.0, max(3 * high, 2 * t, 0.05)))
        assert right < 1 and low >= 0.1 * right - 1e-12  # the grey zone is not squeezed against the axis
        assert (high - low) / right >= 0.1  # ... and takes a visible share of the chart
        line = ax.get_lines()[0]
        assert line.get_xdata().max() <= right and len(line.get_xdata()) >= 5
        assert np.isin(line.get_xdata(), DEFAULT_GRID).all()
        fig.canvas.draw()
        labels = [tick.get_text() for tick in ax.get_xticklabels() if tick.get_text()]
        assert labels and not any("." in label for label in labels) and any("," in label for label in labels)
        assert any("seuil" in text.get_text() for text in ax.get_legend().get_texts())
    finally:
        plots._pyplot().close(fig)


def test_the_report_embeds_the_zoomed_chart(monkeypatch):
    y, scores = _sample(1)
    threshold = {"threshold": 0.09, "grey_zone": {"low": 0.06, "high": 0.13}, "cost_fn": 10, "cost_fp": 1}
    drawn = []
    real = plots.cost_figure

    def spy(*args, **kwargs):
        fig = real(*args, **kwargs)
        drawn.append(fig.axes[0].get_xlim())
        return fig

    monkeypatch.setattr(plots, "cost_figure", spy)
    png = plots.cost_png(y, scores, threshold)
    assert png.startswith(b"\x89PNG") and drawn == [(0.0, pytest.approx(0.39))]
