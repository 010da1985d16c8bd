"""Finding the WSGI application named on the command line (``module`` or ``module:callable``).

Errors are one clear line (:class:`AppLoadError`): a module that does not exist, a name it does not
define, something that is not callable, or an exception raised while importing — the last one names
the exception and where in the user's code it was raised, since that is what the user has to fix.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

DEFAULT_CALLABLE = "application"


class AppLoadError(Exception):
    """The application could not be loaded; ``str()`` is the one-line explanation."""


def split_app_path(path: str) -> tuple[str, str]:
    """``"pkg.mod:obj"`` -> ``("pkg.mod", "obj")``; the callable defaults to ``application``."""
    module, _, name = path.strip().partition(":")
    name = name or DEFAULT_CALLABLE
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise AppLoadError(
            f"{path!r} is not an application path: use module or module:callable (mysite.wsgi)"
        )
    if not all(part.isidentifier() for part in name.split(".")):
        raise AppLoadError(f"{path!r}: {name!r} is not a Python name")
    return module, name


def _where(exc: BaseException) -> str:
    """The innermost frame of the traceback that is not Python's import machinery."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if "importlib" not in frame.filename and not frame.filename.startswith("<frozen")
    ]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" ({exc.filename}, line {exc.lineno})"
    if not frames:
        return ""
    frame = frames[-1]
    return f" ({frame.filename}, line {frame.lineno})"


def load_app(path: str) -> Callable[..., Any]:
    """Import and return the WSGI callable ``path`` names. The current directory is importable first,
    as with gunicorn. Raises :class:`AppLoadError` with one line saying what went wrong."""
    module_name, attribute = split_app_path(path)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise AppLoadError(
                f"cannot import the application module {module_name!r}: no module named {exc.name!r} "
                f"(run from the directory that contains it, or use --chdir)"
            ) from exc
        raise AppLoadError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}{_where(exc)}"
        ) from exc
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AppLoadError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}{_where(exc)}"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AppLoadError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise AppLoadError(f"{module_name}:{attribute} is not callable (it is a {type(target).__name__})")
    return target  # type: ignore[no-any-return]


__all__ = ["DEFAULT_CALLABLE", "AppLoadError", "load_app", "split_app_path"]
