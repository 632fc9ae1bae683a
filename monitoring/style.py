"""How the report is written, shared by the console report, the HTML page and the dashboard: the one number
format, the colour of each drift status, and the PSI bands as text (from the report's own settings)."""

from __future__ import annotations

from typing import Any

from monitoring.drift import DRIFT, INSUFFICIENT, STABLE, WATCH

MISSING = "—"
STATUS_COLOURS = {STABLE: "#d4edda", WATCH: "#fff3cd", DRIFT: "#f8d7da", INSUFFICIENT: "#e2e3e5"}


def fmt(value: Any, spec: str = ".3f") -> str:
    """`value` formatted with `spec`, or a dash when there is none."""
    return MISSING if value is None else format(value, spec)


def psi_bands(report: dict[str, Any]) -> str:
    """The PSI bands the report was made with, e.g. "0.1 watch, 0.25 drift"."""
    drift = report["settings"]["drift"]
    return f"{drift['psi_watch']:g} watch, {drift['psi_drift']:g} drift"
