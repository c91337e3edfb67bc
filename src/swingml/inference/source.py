"""Where a live cycle's new bars come from (``inference.source``), read and merged (no writes).

``files``: ``<SYMBOL>-<interval>.<ext>`` files in ``inference.new_candles_dir``, else ``data.dir``;
``rest``: the closed bars after each symbol's last stored bar from the exchange's klines API, all
cut at one server time. Every symbol's rows are validated and merged before the stage appends
any of them, so a bad file leaves the run as it was.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from swingml.config import Config, DataConfig
from swingml.data.append import Merged, merge_new_bars
from swingml.data.frame import LoadedCandles, timestamps_ms
from swingml.data.klines import fetch_closed, policy_of, server_time_ms
from swingml.data.load import load_symbol
from swingml.errors import BadInputError


def files_source(config: Config) -> DataConfig:
    """Where a files source reads: ``inference.new_candles_dir``, else ``data.dir``."""
    folder = config.inference.new_candles_dir or config.data.dir
    if folder is None:
        raise BadInputError(
            "config key inference.new_candles_dir",
            "is null and so is data.dir (the synthetic market has no new bars to read)",
            "--set inference.new_candles_dir=<folder with <SYMBOL>-<interval>.<ext> files>, "
            "or --set inference.source=rest",
        )
    return config.data.model_copy(update={"dir": folder})


def incoming(
    config: Config, stored: Mapping[str, pd.DataFrame]
) -> tuple[str, dict[str, LoadedCandles]]:
    """Each symbol's new rows as read from the source (not validated), and the source's name."""
    if config.inference.source == "rest":
        policy = policy_of(config.data)
        now = server_time_ms(config.data.fetch.rest_url, policy)  # one cut for every symbol
        out: dict[str, LoadedCandles] = {}
        for symbol, frame in stored.items():
            since = int(timestamps_ms(frame)[-1])
            out[symbol] = fetch_closed(config.data, symbol, since, policy, now).loaded
        return config.data.fetch.rest_url, out
    source = files_source(config)
    return str(source.dir), {s: load_symbol(source, s) for s in stored}


def merge_sources(
    stored: Mapping[str, pd.DataFrame], loaded: Mapping[str, LoadedCandles], interval_s: int
) -> dict[str, Merged]:
    """Every symbol's new rows validated and merged (raises before anything is written)."""
    return {s: merge_new_bars(stored[s], loaded[s], interval_s) for s in stored}


def read_new_bars(
    config: Config, stored: Mapping[str, pd.DataFrame]
) -> tuple[str, dict[str, Merged]]:
    """The source's name and every symbol's stored candles merged with its new bars."""
    source, loaded = incoming(config, stored)
    return source, merge_sources(stored, loaded, config.data.interval_seconds)
