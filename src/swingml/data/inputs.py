"""The inputs of stage ``data``: each symbol's validated candles and their source's fingerprint.

A symbol's fingerprint is the hash of its files (with the column mapping, format and time unit
that read them), or for the synthetic market the generator version and settings: the stage
reuses the candles already written when it is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from swingml.config.data import DataConfig
from swingml.data.frame import LoadedCandles
from swingml.data.gaps import GapReport
from swingml.data.load import find_files, read_files
from swingml.data.synthetic import generate
from swingml.data.validate import validate_candles
from swingml.io.store import combine_fingerprints, file_fingerprint

SYNTHETIC_VERSION = 1
"""Bump when the synthetic generator changes: stored synthetic candles are then regenerated."""


@dataclass(frozen=True)
class Checked:
    """One symbol's validated candles, their gap report and input fingerprint."""

    loaded: LoadedCandles
    gaps: GapReport
    fingerprint: str


def synthetic_fingerprint(config: DataConfig) -> str:
    """Identity of the synthetic inputs: generator version, settings, symbols and interval."""
    payload = {
        "version": SYNTHETIC_VERSION,
        "synthetic": config.synthetic.model_dump(mode="json"),
        "symbols": list(config.symbols),
        "interval": config.interval,
    }
    return combine_fingerprints({"synthetic": json.dumps(payload, sort_keys=True)})


def file_fingerprints(config: DataConfig) -> dict[str, str]:
    """Identity of each symbol's files in ``data.dir`` and of how they are read."""
    prints: dict[str, str] = {}
    for symbol in config.symbols:
        files = find_files(config, symbol)
        parts = {p.name: file_fingerprint(p) for p in files.fingerprint_paths()}
        parts["format"] = files.format
        parts["columns"] = json.dumps(dict(config.columns), sort_keys=True)
        parts["timestamp_unit"] = config.timestamp_unit
        prints[symbol] = combine_fingerprints(parts)
    return prints


def wanted_fingerprints(config: DataConfig, synthetic: bool) -> dict[str, str]:
    """Every symbol's input fingerprint (one shared by all coins of the synthetic market)."""
    if synthetic:
        return dict.fromkeys(config.symbols, synthetic_fingerprint(config))
    return file_fingerprints(config)


def load_checked(config: DataConfig, symbols: Sequence[str], synthetic: bool) -> dict[str, Checked]:
    """Read and validate ``symbols``; raise on the first one that breaks a rule."""
    out: dict[str, Checked] = {}
    if synthetic:
        frames = generate(config)
        fingerprint = synthetic_fingerprint(config)
        for symbol in symbols:
            loaded = LoadedCandles(symbol=symbol, frame=frames[symbol], parts=())
            out[symbol] = Checked(
                loaded, validate_candles(loaded, config.interval_seconds), fingerprint
            )
        return out
    prints = file_fingerprints(config)
    for symbol in symbols:
        loaded = read_files(config, find_files(config, symbol))
        out[symbol] = Checked(
            loaded, validate_candles(loaded, config.interval_seconds), prints[symbol]
        )
    return out
