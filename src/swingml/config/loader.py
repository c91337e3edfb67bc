"""Load and merge config layers, then validate them with errors that name the file and key."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from swingml.config.redact import credential_in, without_credentials
from swingml.config.root import Config
from swingml.errors import BadInputError

_SET_ORIGIN = "--set"


def config_dir() -> Path:
    """The folder holding ``base.yaml``, ``profiles/`` and ``grids/``.

    A source checkout keeps it at the repository root; an installed wheel ships a copy inside the
    package.
    """
    checkout = Path(__file__).resolve().parents[3] / "configs"
    if (checkout / "base.yaml").is_file():
        return checkout
    return Path(__file__).resolve().parents[1] / "_configs"


def profile_names() -> list[str]:
    """The profiles that ship with swingml."""
    return sorted(p.stem for p in (config_dir() / "profiles").glob("*.yaml"))


def load_config(
    profile: str | None = None,
    files: Iterable[str | Path] = (),
    overrides: Iterable[str] = (),
    run_dir: str | Path | None = None,
    recorded: tuple[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Merge base, profile, extra files and ``dotted.key=value`` overrides into a ``Config``.

    ``recorded`` is ``(origin, config)`` of an existing run: the config the run was built with,
    layered right after ``base.yaml`` so that profile, files and overrides apply on top of it.
    """
    origins: dict[tuple[str, ...], str] = {}
    merged: dict[str, Any] = {}
    layers: list[Path] = [config_dir() / "base.yaml"]
    if profile is not None:
        path = config_dir() / "profiles" / f"{profile}.yaml"
        if not path.is_file():
            raise BadInputError(
                f"--profile {profile}",
                "unknown profile",
                f"use one of: {', '.join(profile_names())}",
            )
        layers.append(path)
    layers.extend(Path(f) for f in files)
    for index, layer in enumerate(layers):
        data = _read_yaml(layer)
        data.pop("extends", None)
        _merge(merged, data, str(layer), origins, ())
        if index == 0 and recorded is not None:
            _merge(merged, recorded[1], recorded[0], origins, ())
    for override in overrides:
        key, value = _parse_override(override)
        _merge(merged, _nest(key, value), _SET_ORIGIN, origins, ())
    if profile is not None:
        _merge(merged, {"run": {"profile": profile}}, f"--profile {profile}", origins, ())
    if run_dir is not None:
        _merge(merged, {"run": {"dir": str(run_dir)}}, "--run-dir", origins, ())
    _refuse_credentials(merged, origins, ())
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        raise _explain(exc, origins) from None


_MLFLOW_FIX = (
    "put the credentials in MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or "
    "MLFLOW_TRACKING_TOKEN) in the environment, which MLflow reads"
)
_EXCHANGE_FIX = "the public endpoints need none: swingml sends no credentials to the exchange"
CREDENTIAL_FIXES: dict[str, str] = {
    "registry.tracking_uri": _MLFLOW_FIX,
    "registry.registry_uri": _MLFLOW_FIX,
    "monitoring.pushgateway_url": "put the gateway's basic-auth credentials in "
    "SWINGML_PUSHGATEWAY_USERNAME and SWINGML_PUSHGATEWAY_PASSWORD in the environment",
    "data.fetch.base_url": _EXCHANGE_FIX,
    "data.fetch.rest_url": _EXCHANGE_FIX,
}
"""What to do instead, per key that can carry a credential (the exit-2 message says it)."""
DEFAULT_FIX = (
    "credentials come from the environment (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD "
    "for MLflow) or Application Default Credentials (Cloud Storage, Vertex AI)"
)


def _refuse_credentials(
    node: Any, origins: Mapping[tuple[str, ...], str], path: tuple[str, ...]
) -> None:
    """Exit 2 on any config value that holds a credential (user info in a URL, a ``?token=``):
    the resolved config is recorded in ``manifest.json`` and compiled pipelines, which teams
    share, so credentials come from the environment. The message never repeats the value."""
    if isinstance(node, Mapping):
        for key, child in node.items():
            _refuse_credentials(child, origins, (*path, str(key)))
    elif isinstance(node, list | tuple):
        for child in node:
            _refuse_credentials(child, origins, path)
    elif isinstance(node, str) and (found := credential_in(node)) is not None:
        key = ".".join(path)
        origin = next(
            (origins[path[:cut]] for cut in range(len(path), 0, -1) if path[:cut] in origins),
            "config",
        )
        clean = without_credentials(node)
        raise BadInputError(
            f"{origin}: key {key}",
            f"holds a credential ({found}); swingml records its config in manifest.json, "
            "summary.json and compiled pipelines, so it takes no credentials from config",
            f"use {key}={clean}; {CREDENTIAL_FIXES.get(key, DEFAULT_FIX)}",
        )


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BadInputError(str(path), "config file not found", "check the path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadInputError(str(path), f"not valid YAML: {exc}", "fix the YAML syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInputError(str(path), "a config file must be a mapping of sections", "")
    return data


def _parse_override(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise BadInputError(
            f"--set {text}",
            "an override must look like dotted.key=value",
            "e.g. --set data.interval=15m",
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def _merge(
    into: dict[str, Any],
    layer: Mapping[str, Any],
    origin: str,
    origins: dict[tuple[str, ...], str],
    prefix: tuple[str, ...],
) -> None:
    for key, value in layer.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value, origin, origins, path)
        else:
            into[key] = copy.deepcopy(value)
            origins[path] = origin
            _mark_children(value, origin, origins, path)


def _mark_children(
    value: Any, origin: str, origins: dict[tuple[str, ...], str], path: tuple[str, ...]
) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            child_path = (*path, str(key))
            origins[child_path] = origin
            _mark_children(child, origin, origins, child_path)


def _explain(exc: ValidationError, origins: Mapping[tuple[str, ...], str]) -> BadInputError:
    first = exc.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    key = ".".join(loc) or "<root>"
    origin = "config"
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in origins:
            origin = origins[loc[:cut]]
            break
    kind = first["type"]
    if kind == "extra_forbidden":
        rule = "unknown key"
        fix = "remove it or check its spelling against configs/base.yaml"
    else:
        rule = f"{first['msg']} (got {first.get('input')!r})"
        fix = "see configs/base.yaml for the allowed values"
    more = len(exc.errors()) - 1
    if more:
        rule += f"; and {more} more problem(s)"
    return BadInputError(f"{origin}: key {key}", rule, fix)
