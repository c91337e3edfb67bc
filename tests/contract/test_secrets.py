"""The secrets law (SPEC §11, issue 25): nothing swingml writes or prints holds a secret.

One secret, unique to the session, is planted everywhere a credential can enter:

- in the environment, where credentials belong: it is the password of the basic-auth MLflow
  server (``auth_server``) that the integration-test profile registers into and serves from, so
  the run really uses it;
- in every config key that can carry one (tracking/registry URIs, push gateway, exchange URLs,
  Ray address), as user info and as a ``?token=`` parameter, through ``--set``, a ``--config``
  file and a run's recorded ``manifest.json``: each is refused with exit 2 naming the key and
  what to do instead, before anything is written.

Then the profile runs end to end (``auth_run``: ``swingml run`` on a copy of the session's
``law_run``; the build stages, which read no credential, reuse its work, ``train`` registers into
the auth server and ``predict batch`` serves from it), and ``report``, ``registry list|versions``,
``monitor``, ``deploy compile`` and ``deploy submit --dry-run`` run on it; every file written (the
run directory, the report, the compiled pipelines), everything printed and every registry tag and
parameter of the registered versions is searched: the secret appears nowhere.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auth_server import AuthRun, AuthServer
from command_line import swingml
from swingml.cli import app

PROFILE = "integration-test"
CREDENTIAL_KEYS = (
    "registry.tracking_uri",
    "registry.registry_uri",
    "monitoring.pushgateway_url",
    "data.fetch.base_url",
    "data.fetch.rest_url",
    "executor.ray_address",
)
"""Every config key whose value is an address a credential could be written into."""
DEPLOY = ("--profile", "central-dev")


@dataclass
class Planted:
    """The finished run and everything the law searches."""

    secret: str
    server: AuthServer
    prefix: str
    run_dir: Path
    folders: list[Path]
    printed: dict[str, str] = field(default_factory=dict)
    exits: dict[str, int] = field(default_factory=dict)


def _forms(secret: str, uri: str) -> list[str]:
    host = uri.split("://", 1)[1]
    return [f"http://admin:{secret}@{host}", f"http://{host}/?token={secret}"]


def _record(planted: Planted, label: str, done: subprocess.CompletedProcess[str]) -> None:
    """Keep what a ``swingml`` child process printed and how it exited."""
    planted.printed[label] = f"{done.stdout}\n{done.stderr}"
    planted.exits[label] = done.returncode


def _invoke(planted: Planted, label: str, *args: str) -> None:
    """Run ``swingml ARGS`` in this process (faster than a child for a refused command)."""
    result = CliRunner().invoke(app, list(args))
    planted.printed[label] = result.output
    planted.exits[label] = result.exit_code


@pytest.fixture(scope="module")
def planted(
    auth_server: AuthServer, auth_run: AuthRun, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Planted]:
    secret = auth_server.password
    root = tmp_path_factory.mktemp("secrets")
    run_dir = auth_run.run_dir
    planted = Planted(secret, auth_server, auth_run.prefix, run_dir, [run_dir, root])
    planted.printed["run"], planted.exits["run"] = auth_run.output, auth_run.returncode
    assert auth_run.returncode == 0, auth_run.output[-3000:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_USERNAME", auth_server.username)
        patch.setenv("MLFLOW_TRACKING_PASSWORD", secret)
        patch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
        at = ["--run-dir", str(run_dir)]
        _record(planted, "report", swingml("report", *at))
        _record(planted, "report json", swingml("report", *at, "--format", "json"))
        _record(planted, "registry list", swingml("registry", "list", *at))
        name = f"{auth_run.prefix}BTCUSDT-w3-high-1h"
        _record(planted, "registry versions", swingml("registry", "versions", name, *at))
        _record(planted, "monitor", swingml("monitor", *at))
        target = str(root / "deploy" / "pipeline.yaml")
        _record(planted, "deploy compile", swingml("deploy", "compile", *DEPLOY, "-o", target))
        _record(planted, "submit", swingml("deploy", "submit", *DEPLOY, "--dry-run"))
        _refusals(planted, root)
        yield planted


def _refusals(planted: Planted, root: Path) -> None:
    """Every credential-bearing key with the secret in it, through every way config comes in."""
    run = ["--run-dir", str(planted.run_dir)]
    commands = [
        ["run", "--profile", PROFILE, *run],
        ["report", *run],
        ["registry", "list", *run],
        ["monitor", *run],
        ["deploy", "compile", *DEPLOY, "-o", str(root / "refused" / "p.yaml")],
        ["deploy", "submit", *DEPLOY, "--dry-run"],
    ]
    cases = 0
    for key in CREDENTIAL_KEYS:
        for value in _forms(planted.secret, planted.server.uri):
            command = commands[cases % len(commands)]
            cases += 1
            _invoke(planted, f"refused {key} #{cases}", *command, "--set", f"{key}={value}")
    layer = root / "planted.yaml"
    layer.write_text(
        f"registry:\n  tracking_uri: {_forms(planted.secret, planted.server.uri)[0]}\n"
    )
    _invoke(planted, "refused --config", "registry", "list", *run, "--config", str(layer))
    layer.unlink()  # planted by the test, not written by swingml
    old = root / "legacy-run"
    old.mkdir()
    manifest = {"config": {"registry": {"registry_uri": _forms(planted.secret, "http://h:1")[1]}}}
    (old / "manifest.json").write_text(json.dumps(manifest))
    _invoke(planted, "refused manifest", "registry", "list", "--run-dir", str(old))
    (old / "manifest.json").unlink()  # the planted file itself is not something swingml wrote


@pytest.mark.slow
def test_the_secret_was_used(planted: Planted) -> None:
    """The run registered into the basic-auth server, which only the planted password opens."""
    summary = json.loads((planted.run_dir / "summary.json").read_text())
    train = summary["stages"]["train"]
    assert train["status"] == "done" and train["registered"] == train["models"] > 0
    for label in ("report", "report json", "registry list", "registry versions"):
        assert planted.exits[label] == 0, planted.printed[label][-2000:]
    assert planted.exits["monitor"] in (0, 1), planted.printed["monitor"][-2000:]
    assert planted.exits["deploy compile"] == 0, planted.printed["deploy compile"][-2000:]
    assert planted.exits["submit"] == 0, planted.printed["submit"][-2000:]


@pytest.mark.slow
def test_credentials_in_config_are_refused_naming_the_key(planted: Planted) -> None:
    refused = {k: v for k, v in planted.printed.items() if k.startswith("refused")}
    assert len(refused) == 2 * len(CREDENTIAL_KEYS) + 2
    for label, text in refused.items():
        flat = " ".join(text.split())
        assert planted.exits[label] == 2, (label, flat[-2000:])
        assert "holds a credential" in flat and "Traceback" not in flat, (label, flat)
        key = label.split()[1] if label.split()[1] in CREDENTIAL_KEYS else None
        if key is not None:
            assert f"key {key}" in flat, (label, flat)
        if key is None or key.startswith("registry."):
            assert "MLFLOW_TRACKING_PASSWORD" in flat, (label, flat)
        if key == "monitoring.pushgateway_url":
            assert "SWINGML_PUSHGATEWAY_PASSWORD" in flat, (label, flat)
    assert "manifest.json" in " ".join(planted.printed["refused manifest"].split())


@pytest.mark.slow
def test_the_secret_is_nowhere(planted: Planted) -> None:
    needle = planted.secret.encode()
    files = [p for folder in planted.folders for p in folder.rglob("*") if p.is_file()]
    assert len(files) > 100  # the run directory, the report, the compiled pipelines
    holding = [str(p) for p in files if needle in p.read_bytes()]
    assert holding == [], holding
    printed = [label for label, text in planted.printed.items() if planted.secret in text]
    assert printed == [], printed


@pytest.mark.slow
def test_no_registry_tag_or_parameter_holds_the_secret(planted: Planted) -> None:
    from mlflow import MlflowClient

    env = {"MLFLOW_TRACKING_USERNAME": planted.server.username}
    env["MLFLOW_TRACKING_PASSWORD"] = planted.secret
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        client = MlflowClient(tracking_uri=planted.server.uri, registry_uri=planted.server.uri)
        models = client.search_registered_models(filter_string=f"name LIKE '{planted.prefix}%'")
        assert models
        seen = []
        for model in models:
            seen.append(json.dumps(dict(model.tags)))
            for version in client.search_model_versions(f"name = '{model.name}'"):
                seen.append(json.dumps(dict(version.tags)) + str(version.source))
                if version.run_id:
                    data = client.get_run(version.run_id).data
                    seen.append(json.dumps([data.tags, data.params]))
    assert len(seen) > len(models)
    assert not [text for text in seen if planted.secret in text]
