"""Loading the application named on the command line, and the one-line errors when that fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from greenpsyco.server.app import AppLoadError, load_app, split_app_path


def test_split() -> None:
    assert split_app_path("mysite.wsgi") == ("mysite.wsgi", "application")
    assert split_app_path("mysite.wsgi:app") == ("mysite.wsgi", "app")
    with pytest.raises(AppLoadError, match="is not an application path"):
        split_app_path("my-site.wsgi")
    with pytest.raises(AppLoadError, match="is not a Python name"):
        split_app_path("mysite.wsgi:1app")


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("gp_app_")]:
        del sys.modules[name]


def test_loads_a_callable(modules: Path) -> None:
    (modules / "gp_app_ok.py").write_text("def application(e, s):\n    return []\nnot_callable = 3\n")
    assert load_app("gp_app_ok").__name__ == "application"
    with pytest.raises(AppLoadError, match="is not callable"):
        load_app("gp_app_ok:not_callable")


def test_a_missing_import_inside_the_app_is_not_called_a_missing_app(modules: Path) -> None:
    (modules / "gp_app_dep.py").write_text("import gp_app_missing_dependency\n")
    with pytest.raises(AppLoadError) as raised:
        load_app("gp_app_dep")
    message = str(raised.value)
    assert "importing 'gp_app_dep' failed: ModuleNotFoundError" in message
    assert "gp_app_dep.py, line 1" in message


def test_a_syntax_error_names_the_file_and_line(modules: Path) -> None:
    (modules / "gp_app_syntax.py").write_text("x = 1\ndef broken(:\n")
    with pytest.raises(AppLoadError, match=r"SyntaxError: .*gp_app_syntax.py, line 2"):
        load_app("gp_app_syntax")
