"""A tracking server with basic auth (``auth_server``: ``--app-name basic-auth`` on the suite's
PostgreSQL store, as ``SWINGML_MLFLOW_AUTH=1`` starts it): the right credentials from the
environment register and serve; wrong ones exit 1 naming the URI and the fix, with no traceback
and nothing registered; credentials in the URI are refused before anything runs (exit 2).
Also: the suite's server reaches its database as a role that is not a superuser, and binds
127.0.0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import backends
import psutil
import pytest
from typer.testing import CliRunner

from auth_server import AuthRun, AuthServer
from command_line import swingml
from swingml.cli import app
from swingml.registry.mlflow_registry import CHAMPION, model_name

PROFILE = ("--profile", "integration-test")


def _list(uri: str, run_dir: Path) -> object:
    args = ["registry", "list", "--run-dir", str(run_dir)]
    args += ["--set", f"registry.tracking_uri={uri}", "--set", f"registry.registry_uri={uri}"]
    return CliRunner().invoke(app, args, catch_exceptions=False)


def _login(monkeypatch: pytest.MonkeyPatch, server: AuthServer, password: str) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)


def _shared_copy(law_run: Path, folder: Path, uri: str) -> tuple[Path, list[str]]:
    """A copy of the laws' finished run pointed at ``uri`` under a model prefix of its own (its
    recorded config is the laws' slice, so no ``--profile`` is passed)."""
    run_dir = folder / "run"
    shutil.copytree(law_run, run_dir)
    sets = [f"registry.tracking_uri={uri}", f"registry.registry_uri={uri}"]
    sets.append(f"registry.model_prefix={backends.unique_prefix()}")
    return run_dir, [arg for item in sets for arg in ("--set", item)]


def _champions(server: AuthServer, prefix: str) -> dict[str, str]:
    """Registered model name -> the version its champion alias points at (none: absent), read
    from the server with the right credentials."""
    from mlflow import MlflowClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_USERNAME", server.username)
        patch.setenv("MLFLOW_TRACKING_PASSWORD", server.password)
        client = MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)
        found = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'")
        return {m.name: str(m.aliases.get(CHAMPION, "")) for m in found}


@pytest.mark.slow
def test_wrong_credentials_are_named_with_the_fix(
    auth_server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(monkeypatch, auth_server, "not-the-password")
    result = _list(auth_server.uri, tmp_path / "run")
    text = result.output.replace("\n", "")  # type: ignore[attr-defined]
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert auth_server.uri in text and "MLFLOW_TRACKING_PASSWORD" in text
    assert "Traceback" not in text
    _login(monkeypatch, auth_server, auth_server.password)
    assert _list(auth_server.uri, tmp_path / "run").exit_code == 0  # type: ignore[attr-defined]


@pytest.mark.slow
def test_right_credentials_register_and_serve(auth_server: AuthServer, auth_run: AuthRun) -> None:
    """``swingml run`` with the password in the environment only (``auth_run``): ``train``
    registers into the server and ``predict batch`` serves what its champion alias points at."""
    assert auth_run.returncode == 0, auth_run.output[-3000:]
    summary = json.loads((auth_run.run_dir / "summary.json").read_text())
    train = summary["stages"]["train"]
    assert train["registered"] == train["models"] > 0
    served = summary["stages"]["predict_batch"]["models"]
    assert len(served) == train["models"]
    champions = _champions(auth_server, auth_run.prefix)
    assert set(champions) == {model_name(main_id, "1h", auth_run.prefix) for main_id in served}
    for main_id, entry in served.items():
        assert entry["version"] == champions[model_name(main_id, "1h", auth_run.prefix)]


@pytest.mark.slow
def test_wrong_credentials_register_nothing(
    auth_server: AuthServer, law_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, sets = _shared_copy(law_run, tmp_path, auth_server.uri)
    prefix = sets[-1].split("=", 1)[1]
    _login(monkeypatch, auth_server, "not-the-password")
    done = swingml("train", "--run-dir", str(run_dir), *sets)
    output = (done.stdout + done.stderr).replace("\n", "")
    assert done.returncode == 1, output[-3000:]
    assert auth_server.uri in output and "MLFLOW_TRACKING_PASSWORD" in output
    assert "Traceback" not in output
    assert _champions(auth_server, prefix) == {}  # nothing half-registered
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stages"]["train"]["status"] == "failed"


def test_credentials_in_the_uri_are_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "pw-in-the-uri-7f3a9c"
    uri = f"http://bob:{secret}@127.0.0.1:5055"
    run_dir = tmp_path / "run"
    for key in ("registry.tracking_uri", "registry.registry_uri"):
        result = CliRunner().invoke(
            app, ["train", *PROFILE, "--run-dir", str(run_dir), "--set", f"{key}={uri}"]
        )
        text = result.output.replace("\n", " ")
        assert result.exit_code == 2, text
        assert key in text and "MLFLOW_TRACKING_PASSWORD" in text
        assert "http://127.0.0.1:5055" in text  # what to use instead
        assert secret not in text and "Traceback" not in text
    assert not run_dir.exists()


def test_the_suite_database_role_is_not_a_superuser() -> None:
    uri = backends.require_server()
    from auth_server import suite_store

    store = suite_store()
    if store is None:
        pytest.skip("the suite's server was not started by scripts/services.sh")
    import psycopg

    dsn = store[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
    assert row is not None and row[0] == "mlflow"
    assert row[1:] == (False, False, False)
    port = int(uri.rsplit(":", 1)[1])
    listening = [
        c.laddr.ip
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]
    assert listening and set(listening) == {"127.0.0.1"}, listening
