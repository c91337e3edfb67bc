"""A real Cloud Storage JSON API on loopback: ``gcp-storage-emulator`` in a child process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BUCKET = "swingml-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def emulator(data_dir: Path) -> Iterator[str]:
    """Start the emulator with bucket ``BUCKET``; yield its ``http://127.0.0.1:<port>`` URL."""
    port = _free_port()
    exe = Path(sys.executable).with_name("gcp-storage-emulator")
    proc = subprocess.Popen(
        [
            str(exe),
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--in-memory",
            f"--default-bucket={BUCKET}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=data_dir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "gcp-storage-emulator exited at start"
            try:
                with urllib.request.urlopen(f"{url}/storage/v1/b/{BUCKET}", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "gcp-storage-emulator did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


def environment(url: str) -> dict[str, str]:
    """The environment of a child ``swingml`` pointed at the emulator."""
    return {**os.environ, "STORAGE_EMULATOR_HOST": url}
