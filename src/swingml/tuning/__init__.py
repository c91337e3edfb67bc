"""The four budgeted tuning stages: purged CV, search spaces, stages as data, one driver."""
