"""The machine line every benchmark table starts with: cores, CPU model, RAM, Python."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil


def machine() -> str:
    """nproc, CPU model and RAM of this machine."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs ({model}), {ram:.0f} GiB RAM, Python {platform.python_version()}"
