"""``swingml.config.redact``: what counts as a credential, what is masked, and where the one
function is applied (the JSON writer, the CLI's printed lines, the server check's messages)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swingml.cli import app
from swingml.config import load_config
from swingml.config.redact import (
    MASK,
    RedactingStream,
    credential_in,
    redact,
    redact_value,
    without_credentials,
)
from swingml.errors import BadInputError
from swingml.io.store import write_json_atomic
from swingml.registry.mlflow_registry import RegistryUnavailableError, _check_server, health_url

SECRET = "pw-4e1d7c0b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"MLflow server http://bob:{SECRET}@127.0.0.1:5055 is not reachable",
            "MLflow server http://***@127.0.0.1:5055 is not reachable",
        ),
        (
            f"https://gw.example/metrics?design=1&token={SECRET}",
            "https://gw.example/metrics?design=1&token=***",
        ),
        (
            f"https://s.example/o?X-Amz-Signature={SECRET}&x=1",
            "https://s.example/o?X-Amz-Signature=***&x=1",
        ),
        (f"ray://user:{SECRET}@head:10001", "ray://***@head:10001"),
        (f"export MLFLOW_TRACKING_PASSWORD={SECRET}", "export MLFLOW_TRACKING_PASSWORD=***"),
        (f"https://{SECRET}@github.com/org/repo", "https://***@github.com/org/repo"),
    ],
)
def test_redact_masks_the_credential_and_keeps_the_rest(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert credential_in(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "gs://bucket/runs/a@b",
        "http://127.0.0.1:5000",
        "https://h/x?design=1&max_tokens=5",
        "sa@project.iam.gserviceaccount.com",
        "tokens=3 keys=4",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text
    assert credential_in(text) is None


def test_values_of_secret_environment_variables_are_masked_anywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", SECRET)
    monkeypatch.setenv("SOME_FLAG", "longer-but-not-secret")
    assert redact(f"error: login {SECRET} refused") == f"error: login {MASK} refused"
    assert redact("longer-but-not-secret") == "longer-but-not-secret"


def test_redact_value_masks_secret_keys_and_strings_deep() -> None:
    value = {
        "config": {"registry": {"tracking_uri": f"http://u:{SECRET}@h:1"}},
        "db_password": SECRET,
        "items": [f"?token={SECRET}", 3, None],
        "token": "",
    }
    clean = redact_value(value)
    assert SECRET not in json.dumps(clean)
    assert clean["config"]["registry"]["tracking_uri"] == f"http://{MASK}@h:1"
    assert clean["items"][1:] == [3, None] and clean["token"] == ""


def test_without_credentials_is_what_to_use_instead() -> None:
    assert without_credentials(f"http://bob:{SECRET}@h:5055/p?token={SECRET}&a=1") == (
        "http://h:5055/p?a=1"
    )


def test_every_json_file_of_a_run_is_redacted(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    write_json_atomic(target, {"config": {"uri": f"http://bob:{SECRET}@h:1"}})
    assert SECRET not in target.read_text()


def test_printed_lines_are_redacted() -> None:
    sink = io.StringIO()
    stream = RedactingStream(sink)
    stream.write(f"pushing to https://gw/?token={SECRET}\n")
    assert SECRET not in sink.getvalue() and "https://gw/?token=" in sink.getvalue()


@pytest.mark.parametrize(
    "key",
    [
        "registry.tracking_uri",
        "registry.registry_uri",
        "monitoring.pushgateway_url",
        "data.fetch.rest_url",
        "executor.ray_address",
    ],
)
def test_a_credential_in_config_is_refused_naming_the_key(key: str) -> None:
    with pytest.raises(BadInputError) as caught:
        load_config("integration-test", overrides=[f"{key}=https://bob:{SECRET}@host:1/x"])
    message = str(caught.value)
    assert SECRET not in message
    assert f"--set: key {key}" in message and f"{key}=https://host:1/x" in message


def test_a_refused_uri_exits_2_without_repeating_it(tmp_path: Path) -> None:
    uri = f"http://bob:{SECRET}@127.0.0.1:5055"
    args = ["registry", "list", "--run-dir", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*args, "--set", f"registry.tracking_uri={uri}"])
    assert result.exit_code == 2
    assert SECRET not in result.output and "MLFLOW_TRACKING_USERNAME" in result.output
    assert not (tmp_path / "run").exists()


def test_the_server_check_parses_user_info_and_never_prints_it() -> None:
    uri = f"http://bob:{SECRET}@127.0.0.1:9/base/"
    assert health_url(uri) == "http://127.0.0.1:9/base/health"
    with pytest.raises(RegistryUnavailableError) as caught:
        _check_server(uri)
    message = str(caught.value)
    assert SECRET not in message and "Name or service not known" not in message
    assert f"http://{MASK}@127.0.0.1:9/base/" in message


def test_the_push_gateway_gets_basic_auth_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A credential for the push gateway goes in the environment (the URL refuses it)."""
    import base64
    import http.server
    import threading

    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    from swingml.workflow.monitoring_service import gateway_handler

    seen: list[str | None] = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(self.headers.get("Authorization"))
            self.send_response(200 if seen[-1] else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    registry = CollectorRegistry()
    Gauge("swingml_test", "a figure", registry=registry).set(1.0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.setenv("SWINGML_PUSHGATEWAY_USERNAME", "ops")
        monkeypatch.setenv("SWINGML_PUSHGATEWAY_PASSWORD", SECRET)
        push_to_gateway(url, job="swingml", registry=registry, handler=gateway_handler())
        monkeypatch.delenv("SWINGML_PUSHGATEWAY_PASSWORD")
        with pytest.raises(OSError):
            push_to_gateway(url, job="swingml", registry=registry, handler=gateway_handler())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert seen == [f"Basic {base64.b64encode(f'ops:{SECRET}'.encode()).decode()}", None]
