"""What a Compute Engine machine type gives a step: vCPUs and memory, from its name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from swingml.errors import BadInputError

# GB of memory per vCPU by machine series and kind (Compute Engine's published shapes).
_GB_PER_VCPU: dict[tuple[str, str], float] = {
    ("n1", "standard"): 3.75,
    ("n1", "highmem"): 6.5,
    ("n1", "highcpu"): 0.9,
}
_DEFAULT_GB_PER_VCPU: dict[str, float] = {"standard": 4.0, "highmem": 8.0, "highcpu": 1.0}
_SHAPE = re.compile(r"^(?P<series>[a-z][a-z0-9]*)-(?P<kind>standard|highmem|highcpu)-(?P<n>\d+)$")


@dataclass(frozen=True)
class Machine:
    """A machine type's name, vCPUs and memory in GB."""

    name: str
    vcpus: int
    memory_gb: int


def machine(name: str) -> Machine:
    """Parse ``<series>-<standard|highmem|highcpu>-<vCPUs>`` (e.g. ``n2-highmem-32``)."""
    match = _SHAPE.match(name)
    if match is None:
        raise BadInputError(
            f"key deploy.machine_type ({name})",
            "expected <series>-<standard|highmem|highcpu>-<vCPUs>",
            "e.g. n2-standard-16 or n2-highmem-32",
        )
    series, kind, vcpus = match["series"], match["kind"], int(match["n"])
    per_vcpu = _GB_PER_VCPU.get((series, kind), _DEFAULT_GB_PER_VCPU[kind])
    return Machine(name, vcpus, int(vcpus * per_vcpu))
