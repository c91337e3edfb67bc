"""Production training: fixed LightGBM parameters, the macro-AP metric, hold-out scoring."""
