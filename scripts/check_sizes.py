"""Size rules of the package, run by ``make lint``: exit 1 naming each module or function over.

A stage module is a declaration (inputs, outputs, plan, finish), so it stays short: at most
``STAGE_LINES`` lines. No function in ``src/`` is longer than ``FUNCTION_LINES`` lines (from its
``def`` to its last line): a longer one mixes jobs that belong in separate functions.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "swingml"
STAGE_LINES = 200
FUNCTION_LINES = 80


def oversized(src: Path = SRC) -> list[str]:
    """One line per module or function over its limit."""
    found = []
    for path in sorted((src / "stages").glob("*.py")):
        lines = len(path.read_text().splitlines())
        if lines > STAGE_LINES:
            found.append(f"{path}: stage module of {lines} lines (at most {STAGE_LINES})")
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > FUNCTION_LINES:
                    found.append(
                        f"{path}:{node.lineno}: {node.name} has {lines} lines "
                        f"(at most {FUNCTION_LINES}): split it"
                    )
    return found


def main() -> int:
    found = oversized()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
