"""Drift and performance monitoring of served champions.

Pure computation, except ``service.py``: the run's ``monitoring/`` files and exports.
"""
