"""Readers that turn candle files into the contract frame (one module per file layout)."""
