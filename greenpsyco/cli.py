"""The ``greenpsyco`` command line: ``serve`` (the production server) and ``demo``.

Mistakes a user can make — an app path that does not import, a port in use, an unreadable
certificate, a bad option value — end with one ``greenpsyco: error: ...`` line and a non-zero exit
status, not a traceback (``--log-level debug`` shows the traceback too).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from greenpsyco import __version__


def build_parser() -> argparse.ArgumentParser:
    from greenpsyco.demo.options import add_demo_arguments
    from greenpsyco.server.config import add_serve_arguments

    parser = argparse.ArgumentParser(
        prog="greenpsyco",
        description="Run an existing Django + PostgreSQL project with many concurrent requests.",
    )
    parser.add_argument("--version", action="version", version=f"greenpsyco {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run a WSGI application with one greenlet per request",
        description="Serve a WSGI application (module or module:callable, e.g. mysite.wsgi) with one "
        "greenlet per request. Calls greenpsyco.patch() first unless --no-patch.",
    )
    add_serve_arguments(serve)
    demo = commands.add_parser(
        "demo",
        help="run the bundled demo on an embedded PostgreSQL",
        description="Start an embedded PostgreSQL, migrate and serve a small Django project on it.",
    )
    add_demo_arguments(demo)
    return parser


def _fail(message: str) -> int:
    print(f"greenpsyco: error: {message}", file=sys.stderr, flush=True)
    return 1


def serve(options: argparse.Namespace) -> int:
    """``greenpsyco serve``: the supervisor and its workers (see :mod:`greenpsyco.server.arbiter`)."""
    from greenpsyco.server.arbiter import Arbiter
    from greenpsyco.server.config import config_from_arguments
    from greenpsyco.server.logs import configure_logging

    try:
        config = config_from_arguments(options)
    except ValueError as exc:
        return _fail(str(exc))
    configure_logging(config.log_level)
    try:
        return Arbiter(config).run()
    except ValueError as exc:  # BindError: a port in use, a bad certificate
        return _fail(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.command is None:
        parser.print_help()
        return 2
    if options.command == "serve":
        return serve(options)
    from greenpsyco.demo.main import run_demo

    return run_demo(options)
