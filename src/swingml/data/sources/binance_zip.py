"""Binance public-data monthly kline zips (``<SYMBOL>-<interval>-<YYYY-MM>.zip``) and checksums.

Each zip holds one CSV in the kline layout (see ``binance_json.KLINE_FIELDS``): headerless in the
classic files, with a header row in some newer ones; spot files from 2025 on carry microsecond
timestamps, which are detected per file and scaled to milliseconds. A ``<zip>.CHECKSUM`` file
beside a zip (``<sha256>  <filename>``) is verified before the zip is read. Line numbers in
messages are lines of the CSV inside the zip.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from swingml.data.frame import FilePart, LoadedCandles, build_frame, concat_loaded
from swingml.data.sources.binance_json import columns_from_rows
from swingml.errors import BadInputError

MONTHLY_ZIP = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\w+)-(?P<month>\d{4}-\d{2})\.zip$")
"""The Binance public-data monthly file name."""

MICROSECOND_EPOCH = 10**14
"""An open time at or above this is in microseconds (ms epochs stay below it until year 5138)."""


def checksum_path(zip_path: Path) -> Path:
    """Where the ``.CHECKSUM`` of a zip lives (beside it, same name + ``.CHECKSUM``)."""
    return zip_path.with_name(zip_path.name + ".CHECKSUM")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_checksum(text: str, source: str) -> tuple[str, str]:
    """Parse ``<sha256>  <filename>``; a malformed file is a ``BadInputError``."""
    parts = text.strip().split()
    if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
        raise BadInputError(
            source,
            "a .CHECKSUM file holds one line '<sha256>  <filename>'",
            "delete it and download it again (swingml data fetch)",
        )
    return parts[0].lower(), parts[1]


def verify_checksum(zip_path: Path) -> bool:
    """Check a zip against its ``.CHECKSUM`` if there is one; return whether one was checked."""
    check = checksum_path(zip_path)
    if not check.is_file():
        return False
    expected, name = parse_checksum(check.read_text(encoding="utf-8", errors="replace"), str(check))
    if name != zip_path.name:
        raise BadInputError(
            str(check),
            f"the checksum is for {name!r}, not {zip_path.name!r}",
            "download the matching .CHECKSUM file",
        )
    actual = sha256_of(zip_path)
    if actual != expected:
        raise BadInputError(
            str(zip_path),
            f"SHA-256 {actual[:16]}… does not match {check.name} ({expected[:16]}…)",
            "the zip is corrupt or altered: delete it and run swingml data fetch again",
        )
    return True


def month_of(path: Path) -> str:
    """The ``YYYY-MM`` of a monthly zip name."""
    match = MONTHLY_ZIP.match(path.name)
    if match is None:
        raise BadInputError(str(path), "not a <SYMBOL>-<interval>-<YYYY-MM>.zip name", "rename it")
    return match.group("month")


def read_zip_member(path: Path) -> tuple[str, bytes]:
    """The one CSV inside a monthly zip; a corrupt or truncated archive is a ``BadInputError``."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1 or not members[0].lower().endswith(".csv"):
                raise BadInputError(
                    str(path),
                    f"a monthly kline zip holds exactly one .csv file; found {members}",
                    "use the Binance public-data zips unchanged",
                )
            return members[0], archive.read(members[0])
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise BadInputError(
            str(path),
            f"not a valid zip archive (corrupt or truncated: {exc})",
            "delete it and run swingml data fetch again",
        ) from None


def read_binance_zip(path: Path, symbol: str) -> LoadedCandles:
    """Read one monthly kline zip (checksum verified when present) into the contract frame."""
    verified = verify_checksum(path)
    member, raw = read_zip_member(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{path.name}:{member}", "not UTF-8 text", "re-download it") from None
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    first_line = 1
    if rows and rows[0] and not rows[0][0].strip().lstrip("-").isdigit():
        rows = rows[1:]
        first_line = 2
    if not rows:
        raise BadInputError(
            f"{path}:{member}", "empty: the CSV has no kline rows", "re-download the month"
        )
    open_time, close_time, floats = columns_from_rows(rows, path, "line", first_line, member)
    if open_time[0] >= MICROSECOND_EPOCH:
        open_time = open_time // 1000
        close_time = close_time // 1000
    frame = build_frame(open_time, floats)
    return LoadedCandles(
        symbol=symbol,
        frame=frame,
        parts=(FilePart(path, 0, len(frame), first_line, "line", member),),
        close_time_ms=close_time,
        checksums_verified=int(verified),
        files=(path,),
    )


def read_monthly_zips(paths: Sequence[Path], symbol: str) -> LoadedCandles:
    """Read a symbol's monthly zips in month order and concatenate them."""
    ordered = sorted(paths, key=month_of)
    return concat_loaded(symbol, [read_binance_zip(p, symbol) for p in ordered])
