"""HTTP/1.1 for the feature server, straight on asyncio (uvloop) and httptools: what
`skewless serve` runs. `FeatureServer` stays a plain ASGI app for any ASGI server.

Why not uvicorn: for four small JSON endpoints, its generic ASGI plumbing (message dicts,
header validation, and a separate socket write for the head and for the body) was most
of the server's CPU per request. Here a request is parsed by httptools, answered by
`FeatureServer.respond` and written with one `transport.write`.

Kept from uvicorn's behaviour: keep-alive (closed after `KEEP_ALIVE_S` idle), pipelined
requests answered in order, 400 for unparseable HTTP and 413 for a body over the limit
(never a 500), and on SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up
to `graceful_timeout_s`), close the connections, then `FeatureServer.shutdown()`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import deque
from http import HTTPStatus

import httptools

from skewless.serving.http import FeatureServer

log = logging.getLogger("skewless.serving")
KEEP_ALIVE_S = 5.0
Reply = tuple[int, list[tuple[bytes, bytes]], bytes]


def _head(status: int, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> bytes:
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode())]
    lines += [b"%s: %s\r\n" % pair for pair in headers]
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


class _Request:
    __slots__ = ("method", "path", "chunks", "size", "keep_alive", "error")

    def __init__(self) -> None:
        self.method = ""
        self.path = ""
        self.chunks: list[bytes] = []
        self.size = 0
        self.keep_alive = True
        self.error: Reply | None = None  # answered without running an endpoint


class HttpProtocol(asyncio.Protocol):
    """One connection: requests parsed as bytes arrive, answered one at a time, in order."""

    def __init__(self, app: FeatureServer, connections: set[HttpProtocol], max_body: int) -> None:
        self.app, self.connections, self.max_body = app, connections, max_body
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.request = _Request()
        self.queue: deque[_Request] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.idle: asyncio.TimerHandle | None = None
        self.closing = False

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections.add(self)
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.closing = True
        if self.idle is not None:
            self.idle.cancel()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(self.app.error_reply(400, "bad_request", "protocol upgrades are not supported"))
        except httptools.HttpParserError as exc:
            self._refuse(self.app.error_reply(400, "malformed_http", f"the request is not valid HTTP/1.1: {exc}"))

    # -- httptools callbacks -------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.request = _Request()
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-length" and (not value.isdigit() or int(value) > self.max_body):
            self._too_large()

    def on_headers_complete(self) -> None:
        request = self.request
        request.method = self.parser.get_method().decode("ascii", "replace")
        request.path = httptools.parse_url(self.url).path.decode("utf-8", "replace")
        request.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        request = self.request
        request.size += len(body)
        if request.size > self.max_body:
            self._too_large()
        elif request.error is None:
            request.chunks.append(body)

    def on_message_complete(self) -> None:
        self.queue.append(self.request)
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._answer_queue())

    # -- answering -----------------------------------------------------------------

    def _too_large(self) -> None:
        # Answered once the request ends; its body is dropped as it arrives.
        request = self.request
        if request.error is None:
            request.error = self.app.error_reply(413, "too_large", f"the body may be at most {self.max_body} bytes")
            request.chunks = []

    async def _answer_queue(self) -> None:
        while self.queue and not self.closing:
            request = self.queue.popleft()
            if request.error is not None:
                reply = request.error
            else:
                body = b"".join(request.chunks)

                async def read_body(body: bytes = body) -> bytes:
                    return body

                reply = await self.app.respond(request.method, request.path, read_body)
            self._write(reply, request.keep_alive)
            if not request.keep_alive:
                return
        self._arm_idle()

    def _write(self, reply: Reply, keep_alive: bool) -> None:
        if self.closing or self.transport is None:
            return
        status, headers, body = reply
        self.transport.write(_head(status, headers, keep_alive) + body)  # one write: head and body
        if not keep_alive:
            self._close()

    def _refuse(self, reply: Reply) -> None:
        self._write(reply, keep_alive=False)

    def _arm_idle(self) -> None:
        if self.closing:
            return
        if self.idle is not None:
            self.idle.cancel()
        self.idle = asyncio.get_running_loop().call_later(KEEP_ALIVE_S, self._close)

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def busy(self) -> bool:
        return bool(self.queue) or (self.worker is not None and not self.worker.done())


async def serve(app: FeatureServer, host: str, port: int, *, graceful_timeout_s: float = 10.0,
                stop: asyncio.Event | None = None, bound: asyncio.Future[int] | None = None) -> None:
    """Serve `app` until SIGTERM/SIGINT (or `stop` is set), then drain and shut it down.
    `bound` gets the port listened on (for port 0)."""
    loop = asyncio.get_running_loop()
    connections: set[HttpProtocol] = set()
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    app.start()
    server = await loop.create_server(
        lambda: HttpProtocol(app, connections, app.max_body_bytes), host, port, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if bound is not None:
        bound.set_result(port)
    log.info("serving on http://%s:%d", host, port)
    try:
        await stop.wait()
    finally:
        log.info("shutting down: finishing requests in flight (up to %.0f s)", graceful_timeout_s)
        server.close()
        deadline = loop.time() + graceful_timeout_s
        while any(c.busy() for c in connections) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(connections):
            connection._close()
        await server.wait_closed()
        await app.shutdown()
        log.info("shutdown complete: serving log flushed, Cassandra session closed")
