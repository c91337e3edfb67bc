"""The two registry backends the registry suite runs on: the run's SQLite file and a real server.

The server is the PostgreSQL-backed MLflow server of ``scripts/services.sh`` (``make test`` brings
it up and down); ``SWINGML_TEST_TRACKING_URI`` points the tests at another one. Every test uses
model names of its own (a fresh ``registry.model_prefix``), since the server outlives a test run.
With ``CI`` set a missing server fails the server-parametrized tests instead of skipping them.
"""

from __future__ import annotations

import os
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ("sqlite", "server")


def server_uri() -> str:
    """The test server's URI: ``SWINGML_TEST_TRACKING_URI``, else the one services.sh started."""
    if os.environ.get("SWINGML_TEST_TRACKING_URI"):
        return os.environ["SWINGML_TEST_TRACKING_URI"]
    state = Path(os.environ.get("SWINGML_SERVICES_DIR", REPO / ".services")) / "mlflow.url"
    if state.is_file():
        return state.read_text().strip()
    return f"http://127.0.0.1:{os.environ.get('SWINGML_MLFLOW_PORT', '5000')}"


def require_server() -> str:
    """The server's URI once it answers ``/health``; fail (CI) or skip (elsewhere) otherwise."""
    uri = server_uri()
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=5):
            return uri
    except OSError as exc:
        message = f"no MLflow server at {uri} ({exc}); start it with `scripts/services.sh up`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def unique_prefix() -> str:
    """A model-name prefix no other test (or earlier test run) uses."""
    return f"t{uuid.uuid4().hex[:10]}-"


def registry_sets(backend: str) -> list[str]:
    """Config overrides that select ``backend`` (nothing for the run's SQLite file)."""
    if backend == "sqlite":
        return []
    uri = require_server()
    return [f"registry.tracking_uri={uri}", f"registry.registry_uri={uri}"]
