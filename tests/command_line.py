"""The real ``swingml`` command line in a child process, as a user runs it.

Shared by the end-to-end and report tests (``tests/`` is on ``sys.path``, see ``conftest.py``).
"""

from __future__ import annotations

import subprocess
import sys

LAW_SLICE = ("data.symbols=[BTCUSDT, ETHUSDT]", "grid.windows=[3]")
"""The reproducibility laws' slice of the integration-test profile (a trials budget, so a run
of it is deterministic): two coins, one window; one run of it is the ``law_run`` fixture."""


def swingml(*args: str, timeout: float = 540) -> subprocess.CompletedProcess[str]:
    """Run ``swingml ARGS`` with this interpreter; output captured as text, never raises on exit."""
    return subprocess.run(
        [sys.executable, "-m", "swingml.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
