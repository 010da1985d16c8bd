"""The results file (JSON), its Markdown rendering and plots, under one directory.

``results.json`` holds one section per suite plus where and when each ran; running one suite replaces
only its own section, so the driver and web suites can run separately and still share one file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import suites

RESULTS_FILE = "results.json"
MARKDOWN_FILE = "results.md"
SCHEMA = 1


def load(directory: Path) -> dict[str, Any]:
    path = directory / RESULTS_FILE
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text())
        if data.get("schema") == SCHEMA:
            return data
    return {"schema": SCHEMA, "suites": {}}


def save(directory: Path, data: dict[str, Any]) -> list[Path]:
    """Write the JSON, the Markdown tables and each suite's plots; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / RESULTS_FILE]
    written[0].write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    parts = ["# greenpsyco benchmark results\n", "Written by `python -m bench`; do not edit by hand.\n"]
    for name, section in data["suites"].items():
        if name not in suites.SUITES:
            continue
        suite = suites.load(name)
        parts.append(suite.markdown(section))
        written.extend(suite.plots(section, directory))
    markdown = directory / MARKDOWN_FILE
    markdown.write_text("\n".join(parts))
    written.append(markdown)
    return written
