"""Django's test directory for the installed Django version: downloaded once with pip, then cached.

The PyPI sdist ships ``tests/`` (runtests.py and every test app); the wheel does not. The sdist is
fetched with ``pip download --no-binary :all:`` and ``tests/`` is extracted with ``docs/_ext/`` and
``django/`` beside it (the ``sphinx`` tests import the one and read the other's source), into
``$XDG_CACHE_HOME/greenpsyco/django-<version>/`` (``~/.cache`` by default). Extraction goes to a
temporary directory whose parts are renamed into place, ``tests/`` last, so an interrupted run never
leaves a tree that looks complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CHECK_APP = "greenpsyco_suite_check"
"""A test app added to Django's tests: it asserts the driver and I/O mode from inside a test."""

_CHECK_APP_TESTS = '''"""Written by tests/django_suite: checks the driver and I/O mode from inside a test."""

from tests.django_suite.checks import DriverModeCheck  # noqa: F401
'''


_PARTS = ("django", "docs/_ext", "tests")
_COMPLETE = ("django/__init__.py", "docs/_ext/github_links.py", "tests/runtests.py")


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/greenpsyco`` (``~/.cache/greenpsyco`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "greenpsyco"


def installed_django_version() -> str:
    """The version of the Django that runs the tests: its tests must come from the same release."""
    import django

    return str(django.__version__)


def django_tests_dir(version: str | None = None, cache: Path | None = None) -> Path:
    """The directory holding Django's ``runtests.py`` for ``version``, fetched on first use."""
    version = version or installed_django_version()
    root = (cache or cache_root()) / f"django-{version}"
    tests = root / "tests"
    if not all((root / part).exists() for part in _COMPLETE):
        _fetch(version, root)
    _install_check_app(tests)
    return tests


def _fetch(version: str, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix="fetch-") as scratch:
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                "--dest", scratch, f"Django=={version}",
            ],
            check=True,
        )  # fmt: skip
        archives = sorted(Path(scratch).glob("*.tar.gz"))
        if len(archives) != 1:
            raise RuntimeError(f"pip download gave {archives!r}, expected one Django {version} sdist")
        extracted = Path(scratch) / "extracted"
        with tarfile.open(archives[0]) as sdist:
            members = [m for m in sdist.getmembers() if _wanted(m.name)]
            if not members:
                raise RuntimeError(f"{archives[0].name} has no tests/ directory")
            sdist.extractall(extracted, members=members, filter="data")
        (top,) = extracted.iterdir()
        for part in _PARTS:  # tests/ last: its runtests.py marks a complete tree
            target = root / part
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            (top / part).rename(target)


def _wanted(name: str) -> bool:
    inside = name.split("/", 1)[-1]
    return any(inside == part or inside.startswith(part + "/") for part in _PARTS)


def _install_check_app(tests: Path) -> None:
    """Add (or refresh) the check app next to Django's test apps, so a full run discovers it too."""
    app = tests / CHECK_APP
    app.mkdir(exist_ok=True)
    init = app / "__init__.py"
    if not init.exists():
        init.write_text("")
    module = app / "tests.py"
    if not module.exists() or module.read_text() != _CHECK_APP_TESTS:
        module.write_text(_CHECK_APP_TESTS)
