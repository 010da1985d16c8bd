"""The command line: version, help, and honest refusal of commands not built yet."""

from __future__ import annotations

import subprocess
import sys

import pytest

from greenpsyco import __version__
from greenpsyco.cli import main


def test_python_dash_m_prints_the_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "greenpsyco", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"greenpsyco {__version__}"


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_unbuilt_commands_say_so_and_fail(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "mysite.wsgi"]) == 2
    assert "not available in this version" in capsys.readouterr().err


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: greenpsyco" in capsys.readouterr().out
