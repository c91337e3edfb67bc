"""Drift and performance monitoring of served champions.

Pure computation: the run's ``monitoring/`` files and exports are
``swingml.workflow.monitoring_service``.
"""
