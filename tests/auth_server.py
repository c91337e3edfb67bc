"""An MLflow tracking server with basic auth (``--app-name basic-auth``, as
``SWINGML_MLFLOW_AUTH=1 scripts/services.sh up`` starts it), and a run registered into it, for
the credential tests and the secrets law (``tests/`` is on ``sys.path``, see ``conftest.py``).

It runs on the suite's PostgreSQL database and artifact folder when ``scripts/services.sh up``
has started them (``.services/mlflow.backend``; ``make test`` does), so the auth cases run
against the real server's store; elsewhere on a SQLite file of its own (with ``CI`` set, a
missing suite database fails instead).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADMIN = "admin"
CREDENTIAL_VARIABLES = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


@dataclass(frozen=True)
class AuthServer:
    """A running basic-auth server: its URI, its admin account, and the store it writes to."""

    uri: str
    username: str
    password: str
    backend: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def suite_store() -> tuple[str, Path] | None:
    """The suite server's database URI and artifact folder, if ``services.sh`` started them."""
    services = Path(os.environ.get("SWINGML_SERVICES_DIR", REPO / ".services"))
    backend = services / "mlflow.backend"
    if not backend.is_file():
        if os.environ.get("CI"):
            raise AssertionError(f"no {backend}: `scripts/services.sh up` must run before pytest")
        return None
    return backend.read_text().strip(), services / "artifacts"


@contextlib.contextmanager
def basic_auth_server(folder: Path, password: str) -> Iterator[AuthServer]:
    """Start a basic-auth server whose admin is ``admin`` / ``password``; stop it afterwards."""
    store = suite_store()
    backend, artifacts = store or (f"sqlite:///{folder / 'mlflow.db'}", folder / "artifacts")
    ini = folder / "basic_auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'auth.db'}\n"
        f"admin_username = {ADMIN}\nadmin_password = {password}\n"
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
    log = folder / "server.log"
    proc = subprocess.Popen(
        [str(mlflow), "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--backend-store-uri", backend,
         "--artifacts-destination", str(artifacts), "--serve-artifacts"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.time() < deadline, "the basic-auth server did not start in 180 s"
                time.sleep(0.2)
        yield AuthServer(uri, ADMIN, password, backend)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@dataclass(frozen=True)
class AuthRun:
    """A run that registered into and served from a basic-auth server: what ``swingml run``
    printed and how it exited, and the model prefix it registered under."""

    run_dir: Path
    prefix: str
    args: list[str]
    output: str
    returncode: int


def run_against(server: AuthServer, law_run: Path, folder: Path) -> AuthRun:
    """``swingml run`` on a copy of the laws' finished run, pointed at ``server`` under a fresh
    model prefix, with the right credentials in the environment only: the build stages reuse
    the copy's work, ``train`` registers into the server and ``predict batch`` serves from it."""
    from command_line import LAW_SLICE, swingml

    run_dir = folder / "run"
    shutil.copytree(law_run, run_dir)
    prefix = f"a{uuid.uuid4().hex[:10]}-"
    sets = [
        *LAW_SLICE,
        f"registry.tracking_uri={server.uri}",
        f"registry.registry_uri={server.uri}",
        f"registry.model_prefix={prefix}",
    ]
    args = ["--profile", "integration-test", "--run-dir", str(run_dir)]
    args += [arg for item in sets for arg in ("--set", item)]
    saved = {k: os.environ.get(k) for k in CREDENTIAL_VARIABLES}
    os.environ.update(
        {"MLFLOW_TRACKING_USERNAME": server.username, "MLFLOW_TRACKING_PASSWORD": server.password}
    )
    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    try:
        done = swingml("run", *args)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return AuthRun(run_dir, prefix, args, f"{done.stdout}\n{done.stderr}", done.returncode)
