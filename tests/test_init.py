"""The top-level package: light to import, hub functions on first use."""

from __future__ import annotations

import subprocess
import sys

import greenpsyco
from greenpsyco import hub


def test_importing_greenpsyco_does_not_load_twisted() -> None:
    code = "import sys, greenpsyco; print('twisted' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]


def test_hub_functions_are_reachable_from_the_package() -> None:
    assert greenpsyco.spawn is hub.spawn
    assert greenpsyco.run is hub.run
    assert greenpsyco.wait is hub.wait
    assert greenpsyco.sleep is hub.sleep
    assert greenpsyco.mode() == "blocking"
