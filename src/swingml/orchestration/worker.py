"""The local pool's worker process: a fresh interpreter that runs one task at a time.

Started as ``python -m swingml.orchestration.worker <fd> <parent pid>`` with its thread-count
variables already in its environment; ``fd`` is its end of a socket pair to the parent. Messages
(pickled tuples):

- parent → worker: ``("init", sys_path)`` once, then ``("task", attempt_id, payload, artifacts,
  log_path, header)`` or ``("stop",)``;
- worker → parent: ``("ready", pid)`` once, then ``("done", attempt_id, Outcome)`` per task.

The worker ignores Ctrl-C (the parent decides when it stops) and dies with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from swingml.config.redact import RedactingFilter
from swingml.orchestration.attempt import execute

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """End this process when the parent goes away, even by SIGKILL (no orphaned workers)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            threading.Event().wait(1.0)

    threading.Thread(target=watch, name="swingml-parent-watch", daemon=True).start()


def serve(conn: Connection) -> None:
    """Answer task messages on ``conn`` until told to stop or the parent is gone."""
    _, sys_path = conn.recv()
    sys.path[:] = list(dict.fromkeys([*sys_path, *sys.path]))
    faulthandler.enable()
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())  # task logs are part of the run directory
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] != "task":
            return
        _, attempt_id, payload, artifacts, log_path, header = message
        outcome = execute(payload, Path(artifacts), Path(log_path), header)
        try:
            conn.send(("done", attempt_id, outcome))
        except OSError:
            return


def main(argv: list[str]) -> int:
    """Entry point: ``argv`` is the inherited socket's file descriptor and the parent's pid."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(int(argv[1]))
    serve(Connection(int(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
