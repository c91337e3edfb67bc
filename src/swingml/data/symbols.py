"""Trading-pair symbol helpers shared by every stage (feature prefixes, file names)."""

from __future__ import annotations

QUOTE_ASSETS: tuple[str, ...] = ("FDUSD", "USDT", "BUSD", "USDC", "USD")
"""Quote assets stripped by `short_name`, longest first so `FDUSD` wins over `USD`."""


def short_name(symbol: str) -> str:
    """Return the base asset of a pair: ``short_name("BTCUSDT") == "BTC"``.

    Strips one trailing quote asset (USDT, BUSD, USDC, FDUSD, USD); a symbol that is
    only a quote asset, or has none, is returned unchanged (upper-cased).
    """
    upper = symbol.upper()
    for quote in QUOTE_ASSETS:
        if upper.endswith(quote) and len(upper) > len(quote):
            return upper[: -len(quote)]
    return upper
