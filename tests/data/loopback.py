"""One loopback HTTP server for the tests' emulators (the exchange's REST API, the archive host).

``serve(handler, url_holder)`` runs ``handler`` (a ``QuietHandler`` subclass bound to its state)
on 127.0.0.1 at a free port for the block, sets ``url_holder.url`` to its base URL, and shuts it
down after. ``QuietHandler`` keeps the test output quiet and sends JSON bodies.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class HasUrl(Protocol):
    url: str


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing and can answer JSON."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def send_json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        blob = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(blob)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(blob)


@contextmanager
def serve(handler: type[QuietHandler], state_name: str, state: HasUrl) -> Iterator[HasUrl]:
    """Serve ``handler`` (with ``state`` as its class attribute ``state_name``) on loopback."""
    bound = type(f"Bound{handler.__name__}", (handler,), {state_name: state})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), bound)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
