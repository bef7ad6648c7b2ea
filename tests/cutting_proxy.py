"""A small HTTP proxy in front of a real server, for downloads cut on purpose: it forwards GETs as they are
(Range and If-Range included), copies the answer's status and headers and its raw (still content-coded)
body, and can close the connection after N body bytes, or drop the Range header so the server answers 200.
It records every request's Range and If-Range and the status answered. Redirects are passed on as they
are (a presigned S3 URL then goes straight to S3)."""

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Seen:
    path: str
    range: str | None
    if_range: str | None
    status: int


@dataclass
class CuttingProxy:
    upstream: str
    cut_after: list[int | None] = field(default_factory=list)  # per request, in order; None: not cut
    drop_range: list[bool] = field(default_factory=list)  # per request, in order
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "CuttingProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._forward(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        n = len(self.seen)
        cut = self.cut_after[n] if n < len(self.cut_after) else None
        drop = self.drop_range[n] if n < len(self.drop_range) else False
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
        if drop:
            headers = {k: v for k, v in headers.items() if k.lower() not in {"range", "if-range"}}
        with httpx.stream("GET", self.upstream + handler.path, headers=headers, timeout=30) as answer:
            self.seen.append(
                Seen(handler.path, headers.get("Range"), headers.get("If-Range"), answer.status_code)
            )
            handler.send_response(answer.status_code)
            for key, value in answer.headers.multi_items():
                if key.lower() not in _HOP_BY_HOP:
                    handler.send_header(key, value)
            handler.end_headers()
            sent = 0
            for chunk in answer.iter_raw(64 * 1024):
                if cut is not None and sent + len(chunk) >= cut:
                    handler.wfile.write(chunk[: cut - sent])
                    handler.wfile.flush()
                    # Mid-body, with Content-Length promising more: the client sees the link cut.
                    handler.connection.shutdown(socket.SHUT_WR)
                    handler.close_connection = True
                    return
                handler.wfile.write(chunk)
                sent += len(chunk)
