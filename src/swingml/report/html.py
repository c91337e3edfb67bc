"""Write a ``Page`` as one self-contained HTML file (plotly.js inline: no network, works offline).

The figures travel as one JSON block; a short script draws every ``div.plot``, fills the
per-champion drill-down from the champion picker, and sorts tables by a header click.
plotly.js (4.8 MB, most of the page) and the figures travel deflated and base64-encoded (plotly.js
2.3 MB, the figures about a sixth of their JSON); the page inflates them with the browser's
``DecompressionStream`` before drawing.
"""

from __future__ import annotations

import base64
import functools
import json
import zlib
from importlib import resources

from swingml.report.page import SECTIONS, Page, esc

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222}
header{background:#1f2d3d;color:#fff;padding:10px 24px;position:sticky;top:0;z-index:10}
header h1{font-size:18px;margin:0 0 4px}
header nav a{color:#cfe3ff;margin-right:14px;text-decoration:none;font-size:14px}
main{padding:8px 24px 40px;max-width:1400px}
section{border-bottom:1px solid #ddd;padding:8px 0 16px}
h2{font-size:20px;margin:16px 0 8px}
.plot{min-height:320px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:8px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f5f8;cursor:default}
table.sortable th{cursor:pointer}
td[data-col=model],td[data-col=variant],td[data-col=stage],td[data-col=status],
td[data-col=reason],td[data-col=label],td[data-col=cause],td[data-col=name]{text-align:left}
tr[data-champion]{cursor:pointer}
td[data-col=model]{white-space:nowrap}
#champion-timeline,#champion-importance{grid-column:1/-1}
tr[data-champion]:hover{background:#eef5ff}
td.noskill,span.noskill{color:#b00;font-weight:600}
td.skill{color:#070}
.missing{color:#8a5a00;background:#fff6e0;padding:4px 8px;border-left:3px solid #e0a000}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;font-size:14px}
dl.facts dt{color:#666}
dl.facts dd{margin:0;font-family:ui-monospace,monospace}
"""

LOADER = """
async function inflate(id) {
  const packed = atob(document.getElementById(id).textContent);
  const bytes = new Uint8Array(packed.length);
  for (let i = 0; i < packed.length; i++) bytes[i] = packed.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Response(stream).text();
}
async function load() {
  const script = document.createElement('script');
  script.textContent = await inflate('plotly-deflated');
  document.head.appendChild(script);
  return JSON.parse(await inflate('report-data'));
}
"""
"""Inflates plotly.js and runs it (a script's text runs on append), then inflates the figures."""

SCRIPT = """
const CONFIG = {responsive: true, displaylogo: false};
function draw(div, fig) {
  let data = fig.data;
  if (fig.price && REPORT.prices[fig.price]) {
    const p = REPORT.prices[fig.price];
    data = [{type: 'scatter', mode: 'lines', name: fig.price + ' close', x: p.x, y: p.y,
             line: {color: '#1f77b4', width: 1}}].concat(data);
  }
  div.innerHTML = '';
  Plotly.newPlot(div, data, fig.layout, CONFIG);
}
document.querySelectorAll('div.plot[data-figure]').forEach(
  (div) => draw(div, REPORT.figures[div.dataset.figure]));
function showChampion(name) {
  const figs = REPORT.champions[name] || {};
  document.getElementById('champion-select').value = name;
  const row = document.querySelector('tr[data-champion="' + CSS.escape(name) + '"]');
  document.getElementById('champion-caption').textContent = row ? row.dataset.caption || '' : '';
  document.querySelectorAll('div.champion-plot').forEach((div) => {
    const fig = figs[div.dataset.slot];
    if (fig) { draw(div, fig); div.classList.remove('empty'); }
    else {
      Plotly.purge(div);
      div.classList.add('empty');
      div.innerHTML = '<p class="missing">' + div.dataset.slot + ': not available for this run</p>';
    }
  });
}
const picker = document.getElementById('champion-select');
if (picker) {
  picker.addEventListener('change', () => showChampion(picker.value));
  showChampion(picker.value);
}
document.querySelectorAll('tr[data-champion]').forEach((tr) => tr.addEventListener('click', () => {
  showChampion(tr.dataset.champion);
  document.getElementById('champion').scrollIntoView();
}));
document.querySelectorAll('table.sortable').forEach((table) => {
  table.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const down = th.dataset.order !== 'desc';
    th.dataset.order = down ? 'desc' : 'asc';
    const key = (tr) => {
      const raw = tr.cells[col].dataset.value;
      const num = parseFloat(raw);
      return Number.isNaN(num) ? raw : num;
    };
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const numbers = typeof x === 'number' && typeof y === 'number';
      const cmp = numbers ? x - y : String(x).localeCompare(String(y));
      return down ? -cmp : cmp;
    });
    rows.forEach((tr) => body.appendChild(tr));
  }));
});
document.body.dataset.rendered = 'yes';
"""


@functools.lru_cache(maxsize=1)
def plotly_js_deflated() -> str:
    """The minified plotly.js bundle of the ``plotly`` package, deflated (zlib level 1: 65 ms
    against 220 ms for level 9, for 2.3 MB against 2.0 MB) and base64-encoded; once per
    process."""
    bundle = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return _deflated(bundle, 1)


def _deflated(data: bytes, level: int) -> str:
    return base64.b64encode(zlib.compress(data, level)).decode("ascii")


def figures_json(page: Page) -> str:
    """Every figure of the page and the shared price series, as ``figures.json`` holds them."""
    payload = {"figures": page.figures, "champions": page.champions, "prices": page.prices}
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


def render(page: Page, figures: str | None = None) -> str:
    """The whole HTML document (``figures``: :func:`figures_json` of the page, if made already)."""
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS)
    body = "".join(
        f'<section id="{key}" data-section="{key}"><h2>{esc(title)}</h2>'
        f"{page.sections.get(key, '')}</section>"
        for key, title in SECTIONS
    )
    data = _deflated((figures or figures_json(page)).encode("utf-8"), 6)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(page.title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{esc(page.title)}</h1><nav>{nav}</nav></header><main>{body}</main>"
        f'<script type="application/octet-stream" id="report-data">{data}</script>'
        f'<script type="application/octet-stream" id="plotly-deflated">{plotly_js_deflated()}'
        f"</script><script>{LOADER}\nload().then((REPORT) => {{{SCRIPT}}});</script>"
        "</body></html>\n"
    )
