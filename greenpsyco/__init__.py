"""greenpsyco: a pure-Python psycopg2 on Twisted and greenlets for existing Django projects.

``import greenpsyco; greenpsyco.patch()`` makes ``import psycopg2`` give greenpsyco's driver.
``spawn``, ``run``, ``wait``, ``sleep`` and ``mode`` (from :mod:`greenpsyco.hub`) are loaded on first
use, so importing greenpsyco in settings.py does not pull in Twisted.
"""

from typing import Any

from greenpsyco.patch import GreenpsycoPatchWarning, close_request_connections, is_patched, patch, unpatch

__version__ = "0.1.0.dev0"

_HUB_NAMES = ("spawn", "run", "wait", "sleep", "mode")


def __getattr__(name: str) -> Any:
    if name in _HUB_NAMES:
        from greenpsyco import hub

        return getattr(hub, name)
    raise AttributeError(f"module 'greenpsyco' has no attribute {name!r}")


__all__ = [
    "GreenpsycoPatchWarning",
    "__version__",
    "close_request_connections",
    "is_patched",
    "mode",
    "patch",
    "run",
    "sleep",
    "spawn",
    "unpatch",
    "wait",
]
