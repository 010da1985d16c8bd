"""Run a scenario that needs greenpsyco's hub in a fresh interpreter (the reactor runs once per process).

The scenario's body sees ``json``, ``time``, the fake driver as ``psycopg2``, ``hub`` and ``DSN``, and
prints its observations as JSON on its last line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any


def run_scenario(dsn: str, body: str) -> dict[str, Any]:
    code = textwrap.dedent(
        """
        import json, time
        import greenpsyco.fake_psycopg2 as psycopg2
        from greenpsyco import hub
        DSN = {dsn!r}
        """
    ).format(dsn=dsn) + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
