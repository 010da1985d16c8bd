"""``--reload``: notice when a source file the worker has loaded changes.

Polls modification times once a second (no inotify dependency), like Django's ``StatReloader``: the
Python files of every imported module plus any extra paths (a file that failed to import).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def _module_files() -> set[str]:
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.endswith((".py", ".pyc", ".so")):
            files.add(path)
    return files


class FileWatcher:
    """Remembers the modification times of the loaded modules' files; :meth:`changed` names a change."""

    def __init__(self) -> None:
        self._extra: set[str] = set()
        self._mtimes: dict[str, float | None] = {}
        self._scan()

    def add(self, paths: Iterable[str]) -> None:
        """Watch these files too (they may not exist yet)."""
        self._extra.update(paths)
        self._scan()

    def _mtime(self, path: str) -> float | None:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return None

    def _scan(self) -> None:
        for path in _module_files() | self._extra:
            if path not in self._mtimes:
                self._mtimes[path] = self._mtime(path)

    def changed(self) -> str | None:
        """The first watched file whose modification time differs from when it was first seen."""
        self._scan()
        for path, seen in self._mtimes.items():
            if self._mtime(path) != seen:
                return path
        return None


__all__ = ["FileWatcher"]
