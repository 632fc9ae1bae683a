"""What the command lines share: how the packages' `logging` records reach the terminal.

The packages (`scoring`, `serving`, `api`, `monitoring`, `cluster`) only log; every command line
adds `-q/--quiet` and `-v/--verbose` with `add_logging_options` and calls `setup_logging` once, after
parsing its arguments. By default INFO and up are shown as bare messages on stderr, which is what
the commands printed before they logged; `--quiet` keeps warnings and errors only (and the commands
show no progress bar), `--verbose` shows everything with the time, level and module. Other
libraries keep their own levels (their warnings still show through Python's last-resort handler).
"""

from __future__ import annotations

import argparse
import logging
import sys

PACKAGES = ("scoring", "serving", "api", "monitoring", "cluster")
PLAIN = "%(message)s"  # INFO and below; warnings and errors say their level first ("WARNING: ...")
DETAILED = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Handler(logging.StreamHandler):
    """The handler `setup_logging` adds: writes to the current `sys.stderr` (or `sys.stdout`; redirections
    and test captures included) and is recognised, so that calling `setup_logging` twice does not double lines."""

    def __init__(self, to_stdout: bool = False):
        self._to_stdout = to_stdout
        super().__init__()

    @property
    def stream(self):
        return sys.stdout if self._to_stdout else sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler sets it; the current sys.stderr is used instead
        pass


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"{record.levelname}: {text}" if record.levelno >= logging.WARNING else text


def setup_logging(*, verbose: bool = False, quiet: bool = False, to_stdout: bool = False,
                  also: tuple[str, ...] = ()) -> None:
    """Show the project's log records (and those of the loggers `also`, e.g. a command's own) on
    stderr (`to_stdout`: stdout) at the level the command line asked for."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = _Handler(to_stdout)
    handler.setFormatter(logging.Formatter(DETAILED) if verbose else _PlainFormatter(PLAIN))
    for name in PACKAGES + also:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)


def add_logging_options(parser: argparse.ArgumentParser, quiet_help: str = "warnings and errors only") -> None:
    """`-q/--quiet` and `-v/--verbose`, the logging options of every command line (one or the other;
    pass `args.quiet` and `args.verbose` to `setup_logging`)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    group.add_argument("-v", "--verbose", action="store_true", help="show every log record, with time and module")


def plain_warnings(program: str) -> None:
    """Show Python warnings (a missing optional table, ...) as one line "<program>: warning: …" on
    stderr, without the source line a raw `UserWarning` prints."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        print(f"{program}: warning: {message}", file=sys.stderr)

    warnings.showwarning = show
