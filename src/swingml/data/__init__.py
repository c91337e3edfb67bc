"""Candle data layer: file sources, validation, gap reporting, synthetic market, Binance fetch."""
