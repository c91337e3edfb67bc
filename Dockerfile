# The swingml image: the CLI with its configs and the PostgreSQL driver of the shared registry
# (the image the cloud profiles' `deploy.image` names, and the `swingml`/`mlflow` services of
# compose.yaml).
#
# No base image can be pulled on machines without a registry: build one from Debian packages and
# pass it as BASE, for example
#   mmdebstrap --variant=apt --include=python3,python3-venv,ca-certificates,libgomp1 bookworm - \
#     | podman import - localhost/debian-python:bookworm
#   podman build --build-arg BASE=localhost/debian-python:bookworm -t swingml .
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}

# Python with venv, and the OpenMP runtime LightGBM links against; from Debian where missing.
RUN missing=""; \
    python3 -c "import venv, ensurepip" 2>/dev/null || missing="python3 python3-venv"; \
    ldconfig -p | grep -q libgomp.so.1 || missing="$missing libgomp1"; \
    if [ -n "$missing" ]; then \
        apt-get update && apt-get install -y --no-install-recommends ca-certificates $missing \
        && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /opt/swingml
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
COPY configs ./configs

# install-steps (tests/registry/test_image.py runs these natively in a fresh venv)
RUN python3 -m venv /opt/venv
RUN /opt/venv/bin/python -m pip install --no-cache-dir -c constraints.txt ".[server]"
RUN /opt/venv/bin/swingml --version
# end install-steps

# GIT_PYTHON_REFRESH: the image has no git; MLflow would print a 20-line warning per logged run
ENV PATH=/opt/venv/bin:$PATH \
    MLFLOW_DISABLE_TELEMETRY=true \
    GIT_PYTHON_REFRESH=quiet \
    PYTHONUNBUFFERED=1
WORKDIR /work
ENTRYPOINT ["swingml"]
CMD ["--help"]
