"""Helpers every benchmark shares: the machine line of its table, and timing a process tree."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import subprocess
import time
from pathlib import Path

import psutil


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what ``platform`` knows)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """nproc, CPU model and RAM of this machine."""
    ram = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), {ram:.0f} GiB RAM, "
        f"Python {platform.python_version()}"
    )


def load_average() -> str:
    """The 1/5/15-minute load averages, for a note on how shared the machine was."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def tree_rss_mb(proc: psutil.Process) -> float:
    """The resident memory (MB) of ``proc`` and all its descendants now."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
    return total / 2**20


def run_tree(cmd: list[str], cwd: Path | None = None, poll_s: float = 0.2) -> tuple[float, float]:
    """Run ``cmd``; its wall seconds and the peak RSS (MB) summed over its process tree."""
    start = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc))
        time.sleep(poll_s)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, peak


def write_section(doc: Path, name: str, text: str, title: str) -> None:
    """Replace (or append) the ``name`` section of benchmark document ``doc`` (``title`` heads a
    new document), so that several scripts can share one page."""
    from swingml.io.store import write_bytes_atomic

    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    current = doc.read_text() if doc.is_file() else f"{title}\n\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    updated = (
        pattern.sub(lambda _: block, current)
        if start in current
        else current.rstrip() + "\n\n" + block
    )
    write_bytes_atomic(doc, updated.encode())
