"""Suite-wide rule: with ``CI`` set, a skipped test is a failed test.

Tests skip where something they need is absent on a developer's machine (the real candles in
``../shared/data``, a browser, a service). On CI that absence is a broken setup, and a skip would
turn a red run green having tested nothing.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from auth_server import AuthRun, AuthServer

# Helpers shared across test folders (command_line.py) import by name.
TESTS = str(Path(__file__).parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, which must have what this test needs: {reason}"


@pytest.fixture(scope="session")
def law_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted ``swingml run`` of the laws' slice, built once per session; the runs the
    determinism, kill-and-rerun and gs:// laws make must equal it (read-only for the tests)."""
    from command_line import LAW_SLICE, swingml

    run_dir = tmp_path_factory.mktemp("law") / "run"
    sets = [arg for item in LAW_SLICE for arg in ("--set", item)]
    done = swingml("run", "--profile", "integration-test", "--run-dir", str(run_dir), *sets)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """One MLflow server with basic auth per session, on the suite's PostgreSQL database when
    ``scripts/services.sh up`` started it (``auth_server.py``); its admin password is unique to
    the session, so the secrets law can look for it everywhere."""
    from auth_server import basic_auth_server

    password = f"swingml-secret-{uuid.uuid4().hex}"
    with basic_auth_server(tmp_path_factory.mktemp("auth-server"), password) as server:
        yield server


@pytest.fixture(scope="session")
def auth_run(
    auth_server: AuthServer, law_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> AuthRun:
    """``swingml run`` of the laws' slice registered into and served from ``auth_server``, with
    its password in the environment only (``auth_server.run_against``); built once per session
    for the auth tests and the secrets law."""
    from auth_server import run_against

    return run_against(auth_server, law_run, tmp_path_factory.mktemp("auth-run"))
