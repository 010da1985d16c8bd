"""Django's test directory for the installed Django version: downloaded once with pip, then cached.

The PyPI sdist ships ``tests/`` (runtests.py and every test app); the wheel does not. The sdist is
fetched with ``pip download --no-binary :all:`` and only its ``tests/`` tree is extracted, into
``$XDG_CACHE_HOME/greenpsyco/django-<version>/tests`` (``~/.cache`` by default). Extraction goes to a
temporary directory that is renamed into place, so an interrupted or concurrent run never leaves a
half-written tree behind.
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
    if not (tests / "runtests.py").is_file():
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
            members = [m for m in sdist.getmembers() if _is_test_file(m.name)]
            if not members:
                raise RuntimeError(f"{archives[0].name} has no tests/ directory")
            sdist.extractall(extracted, members=members, filter="data")
        (top,) = extracted.iterdir()
        target = root / "tests"
        if target.exists():  # a half-populated tree from an older layout: replace it
            shutil.rmtree(target)
        (top / "tests").rename(target)


def _is_test_file(name: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 3 and parts[1] == "tests"


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
