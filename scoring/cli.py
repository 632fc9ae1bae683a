"""What the command lines share: how the packages' `logging` records reach the terminal.

The packages (`scoring`, `api`, `monitoring`) only log; each command line calls `setup_logging`
once, after parsing its arguments. By default INFO and up are shown as bare messages on stderr,
which is what the commands printed before they logged; `--quiet` keeps warnings and errors only,
`--verbose` shows everything with the time, level and module. Other libraries keep their own
levels (their warnings still show through Python's last-resort handler).
"""

from __future__ import annotations

import argparse
import logging
import sys

PACKAGES = ("scoring", "api", "monitoring")
PLAIN = "%(message)s"
DETAILED = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Handler(logging.StreamHandler):
    """The handler `setup_logging` adds: writes to the current `sys.stderr` (redirections and test
    captures included) and is recognised, so that calling `setup_logging` twice does not double lines."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler sets it; the current sys.stderr is used instead
        pass


def setup_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Show the project's log records on stderr at the level the command line asked for."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = _Handler()
    handler.setFormatter(logging.Formatter(DETAILED if verbose else PLAIN))
    for name in PACKAGES:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """The `--verbose` option of every command line (pass `args.verbose` to `setup_logging`)."""
    parser.add_argument("-v", "--verbose", action="store_true", help="show every log record, with time and module")


def plain_warnings(program: str) -> None:
    """Show Python warnings (a missing optional table, ...) as one line "<program>: warning: …" on
    stderr, without the source line a raw `UserWarning` prints."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        print(f"{program}: warning: {message}", file=sys.stderr)

    warnings.showwarning = show
