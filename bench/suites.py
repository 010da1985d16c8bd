"""The benchmark suites ``python -m bench`` knows, and what a suite must offer to plug in.

A suite is a module with ``NAME``, ``add_arguments(parser)`` and ``run(args) -> dict``: the dict is
its section of the results file (JSON-serialisable), and ``markdown(section) -> str`` and
``plots(section, directory) -> list[Path]`` turn that section into a Markdown table and PNG plots.
The driver suite (:mod:`bench.driver`) and the web suite (:mod:`bench.web`: ``greenpsyco serve``
against gunicorn) are listed in :data:`SUITES`.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any, Protocol, cast


class Suite(Protocol):
    NAME: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> dict[str, Any]: ...

    def markdown(self, section: dict[str, Any]) -> str: ...

    def plots(self, section: dict[str, Any], directory: Path) -> list[Path]: ...


#: Suite name -> module implementing it, in the order they run.
SUITES: dict[str, str] = {
    "driver": "bench.driver",
    "web": "bench.web",
}


def load(name: str) -> Suite:
    return cast(Suite, importlib.import_module(SUITES[name]))
