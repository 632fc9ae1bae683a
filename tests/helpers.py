"""Small helpers shared by test modules (servers on loopback: `benchmarks/_launch.py`, free ports; an entry
point's `main(argv)` run in the test's process)."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from benchmarks._launch import PROJECT_ROOT, free_port, launched, wait_http  # noqa: F401 - shared with the tests
from scoring.cli import PACKAGES
from scoring.schema import UI_FEATURE_NAMES

SHARED_SAMPLE = PROJECT_ROOT.parent / "shared" / "data" / "homecredit_sample"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# A valid applicant of the 11 form features: higher education, man, working, document 3 given.
VALID = dict(zip(UI_FEATURE_NAMES, (0.45, 0.6, 0.55, 1, 0, 2.0, 1, 0, 1, 1, 0.0), strict=True))


@dataclass(frozen=True)
class Ran:
    """What a command did: its exit code and what it printed (the fields of `subprocess.CompletedProcess`)."""

    returncode: int
    stdout: str
    stderr: str


def run_main(main: Callable[[list[str]], int | None], *argv: str) -> Ran:
    """`main(argv)` of an entry point, in this process: what `python script.py *argv` does without the
    interpreter's start-up and imports (seconds each time). Its exit code (argparse's `SystemExit` included) and
    what it printed are returned; the logging set-up and warning display it changed are put back."""
    saved = _logging_state()
    showwarning = warnings.showwarning
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = exc.code
                if code is not None and not isinstance(code, int):  # sys.exit("message"): printed, exit 1
                    print(code, file=err)
                    code = 1
    finally:
        warnings.showwarning = showwarning
        _restore_logging(saved)
    return Ran(code or 0, out.getvalue(), err.getvalue())


def _logging_state() -> dict[str, tuple[int, list[logging.Handler]]]:
    loggers = [logging.getLogger(name) for name in PACKAGES]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    return {lg.name: (lg.level, list(lg.handlers)) for lg in loggers}


def _restore_logging(saved: dict[str, tuple[int, list[logging.Handler]]]) -> None:
    for name, lg in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(lg, logging.Logger):
            continue
        level, handlers = saved.get(name, (logging.NOTSET, []))
        lg.setLevel(level)
        lg.handlers[:] = handlers
