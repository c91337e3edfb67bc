"""How a command runs: the stage order and ``summary.json`` (``pipeline``), reading a run's
datasets back as a stage's inputs (``loading``), the registry opened once for serving
(``serving``) and the monitoring service over the prediction store (``monitoring_service``)."""
