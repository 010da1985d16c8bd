"""The server's log: stdlib logging to standard error, with Twisted's own log routed into it.

Lines look like gunicorn's (``[time] [pid] [LEVEL] message``) so they sit well next to an existing
deployment's logs. Twisted's messages (``twisted`` logger) are shown from WARNING up, all of them with
``--log-level debug``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
DEBUG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"

_twisted_routed = False


def configure_logging(level: str) -> None:
    """Log at ``level`` (debug, info, warning, error, critical) to standard error."""
    global _twisted_routed
    numeric = getattr(logging, level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(DEBUG_FORMAT if numeric <= logging.DEBUG else FORMAT, DATE_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger("twisted").setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)
    if not _twisted_routed:
        from twisted.logger import STDLibLogObserver, globalLogBeginner

        observer: Any = STDLibLogObserver()  # provides ILogObserver (zope), which mypy cannot see
        globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
        _twisted_routed = True


__all__ = ["configure_logging"]
