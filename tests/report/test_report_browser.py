"""The report in a real browser: Debian's headless Chromium, driven by Playwright.

Every section is there, every plot drew (Plotly's SVG is in each plot box), the page logged no
error, the champion picker and the sortable table work, and a screenshot lands beside the page.
Chromium comes from ``scripts/install-chromium.sh`` (``make test`` runs it); with ``CI`` set a
missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from command_line import swingml

SECTIONS = ("run", "budget", "champions", "champion", "features", "targets", "walkforward", "live")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAX_BYTES = 8_000_000


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (scripts/install-chromium.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.mark.slow
def test_report_renders_every_section_and_plot(
    full_run: Path, tmp_path: Path, browser: Any
) -> None:
    output = tmp_path / "report.html"
    done = swingml("report", "--run-dir", str(full_run), "--output", str(output))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Champions by lift" in done.stdout
    assert output.stat().st_size < MAX_BYTES
    assert "<script src" not in output.read_text()  # self-contained: nothing loaded from elsewhere

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append(r.url) if not r.url.startswith("file:") else None)
    page.goto(output.as_uri())
    page.wait_for_selector("body[data-rendered=yes]", timeout=60_000)

    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").count() == 1, section
    plots = page.locator("div.plot")
    assert plots.count() >= 15
    for i in range(plots.count()):
        box = plots.nth(i)
        assert box.locator(".main-svg").count() > 0, box.get_attribute("id")
    assert page.locator("#champion-table tbody tr").count() == 12

    # the picker redraws the drill-down for another champion
    picker = page.locator("#champion-select")
    last = picker.locator("option").nth(11).get_attribute("value")
    picker.select_option(last)
    assert last in page.locator("#champion-caption").inner_text()
    assert page.locator("#champion-timeline .main-svg").count() > 0

    # a header click sorts the champion table by lift, largest first
    page.locator("#champion-table th[data-col=lift]").click()
    lifts = [
        float(v)
        for v in page.locator("#champion-table td[data-col=lift]").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )
    ]
    assert lifts == sorted(lifts, reverse=True)

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert shot.stat().st_size > 50_000
    assert errors == []
