"""The swingml image, built with podman from a Debian base made by mmdebstrap, runs
``swingml --version`` and the ``integration-test`` profile.

Opt-in (``SWINGML_TEST_CONTAINER=1``): a cold build downloads every wheel and a base system
(minutes), too slow for the suite's budget; ``test_image.py`` runs the same install steps
natively on every ``make test``. Needs podman, runc and mmdebstrap (Debian packages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE = "localhost/debian-python:bookworm"
IMAGE = "localhost/swingml:test"
# What podman needs on machines like the project's (docs/decisions.md).
RUN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SWINGML_TEST_CONTAINER") != "1",
        reason="opt-in: SWINGML_TEST_CONTAINER=1 (builds the image, minutes)",
    ),
]


def _podman(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    assert done.returncode == 0, (
        f"podman {' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return done


def _base(tmp_path: Path) -> None:
    if subprocess.run(["podman", "image", "exists", BASE], check=False).returncode == 0:
        return
    tar = tmp_path / "base.tar"
    subprocess.run(
        ["mmdebstrap", "--variant=apt", "--include=python3,python3-venv,ca-certificates,libgomp1",
         "bookworm", str(tar)],
        check=True, capture_output=True, timeout=1200,
    )  # fmt: skip
    _podman("import", str(tar), BASE)


def test_the_image_builds_and_runs_the_integration_profile(tmp_path: Path) -> None:
    assert shutil.which("podman") and shutil.which("mmdebstrap"), (
        "apt-get install podman runc mmdebstrap"
    )
    _base(tmp_path)
    mounts = ["-v", "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro"]
    if Path("/etc/pip.conf").is_file():
        mounts += ["-v", "/etc/pip.conf:/etc/pip.conf:ro"]
    _podman(
        "build", *RUN_FLAGS, "--network", "host", *mounts, "--build-arg", f"BASE={BASE}",
        "-t", IMAGE, ".",
    )  # fmt: skip
    version = _podman("run", "--rm", *RUN_FLAGS, IMAGE, "--version")
    assert version.stdout.startswith("swingml ")
    runs = tmp_path / "runs"
    runs.mkdir()
    _podman(
        "run", "--rm", *RUN_FLAGS, "-v", f"{runs}:/work/runs", IMAGE,
        "run", "--profile", "integration-test", "--run-dir", "/work/runs/it",
        timeout=1200,
    )  # fmt: skip
    summary = (runs / "it" / "summary.json").read_text()
    assert '"train"' in summary and '"status": "done"' in summary
    assert list((runs / "it" / "training" / "models").glob("*.txt"))
