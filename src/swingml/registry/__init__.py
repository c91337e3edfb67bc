"""The MLflow model registry: 36 named models, versions with tags, the ``champion`` alias."""
