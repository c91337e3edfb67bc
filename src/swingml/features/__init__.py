"""Feature generation (SPEC §3): five generator families, transforms, higher timeframes and
cross-coin relations, written as a column-blocked Parquet store with per-feature metadata.

Modules: ``base`` (the generator contract and registry), one module per family (``candlestick``,
``technical``, ``temporal``, ``market_structure``, ``volatility``), ``transforms``, ``timeframes``,
``cross_coin``, ``profiles`` (tiny/small/full), ``plan`` (every column before computing),
``compute`` (pure column stream), ``generate`` (blocks → Parquet, the stage's task bodies),
``layout`` (prefixes and block sizes), ``metadata`` (``metadata.json`` and the stage's summary)
and ``matrix`` (the reading API).
"""
