"""Time and size ``swingml report`` on a finished run, this code against a baseline side by side.

Each code version runs in fresh processes, interleaved round by round on the same run:
- ``write_report`` in-process (gather, figures, HTML, tables): median wall and CPU seconds of
  ``--repeats`` calls after a warm-up (imports, plotly.js read);
- the whole command, ``python -m swingml.cli report`` (Python start and imports included):
  median wall and CPU (user + system) seconds;
- the page's size.
The baseline is an older revision's ``src/`` and ``configs/`` (``git archive <rev> src configs |
tar -x -C DIR``), its ``src/`` put first on ``PYTHONPATH``. Also, on this code only: the same
figures passed through plotly's validating ``graph_objects.Figure`` (what the report avoids by
building plain dicts).

    git archive 6e1307b src configs | tar -x -C /tmp/base
    flock /tmp/swingml-bench.lock .venv/bin/python benchmarks/bench_report.py \
        --run-dir RUN --baseline-src /tmp/base/src [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import load_average, machine, write_section

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks" / "report.md"
TITLE = "# Report benchmarks"

IN_PROCESS = """
import json, sys, time
from pathlib import Path
from swingml.report.command import write_report
run, output, repeats = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
written, page = write_report(run, output)
walls, cpus = [], []
for _ in range(repeats):
    wall, cpu = time.perf_counter(), time.process_time()
    written, page = write_report(run, output)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
print(json.dumps({"walls": walls, "cpus": cpus, "bytes": written.bytes,
                  "champions": len(page.ranked)}))
"""

VALIDATED = """
import json, sys, time
from pathlib import Path
import plotly.graph_objects as go
from swingml.report.command import write_report
written, page = write_report(Path(sys.argv[1]), Path(sys.argv[2]))
figures = list(page.figures.values())
figures += [f for group in page.champions.values() for f in group.values()]
def validated():
    for figure in figures:
        go.Figure({"data": figure["data"], "layout": figure["layout"]}).to_plotly_json()
validated()
wall, cpu = time.perf_counter(), time.process_time()
validated()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "figures": len(figures)}))
"""


def _env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    return env


def _json_child(code: str, args: list[str], src: Path | None) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=_env(src),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _command(run: Path, output: Path, src: Path | None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, children) of one whole ``swingml report``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "swingml.cli", "report", "--run-dir", str(run), "--output", output],
        env=_env(src),
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--baseline-src", type=Path, required=True)
    parser.add_argument("--baseline-label", default="baseline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    versions = {args.baseline_label: args.baseline_src.resolve(), "this code": None}
    stats: dict[str, dict[str, list[float]]] = {name: {} for name in versions}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for name, src in versions.items():
                output = Path(folder) / name.replace(" ", "_") / "report.html"
                got = _json_child(
                    IN_PROCESS, [str(args.run_dir), str(output), str(args.repeats)], src
                )
                wall, cpu = _command(args.run_dir, output, src)
                into = stats[name]
                for key, value in (
                    ("wall", statistics.median(got["walls"])),
                    ("cpu", statistics.median(got["cpus"])),
                    ("cmd_wall", wall),
                    ("cmd_cpu", cpu),
                    ("mb", got["bytes"] / 1e6),
                    ("champions", got["champions"]),
                ):
                    into.setdefault(key, []).append(float(value))
        output = Path(folder) / "validated" / "report.html"
        validated = _json_child(VALIDATED, [str(args.run_dir), str(output)], None)
    median = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in stats.items()}
    base, now = median[args.baseline_label], median["this code"]
    rows = [
        ("`write_report` in-process, CPU s", "cpu", 3),
        ("`write_report` in-process, wall s", "wall", 3),
        ("`swingml report` whole command, CPU s", "cmd_cpu", 2),
        ("`swingml report` whole command, wall s", "cmd_wall", 2),
        ("page size, MB", "mb", 2),
    ]
    lines = [
        "## Rendering time and page size",
        "",
        f"`benchmarks/bench_report.py` on `{args.run_dir}` ({int(now['champions'])} champions): "
        f"{args.baseline_label} vs this code, in fresh processes, interleaved, medians of "
        f"{args.rounds} rounds.",
        f"Machine: {machine()}; load average at the end {load_average()} (shared, noisy: CPU "
        "seconds are the fairer figure).",
        "",
        f"| what | {args.baseline_label} | this code | ratio |",
        "|---|---|---|---|",
    ]
    for label, key, digits in rows:
        ratio = now[key] / base[key] if base[key] else float("nan")
        lines.append(f"| {label} | {base[key]:.{digits}f} | {now[key]:.{digits}f} | {ratio:.2f} |")
    lines += [
        "",
        f"The same {int(validated['figures'])} figures through `plotly.graph_objects.Figure` "
        f"(this code only; what building plain dicts avoids): {validated['cpu']:.2f} s CPU, "
        f"{validated['wall']:.2f} s wall.",
    ]
    text = "\n".join(lines)
    write_section(DOC, "bench_report", text, TITLE)
    print(text)


if __name__ == "__main__":
    main()
