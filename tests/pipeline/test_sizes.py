"""``scripts/check_sizes.py`` (run by ``make lint``) names a stage module over 200 lines and a
function over 80, and passes the package as it is."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_sizes.py"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_sizes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_oversized_stage_modules_and_functions_are_named(tmp_path: Path) -> None:
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "short.py").write_text("X = 1\n" * 200)
    (tmp_path / "stages" / "long.py").write_text("X = 1\n" * 201)

    def function(name: str, lines: int) -> str:  # a def line, then lines - 1 statements
        return f"def {name}():\n" + "".join(f"    x{i} = {i}\n" for i in range(lines - 1))

    (tmp_path / "work.py").write_text(function("fits", 80) + function("too_long", 81))
    found = _checker().oversized(tmp_path)
    assert len(found) == 2, found
    assert "long.py: stage module of 201 lines" in found[0]
    assert "too_long has 81 lines" in found[1]


def test_the_package_keeps_the_size_rules() -> None:
    assert _checker().oversized() == []
