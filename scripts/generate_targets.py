"""Entry point for target generation: ``swingml targets`` with this script's arguments.

python scripts/generate_targets.py --profile grid-2160 --run-dir runs/x
"""

from __future__ import annotations

import sys

from swingml.cli import app


def main(argv: list[str] | None = None) -> int:
    """Run ``swingml targets`` with ``argv`` (default: this process's arguments)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(["targets", *args], prog_name="generate_targets.py", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
