"""Fixtures of the registry suite: the backend (SQLite file or real server) each test runs on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

for _folder in (Path(__file__).parent, Path(__file__).parents[1] / "inference"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import backends  # noqa: E402  (made importable just above)

# Building the image takes minutes and podman needs runc here (docs/decisions.md): the container
# test is opt-in, left uncollected unless asked for, so CI's no-skip rule does not apply to it.
collect_ignore = [] if os.environ.get("SWINGML_TEST_CONTAINER") == "1" else ["test_container.py"]


@pytest.fixture(params=backends.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``server``; a server-parametrized test fails under CI if none answers."""
    name: str = request.param
    if name == "server":
        backends.require_server()
    return name
