"""A tracking server with basic auth (``--app-name basic-auth``, as ``SWINGML_MLFLOW_AUTH=1``
starts it): wrong credentials give exit 1 naming the URI and the fix, right ones work."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swingml.cli import app

ADMIN, PASSWORD = "admin", "swingml-test-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("auth-server")
    ini = folder / "basic_auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'auth.db'}\n"
        f"admin_username = {ADMIN}\nadmin_password = {PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    port = _free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "swingml-test-csrf-key",
    }
    proc = subprocess.Popen(
        [str(mlflow), "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "artifacts")],
        env=env, stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"),
        start_new_session=True,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, (folder / "server.log").read_text()[-3000:]
                assert time.time() < deadline, "the basic-auth server did not start in 180 s"
                time.sleep(0.2)
        yield uri
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _list(uri: str, run_dir: Path) -> object:
    args = ["registry", "list", "--run-dir", str(run_dir)]
    args += ["--set", f"registry.tracking_uri={uri}", "--set", f"registry.registry_uri={uri}"]
    return CliRunner().invoke(app, args, catch_exceptions=False)


@pytest.mark.slow
def test_wrong_credentials_are_named_with_the_fix(
    auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    result = _list(auth_server, tmp_path / "run")
    text = result.output.replace("\n", "")  # type: ignore[attr-defined]
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert auth_server in text and "MLFLOW_TRACKING_PASSWORD" in text
    assert "Traceback" not in text
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    assert _list(auth_server, tmp_path / "run").exit_code == 0  # type: ignore[attr-defined]
