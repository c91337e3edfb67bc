"""Drift and performance monitoring of served champions (pure computation; IO in stages/monitor)."""
