"""The lean HTTP/1.1 server over a real loopback socket: keep-alive, pipelining, one write
per answer, malformed HTTP and oversized bodies as 4xx, graceful stop."""

from __future__ import annotations

import asyncio

import orjson

from skewless.serving.http import FeatureServer
from skewless.serving.wire import serve
from tests.unit.serving.conftest import FakeStore

BODY = b'{"entities": ["u1"], "features": ["users:n_tx"]}'


def post(body: bytes = BODY, extra: bytes = b"") -> bytes:
    return (b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (len(body), extra)) + body


async def read_reply(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = dict(line.split(b": ", 1) for line in lines[1:] if line)
    body = await reader.readexactly(int(headers[b"content-length"]))
    return int(lines[0].split()[1]), headers, body


def run(rows, scenario, **server_kwargs):
    """Start the server on a free port, run `scenario(port, app)`, stop the server."""
    store = FakeStore(rows)
    app = FeatureServer(lambda: store, **server_kwargs)

    async def main():
        stop = asyncio.Event()
        bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(serve(app, "127.0.0.1", 0, stop=stop, bound=bound, graceful_timeout_s=2))
        port = await bound
        while app.not_ready:
            await asyncio.sleep(0.01)
        try:
            return await scenario(port, app)
        finally:
            stop.set()
            await server

    return asyncio.run(main()), store


def test_keep_alive_and_pipelined_requests_are_answered_in_order(rows):
    async def scenario(port, app):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post())
        first = await read_reply(reader)
        other = b'{"entities": ["nobody"], "features": ["users:n_tx"]}'
        writer.write(post() + post(other) + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # pipelined
        replies = [await read_reply(reader) for _ in range(3)]
        writer.close()
        return first, replies

    (first, replies), _ = run(rows, scenario)
    assert first[0] == 200 and first[1][b"content-type"] == b"application/json"
    assert orjson.loads(first[2])["results"][0]["features"]["users:n_tx"]["value"] == 4
    assert [r[0] for r in replies] == [200, 200, 200]
    assert orjson.loads(replies[1][2])["results"][0]["entity"] == "nobody"
    assert orjson.loads(replies[2][2]) == {"status": "ok"}


def test_malformed_http_gets_a_400_and_the_connection_closes(rows):
    async def scenario(port, app):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        reply = await read_reply(reader)
        rest = await reader.read()
        writer.close()
        return reply, rest

    ((status, headers, body), rest), _ = run(rows, scenario)
    assert status == 400 and orjson.loads(body)["error"]["code"] == "malformed_http"
    assert headers[b"connection"] == b"close" and rest == b""


def test_a_body_over_the_limit_gets_a_413_without_being_kept(rows):
    async def scenario(port, app):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post(b"x" * 300))
        reply = await read_reply(reader)
        writer.close()
        return reply

    (status, _, body), _ = run(rows, scenario, max_body_bytes=100)
    assert status == 413 and orjson.loads(body)["error"]["code"] == "too_large"


def test_client_errors_are_4xx_and_counted(rows):
    async def scenario(port, app):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post(b'{"entities": ["u1"], "features": ["users:nope"]}'))
        unknown = await read_reply(reader)
        writer.write(b"GET /features HTTP/1.1\r\nHost: x\r\n\r\n")
        wrong_method = await read_reply(reader)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        metrics = await read_reply(reader)
        writer.close()
        return unknown, wrong_method, metrics

    (unknown, wrong_method, metrics), _ = run(rows, scenario)
    assert unknown[0] == 400 and orjson.loads(unknown[2])["error"]["code"] == "unknown_feature"
    assert wrong_method[0] == 405
    assert b'skewless_requests_total{endpoint="/features",status="405"} 1.0' in metrics[2]


def test_stopping_finishes_the_request_in_flight_then_shuts_the_app_down(rows):
    store = FakeStore(rows)
    app = FeatureServer(lambda: store)
    answer = store.get_online_features_async

    async def slow(*args):
        await asyncio.sleep(0.3)
        return await answer(*args)

    store.get_online_features_async = slow

    async def main():
        stop = asyncio.Event()
        bound = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(serve(app, "127.0.0.1", 0, stop=stop, bound=bound, graceful_timeout_s=2))
        port = await bound
        while app.not_ready:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(post())
        await asyncio.sleep(0.05)  # the request is in flight when the stop comes
        stop.set()
        reply = await read_reply(reader)
        await server
        writer.close()
        return reply

    status, _, _ = asyncio.run(main())
    assert status == 200 and store.closed
