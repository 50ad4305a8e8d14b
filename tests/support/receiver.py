"""A webhook receiver on loopback: records each POST (headers and body) and answers with the
status `answer(n)` gives for the n-th request (200 unless told otherwise)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, answer: Callable[[int], int] = lambda _n: 200) -> None:
        self.answer = answer
        self.received: list[dict[str, Any]] = []
        self.url = ""
        self._lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(
                        {"headers": dict(self.headers), "body": json.loads(body or b"{}"), "raw": body}
                    )
                    status = receiver.answer(len(receiver.received))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


@contextmanager
def receiving(answer: Callable[[int], int] = lambda _n: 200) -> Iterator[Receiver]:
    """A Receiver listening at `receiver.url` (http://127.0.0.1:<port>/hook) for the block."""
    receiver = Receiver(answer)
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver._handler())
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
