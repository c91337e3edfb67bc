"""Which accelerator each worker process trains on: assigned by the parent, read by the task.

``training.device`` says where LightGBM trains: ``cpu`` (default), ``gpu`` (LightGBM's OpenCL
build, the one on PyPI: an OpenCL platform and device id) or ``cuda`` (a CUDA build of LightGBM:
``CUDA_VISIBLE_DEVICES``). ``executor.gpus_per_worker`` is the share of one device a worker takes
(1: a device of its own; 0.5: two workers share one); ``executor.gpu_devices`` lists the devices to
use (``"platform:device"`` for OpenCL, a CUDA index for CUDA) or, null, every device found.

The parent gives each worker process its device through environment variables before the worker
starts (as it pins the thread count); code in the task calls ``device_params()`` (or
``with_device``) to add the matching LightGBM parameters. Outside an executor worker there is no
assignment, so LightGBM trains on the CPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from swingml.errors import BadInputError

DEVICE_ENV = "SWINGML_DEVICE"
PLATFORM_ENV = "SWINGML_GPU_PLATFORM_ID"
DEVICE_ID_ENV = "SWINGML_GPU_DEVICE_ID"
CUDA_ENV = "CUDA_VISIBLE_DEVICES"
DEVICE_KINDS = ("cpu", "gpu", "cuda")

_CL_DEVICE_TYPE_ALL = 0xFFFFFFFF
_CL_DEVICE_NAME = 0x102B
_CL_PLATFORM_NAME = 0x0902


@dataclass(frozen=True)
class Device:
    """One accelerator: an OpenCL (platform, device) pair, or a CUDA index (``platform`` 0)."""

    platform: int
    index: int
    name: str = ""

    @property
    def label(self) -> str:
        """``platform:index``, the form ``executor.gpu_devices`` takes."""
        return f"{self.platform}:{self.index}"


def parse_device(text: str) -> Device:
    """``"1"`` (platform 0, device 1) or ``"0:1"``; ``ValueError`` on anything else."""
    platform, _, index = text.strip().rpartition(":")
    if not index.isdigit() or (platform and not platform.isdigit()):
        raise ValueError(f"{text!r} is not a device id: use an index (1) or platform:device (0:1)")
    return Device(int(platform or 0), int(index))


def opencl_devices() -> list[Device]:
    """Every OpenCL device this machine's ICD loader reports, in LightGBM's id order.

    LightGBM's OpenCL build picks ``platforms()[gpu_platform_id].devices()[gpu_device_id]`` over
    all device types, so this lists all types too (PoCL's CPU device included). Empty when there
    is no OpenCL loader or no platform.
    """
    path = ctypes.util.find_library("OpenCL") or "libOpenCL.so.1"
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return []
    count = ctypes.c_uint(0)
    if lib.clGetPlatformIDs(0, None, ctypes.byref(count)) != 0 or count.value == 0:
        return []
    platforms = (ctypes.c_void_p * count.value)()
    if lib.clGetPlatformIDs(count.value, platforms, None) != 0:
        return []
    found: list[Device] = []
    lib.clGetDeviceIDs.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint64,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_uint),
    ]
    for p, platform in enumerate(platforms):
        n = ctypes.c_uint(0)
        if lib.clGetDeviceIDs(platform, _CL_DEVICE_TYPE_ALL, 0, None, ctypes.byref(n)) != 0:
            continue
        ids = (ctypes.c_void_p * n.value)()
        if lib.clGetDeviceIDs(platform, _CL_DEVICE_TYPE_ALL, n.value, ids, None) != 0:
            continue
        for d, device in enumerate(ids):
            found.append(Device(p, d, _info(lib.clGetDeviceInfo, device, _CL_DEVICE_NAME)))
    return found


def _info(call: Any, handle: Any, what: int) -> str:
    """A string property of an OpenCL object ('' when it cannot be read)."""
    buffer = ctypes.create_string_buffer(256)
    with contextlib.suppress(Exception):
        call.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint,
            ctypes.c_size_t,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        if call(handle, what, 256, buffer, None) == 0:
            return buffer.value.decode(errors="replace").strip()
    return ""


def cuda_devices() -> list[Device]:
    """The CUDA devices visible to this process: ``CUDA_VISIBLE_DEVICES``, else ``nvidia-smi``."""
    visible = os.environ.get(CUDA_ENV)
    if visible is not None:
        return [Device(0, int(x)) for x in visible.split(",") if x.strip().isdigit()]
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    lines = [line for line in out.stdout.splitlines() if line.startswith("GPU ")]
    return [Device(0, i, line.split(":", 1)[-1].strip()) for i, line in enumerate(lines)]


@dataclass(frozen=True)
class DevicePlan:
    """The devices a stage's workers share out, and how many workers may share one.

    ``kind`` ``cpu`` means no devices (every worker trains on the CPU, no limit from here).
    """

    kind: str = "cpu"
    devices: tuple[Device, ...] = ()
    per_device: int = 1

    @property
    def uses_devices(self) -> bool:
        """Whether workers are given a device at all."""
        return self.kind != "cpu"

    def capacity(self) -> int | None:
        """How many workers may run at once on the devices (``None``: no device limit)."""
        return len(self.devices) * self.per_device if self.uses_devices else None

    def environment(self, device: Device | None) -> dict[str, str]:
        """The environment variables that give a worker process ``device`` (none on the CPU)."""
        if not self.uses_devices or device is None:
            return {DEVICE_ENV: "cpu"}
        env = {
            DEVICE_ENV: self.kind,
            PLATFORM_ENV: str(device.platform),
            DEVICE_ID_ENV: str(device.index),
        }
        # A CUDA build sees only its own device (as id 0); an OpenCL build on NVIDIA hardware
        # would enumerate them all, so it is not narrowed (the OpenCL ids pick the device).
        if self.kind == "cuda":
            env[CUDA_ENV] = str(device.index)
        return env


def plan_devices(kind: str, gpus_per_worker: float, listed: Sequence[str] | None) -> DevicePlan:
    """Resolve ``training.device`` and the executor's GPU settings into a ``DevicePlan``.

    A GPU run with no device to use is bad input (exit 2), never a silent fall-back to the CPU.
    """
    if kind not in DEVICE_KINDS:
        raise BadInputError("training.device", f"unknown device {kind!r}", "use cpu, gpu or cuda")
    if kind == "cpu":
        return DevicePlan()
    per_device = max(round(1.0 / gpus_per_worker), 1)
    if listed is not None:
        try:
            devices = [parse_device(text) for text in listed]
        except ValueError as exc:
            raise BadInputError(
                "executor.gpu_devices", str(exc), "e.g. [0, 1] or ['0:0']"
            ) from None
    else:
        devices = opencl_devices() if kind == "gpu" else cuda_devices()
    if not devices:
        found_by = "OpenCL (clinfo lists them)" if kind == "gpu" else "CUDA (nvidia-smi -L)"
        raise BadInputError(
            "training.device",
            f"training.device={kind} but no {found_by} device was found on this machine",
            "install the GPU driver's OpenCL/CUDA runtime, list devices in executor.gpu_devices, "
            "or set training.device=cpu",
        )
    return DevicePlan(kind, tuple(devices), per_device)


def least_held(plan: DevicePlan, held: Sequence[Device | None]) -> Device | None:
    """The device for a new worker: the one fewest live workers hold (``held``), first in order.

    ``None`` on the CPU. A worker about to retire should not count in ``held``, so its successor
    takes over its device rather than crowding another one.
    """
    if not plan.uses_devices:
        return None
    counts = dict.fromkeys(plan.devices, 0)
    for device in held:
        if device in counts:
            counts[device] += 1
    return min(plan.devices, key=counts.__getitem__)


def assigned_device(environ: Mapping[str, str] | None = None) -> tuple[str, Device | None]:
    """The device kind and device this process was given (``("cpu", None)`` when none)."""
    env = os.environ if environ is None else environ
    kind = env.get(DEVICE_ENV, "cpu")
    if kind not in ("gpu", "cuda"):
        return "cpu", None
    platform, index = env.get(PLATFORM_ENV, "0"), env.get(DEVICE_ID_ENV, "0")
    if not (platform.isdigit() and index.isdigit()):
        return "cpu", None
    return kind, Device(int(platform), int(index))


def device_params(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """LightGBM parameters that put training on this worker's device ({} on the CPU).

    OpenCL: ``device_type=gpu`` with the assigned platform and device id, histograms summed in
    double precision (``gpu_use_dp``: in single precision 4 of 30 selected features changed on
    the test profile; in double, none). CUDA: ``device_type=cuda`` on device 0, the only one
    ``CUDA_VISIBLE_DEVICES`` leaves the worker.
    """
    kind, device = assigned_device(environ)
    if device is None:
        return {}
    if kind == "cuda":
        return {"device_type": "cuda", "gpu_device_id": 0}
    return {
        "device_type": "gpu",
        "gpu_platform_id": device.platform,
        "gpu_device_id": device.index,
        "gpu_use_dp": True,
    }


def with_device(
    params: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``params`` plus this worker's device parameters: every ``lgb.train`` call goes through it."""
    return {**params, **device_params(environ)}
