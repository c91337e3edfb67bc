"""The Dockerfile's install steps, run natively in a fresh venv, so that the image cannot rot on
machines where containers cannot run (docs/decisions.md says why these cannot).

The fresh venv sees the dependencies already installed in the project's venv through a ``.pth``
line and pip may use its cache (pip still checks every requirement against ``constraints.txt``,
and builds and installs swingml itself from the source tree as the image does), which keeps the
test under a minute.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE_VENV = "/opt/venv"


def install_steps() -> list[str]:
    """The ``RUN`` commands between ``# install-steps`` and ``# end install-steps``."""
    text = (REPO / "Dockerfile").read_text()
    block = re.search(r"# install-steps.*?\n(.*?)# end install-steps", text, re.S)
    assert block is not None, "Dockerfile lost its install-steps markers"
    steps = [line.removeprefix("RUN ").strip() for line in block.group(1).splitlines()]
    return [s for s in steps if s and not s.startswith("#")]


def test_the_dockerfile_copies_what_the_install_needs() -> None:
    text = (REPO / "Dockerfile").read_text()
    copied = {p for line in re.findall(r"^COPY (.+) \S+$", text, re.M) for p in line.split()}
    assert {"pyproject.toml", "constraints.txt", "README.md", "src", "configs"} <= copied
    assert [s.split()[0] for s in install_steps()] == [
        "python3",
        f"{IMAGE_VENV}/bin/python",
        f"{IMAGE_VENV}/bin/swingml",
    ]


@pytest.mark.slow
def test_the_dockerfile_install_steps_work_in_a_fresh_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    for step in install_steps():
        command = step.replace(IMAGE_VENV, str(venv)).replace("python3 ", f"{sys.executable} ", 1)
        command = command.replace(" --no-cache-dir", "")  # the warm cache: same packages, faster
        if " -m venv " in command:
            subprocess.run(command, shell=True, cwd=REPO, check=True, env=env)
            site = _printed(venv, "import sysconfig; print(sysconfig.get_path('purelib'))")
            (Path(site) / "_project_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
            continue
        done = subprocess.run(
            command, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{step}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    where = _printed(
        venv, "import psycopg, swingml, swingml.config.loader as l; print(swingml.__file__)"
    )
    assert where.startswith(str(venv)), where  # the image's copy, not the project's editable one
    shown = subprocess.run(
        [str(venv / "bin" / "swingml"), "--version"], capture_output=True, text=True, check=True
    )
    assert shown.stdout.startswith("swingml ")


def _printed(venv: Path, code: str) -> str:
    """What ``code`` prints when the venv's own interpreter runs it."""
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()
