"""The feature server: a plain ASGI app (`FeatureServer`), run by `skewless serve` on
granian (`server.py`; see there why).

    POST /features   {"entities": [...], "features": ["view:feature" | "view:*", ...]} -> OnlineResponse JSON
    GET  /healthz    200 while the process runs
    GET  /readyz     200 once Cassandra answers and every view's read is prepared, else 503
    GET  /metrics    Prometheus text

Why no web framework: four fixed paths need no router, and request checking is ours
anyway (`request.py`, `plan.py`). Measured on this 2-core machine with
`python -m skewless.serving.bench` (1 entity x 20 features, 500 req/s open loop, the same
FeatureStore behind both): the server spent ~0.7 ms CPU per request plain vs ~0.9 ms
behind FastAPI (of which ~0.35 ms is cassandra-driver's own), and in the quietest run
p50/p99 were 1.1/3.4 ms plain vs 1.4/8.2 ms with FastAPI.

Errors are JSON, `{"error": {"code", "message", "known"?}}`: 4xx for anything the client
sent (never 500), 503 while the store is unavailable. The server bounds a request's head;
the body is bounded here: it must arrive within `body_timeout_s` (408 otherwise), and a
POST with no body and no Content-Length is 411 (HTTP/1.1 reads no body without a length).
Startup never fails on Cassandra: a background task connects and prepares until it
succeeds, and /readyz reports why not yet.
On SIGTERM/SIGINT the server stops accepting, finishes in-flight requests, then
`shutdown()` flushes the serving log and closes the Cassandra session.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from skewless.serving.errors import RequestError, StoreUnavailableError
from skewless.serving.log import ServingLog
from skewless.serving.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from skewless.serving.metrics import ServingMetrics
from skewless.serving.request import parse_feature_request
from skewless.serving.store import FeatureStore

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

log = logging.getLogger("skewless.serving")
MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_S = 10.0
_JSON = [(b"content-type", b"application/json")]
_ROUTES = {"/features": "POST", "/healthz": "GET", "/readyz": "GET", "/metrics": "GET"}


class _Reply(Exception):
    """Answer now with this status and JSON error (raised anywhere in a handler)."""

    def __init__(self, status: int, code: str, message: str, known: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.known = status, code, known

    def body(self) -> bytes:
        error: dict[str, Any] = {"code": self.code, "message": str(self)}
        if self.known is not None:
            error["known"] = self.known
        return orjson.dumps({"error": error})


class FeatureServer:
    """ASGI app. `store_factory` builds (and connects) the FeatureStore; it is retried until it works."""

    def __init__(
        self,
        store_factory: Callable[[], FeatureStore],
        *,
        metrics: ServingMetrics | None = None,
        serving_log: ServingLog | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
        retry_s: float = 1.0,
        freeze_gc: bool = False,
    ) -> None:
        self.metrics = metrics or ServingMetrics()
        self.store: FeatureStore | None = None
        self.not_ready = "starting: connecting to Cassandra"
        self._store_factory = store_factory
        self._log = serving_log
        self._max_body = max_body_bytes
        self._body_timeout_s = body_timeout_s
        self._retry_s = retry_s
        self._freeze_gc = freeze_gc
        self._warm_up_task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # -- lifespan ------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start(self) -> None:
        """Begin connecting and preparing in the background (the server answers meanwhile)."""
        self._warm_up_task = asyncio.get_running_loop().create_task(self._warm_up())

    async def _warm_up(self) -> None:
        """Connect and prepare every view's read, retrying until both succeed."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                if self.store is None:
                    self.store = await loop.run_in_executor(None, self._store_factory)
                await loop.run_in_executor(None, self.store.prepare)
                if self._freeze_gc:
                    # What startup allocated (imports, views, the driver's metadata) lives as long
                    # as the process: out of the collector's sight, a full collection scans only
                    # what requests allocate (a full scan of ~110k startup objects took ~40 ms here).
                    gc.collect()
                    gc.freeze()
                self.not_ready = ""
                log.info("ready: reads of %s prepared", ", ".join(sorted(self.store.views)))
                return
            except Exception as exc:  # Cassandra down, table not created yet...: keep trying
                self.not_ready = str(exc)
                log.warning("not ready, retrying in %.0f s: %s", self._retry_s, exc)
            await asyncio.sleep(self._retry_s)

    async def shutdown(self) -> None:
        if self._warm_up_task is not None:
            self._warm_up_task.cancel()
        loop = asyncio.get_running_loop()
        if self._log is not None:
            await loop.run_in_executor(None, self._log.close)
        if self.store is not None:
            await loop.run_in_executor(None, self.store.close)
            self.store = None
        log.info("shutdown complete: serving log flushed, Cassandra session closed")

    # -- requests ------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = await self.respond(scope["method"], scope["path"], lambda: self._body(scope, receive))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def respond(
        self, method: str, path: str, read_body: Callable[[], Awaitable[bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One request, whatever server carries it: (status, headers with content-length, body)."""
        started = time.perf_counter()
        endpoint = path if path in _ROUTES else "other"
        code = None
        try:
            allowed = _ROUTES.get(path)
            if allowed is None:
                raise _Reply(404, "not_found", f"no endpoint {path}; endpoints: {', '.join(_ROUTES)}")
            if method != allowed:
                raise _Reply(405, "method_not_allowed", f"{path} takes {allowed}, not {method}")
            status, headers, body = await self._route(path, read_body)
        except _Reply as reply:
            status, headers, body, code = reply.status, _JSON, reply.body(), reply.code
        except Exception:  # a bug, not bad input: say so without leaking internals
            log.exception("unexpected error answering %s %s", method, path)
            status, headers, body, code = 500, _JSON, _Reply(500, "internal", "internal error").body(), "internal"
        self.metrics.observe_request(endpoint, status, time.perf_counter() - started, code)
        return status, [*headers, (b"content-length", str(len(body)).encode())], body

    async def _route(
        self, path: str, read_body: Callable[[], Awaitable[bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if path == "/features":
            return 200, _JSON, await self._features(read_body)
        if path == "/healthz":
            return 200, _JSON, b'{"status":"ok"}'
        if path == "/readyz":
            return await self._readyz()
        if self._log is not None:
            self.metrics.log_dropped.set(self._log.dropped)
        return 200, [(b"content-type", METRICS_CONTENT_TYPE.encode())], self.metrics.render()

    async def _features(self, read_body: Callable[[], Awaitable[bytes]]) -> bytes:
        body = await read_body()
        store = self.store
        if store is None or self.not_ready:
            raise _Reply(503, "not_ready", f"not ready: {self.not_ready}")
        try:
            entities, features = parse_feature_request(body)
            response = await store.get_online_features_async(entities, features)
        except RequestError as exc:
            raise _Reply(exc.status, exc.code, str(exc), exc.known) from exc
        except StoreUnavailableError as exc:
            raise _Reply(503, "store_unavailable", str(exc)) from exc
        self.metrics.entities.observe(len(entities))
        return orjson.dumps(response.to_dict())

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_body):
            raise _Reply(413, "too_large", f"the body may be at most {self._max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self._body_timeout_s
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _Reply(408, "body_timeout", f"the body did not arrive within {self._body_timeout_s:g} s") from None
            if message["type"] == "http.disconnect":
                raise _Reply(400, "disconnected", "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                raise _Reply(413, "too_large", f"the body may be at most {self._max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if not size and declared is None and _header(scope, b"transfer-encoding") is None:
            # HTTP/1.1 reads no body without a length: what the client sent after the head is lost.
            raise _Reply(411, "length_required", "send the body with a Content-Length header (or chunked)")
        return b"".join(chunks)

    async def _readyz(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        store = self.store
        if store is None or self.not_ready:
            return 503, _JSON, orjson.dumps({"ready": False, "reason": self.not_ready or "starting"})
        try:
            await store.client.ping_async()
        except StoreUnavailableError as exc:
            return 503, _JSON, orjson.dumps({"ready": False, "reason": str(exc)})
        return 200, _JSON, orjson.dumps({"ready": True, "views": sorted(store.views)})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None

