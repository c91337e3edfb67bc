"""What training and tuning share: a variant's rows, purged CV splits, parameter spaces.

Both ``swingml.training`` and ``swingml.tuning`` import from here; this package imports neither.
"""
