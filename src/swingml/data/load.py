"""Find a symbol's candle files in ``data.dir`` and read them with the right source.

Naming (SPEC §11): one file ``<SYMBOL>-<interval>.<ext>`` with ext ``.json``, ``.json.gz``,
``.csv`` or ``.parquet``; or Binance monthly zips ``<SYMBOL>-<interval>-<YYYY-MM>.zip`` (each
with an optional ``.CHECKSUM`` beside it), concatenated in month order. ``data.format: auto``
picks the reader by extension; more than one layout for the same symbol is ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swingml.config.data import DataConfig
from swingml.data.frame import LoadedCandles
from swingml.data.sources.binance_json import read_binance_json
from swingml.data.sources.binance_zip import MONTHLY_ZIP, checksum_path, read_monthly_zips
from swingml.data.sources.tabular import read_csv, read_parquet
from swingml.errors import BadInputError

SINGLE_FILE_FORMATS: dict[str, str] = {
    ".json.gz": "binance_json",
    ".json": "binance_json",
    ".csv": "csv",
    ".parquet": "parquet",
}
"""Extension → reader of the one-file-per-symbol layout."""


@dataclass(frozen=True)
class SymbolFiles:
    """The files that hold one symbol's candles and the reader that reads them."""

    symbol: str
    format: str
    paths: tuple[Path, ...]

    def fingerprint_paths(self) -> tuple[Path, ...]:
        """Every file whose bytes the candles depend on (zips and their checksums)."""
        extra = tuple(checksum_path(p) for p in self.paths if checksum_path(p).is_file())
        return self.paths + extra


def data_dir(config: DataConfig) -> Path:
    """``data.dir`` as a path; it must be set and exist."""
    if config.dir is None:
        raise BadInputError(
            "config key data.dir",
            "is null (the synthetic market); this command needs a folder of candle files",
            "--set data.dir=<folder>",
        )
    folder = Path(config.dir)
    if not folder.is_dir():
        raise BadInputError(
            f"config key data.dir={config.dir}", "is not an existing folder", "check the path"
        )
    return folder


def find_files(config: DataConfig, symbol: str) -> SymbolFiles:
    """Locate ``symbol``'s files for ``data.interval`` in ``data.dir`` (see module docstring)."""
    folder = data_dir(config)
    stem = f"{symbol}-{config.interval}"
    found: dict[str, tuple[Path, ...]] = {}
    for ext, fmt in SINGLE_FILE_FORMATS.items():
        path = folder / f"{stem}{ext}"
        if path.is_file() and fmt not in found:
            found[fmt] = (path,)
        elif path.is_file():
            found[f"{fmt} ({ext})"] = (path,)
    zips = tuple(
        sorted(
            p
            for p in folder.glob(f"{stem}-*.zip")
            if (m := MONTHLY_ZIP.match(p.name))
            and m.group("symbol") == symbol
            and m.group("interval") == config.interval
        )
    )
    if zips:
        found["binance_zip"] = zips
    if config.format != "auto":
        found = {k: v for k, v in found.items() if k == config.format}
    if not found:
        wanted = (
            "binance_zip" if config.format == "binance_zip" else f"{stem}.json[.gz]|.csv|.parquet"
        )
        raise BadInputError(
            f"{folder}",
            f"no candle file for {symbol} at interval {config.interval} "
            f"(looked for {wanted} or {stem}-YYYY-MM.zip)",
            "check data.dir, data.symbols and data.interval, or run swingml data fetch",
        )
    if len(found) > 1:
        names = [p.name for paths in found.values() for p in paths[:1]]
        raise BadInputError(
            f"{folder}",
            f"more than one candle layout for {symbol}: {names}",
            "keep one, or pick one with --set data.format=<binance_json|binance_zip|csv|parquet>",
        )
    fmt, paths = next(iter(found.items()))
    return SymbolFiles(symbol=symbol, format=fmt, paths=paths)


def read_files(config: DataConfig, files: SymbolFiles) -> LoadedCandles:
    """Read located files with their reader (no validation yet)."""
    if files.format == "binance_json":
        return read_binance_json(files.paths[0], files.symbol)
    if files.format == "binance_zip":
        return read_monthly_zips(files.paths, files.symbol)
    if files.format == "csv":
        return read_csv(files.paths[0], files.symbol, config.columns, config.timestamp_unit)
    return read_parquet(files.paths[0], files.symbol, config.columns, config.timestamp_unit)


def load_symbol(config: DataConfig, symbol: str) -> LoadedCandles:
    """Locate and read one symbol's candles from ``data.dir`` (not validated)."""
    return read_files(config, find_files(config, symbol))
