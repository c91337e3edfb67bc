"""Entry point for feature generation: ``swingml features`` with this script's arguments.

python scripts/generate_features.py --profile real-1h --run-dir runs/x --set features.profile=full
"""

from __future__ import annotations

import sys

from swingml.cli import app


def main(argv: list[str] | None = None) -> int:
    """Run ``swingml features`` with ``argv`` (default: this process's arguments)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(["features", *args], prog_name="generate_features.py", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
