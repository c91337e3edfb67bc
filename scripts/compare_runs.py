"""Compare two run directories: ``python scripts/compare_runs.py RUN_A RUN_B``.

Exit 0 when every Parquet output and decision file agree (timing columns aside), 1 otherwise,
with one line per difference. Used to prove that a change, a resume or a re-run changed nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from swingml.io.rundiff import differences, outputs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = (Path(p) for p in argv)
    for root in (a, b):
        if not (root / "manifest.json").is_file():
            print(f"{root}: not a run directory (no manifest.json)", file=sys.stderr)
            return 2
    found = differences(a, b)
    for line in found:
        print(line)
    print(f"{len(outputs(a))} Parquet outputs compared: {len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
