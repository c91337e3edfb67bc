"""Time ``swingml report`` on a finished run: page build in-process, and the whole CLI command.

Side by side on the same page: the figures as plain dicts (what the report does) against the same
figures passed through plotly's validating ``graph_objects.Figure`` (what it avoids).

    .venv/bin/python benchmarks/bench_report.py --run-dir runs/default [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import load_average, machine
from swingml.report.command import write_report

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "report.md"


def _timed(fn: object, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "report.html"
        written, page = write_report(args.run_dir, output)  # warm-up: imports, plotly.js read
        wall, cpu = _timed(lambda: write_report(args.run_dir, output), args.repeats)
        figures = list(page.figures.values())
        figures += [f for group in page.champions.values() for f in group.values()]

        def validated() -> None:
            import plotly.graph_objects as go

            for figure in figures:
                go.Figure({"data": figure["data"], "layout": figure["layout"]}).to_plotly_json()

        validated()
        go_wall, go_cpu = _timed(validated, args.repeats)
        cli = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "swingml.cli",
                    "report",
                    "--run-dir",
                    str(args.run_dir),
                    "--output",
                    str(output),
                ],
                check=True,
                capture_output=True,
            )
            cli.append(time.perf_counter() - start)
    lines = [
        "# Report rendering",
        "",
        f"Run: `{args.run_dir}`, {len(page.ranked)} champions, {len(figures)} figures; page "
        f"{written.bytes / 1e6:.2f} MB (plotly.js inline: ~4.8 MB of it).",
        f"Machine: {machine()}; load average at the end {load_average()} (shared, noisy).",
        f"Medians of {args.repeats} runs.",
        "",
        "| what | wall s | CPU s |",
        "|---|---|---|",
        f"| `write_report` (gather, figures as dicts, HTML, Parquet) | {wall:.3f} | {cpu:.3f} |",
        f"| the same figures through `plotly.graph_objects.Figure` only | {go_wall:.3f} | "
        f"{go_cpu:.3f} |",
        f"| `swingml report` whole command (Python start and imports included) | "
        f"{statistics.median(cli):.2f} | — |",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
