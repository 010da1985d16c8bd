"""The ``greenpsyco`` command line.

Sub-commands are added by the parts that implement them; one that is not built yet says so and exits
with status 2 instead of pretending to run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from greenpsyco import __version__

_NOT_YET = {
    "serve": "run a WSGI application with one greenlet per request",
    "demo": "run the bundled demo on an embedded PostgreSQL",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenpsyco",
        description="Run an existing Django + PostgreSQL project with many concurrent requests.",
    )
    parser.add_argument("--version", action="version", version=f"greenpsyco {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in _NOT_YET.items():
        sub = commands.add_parser(name, help=f"{summary} (not available in this version)")
        sub.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.command is None:
        parser.print_help()
        return 2
    print(
        f"greenpsyco {__version__}: `{options.command}` is not available in this version yet.",
        file=sys.stderr,
    )
    return 2
