"""``greenpsyco demo``'s command-line options (kept apart so ``greenpsyco --help`` imports no Django)."""

from __future__ import annotations

import argparse


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-b", "--bind", default="127.0.0.1:8000", help="where to serve (default: 127.0.0.1:8000)"
    )
    parser.add_argument(
        "--load",
        type=int,
        default=0,
        metavar="N",
        help="fire N concurrent requests at the slow page, print the timings, and exit",
    )
    parser.add_argument(
        "--sleep", type=float, default=0.5, metavar="SECONDS", help="how long the slow page's query takes"
    )
    parser.add_argument(
        "--pool-size", type=int, default=50, help="PostgreSQL connections at most (default: %(default)s)"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the embedded database here (default: a temporary directory, removed at exit)",
    )
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
