"""The command line: version and help (serve and demo have their own tests)."""

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
def test_subcommands_have_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: greenpsyco {command}" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: greenpsyco" in capsys.readouterr().out
