"""The real server (`skewless.serving.server`, granian) in a child process on a free loopback
port: deadlines on slow clients, head limits, bodies without a length, bind errors, and a
graceful stop on SIGTERM. Bounds on time are generous: they separate "closed by the
deadline" from "held open", not fast from slow."""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from skewless.serving.verify import read_log
from tests.unit.skewless.serving.server_app import BODY_TIMEOUT_S, LIMITS

REPO = Path(__file__).resolve().parents[4]
BODY = b'{"entities": ["u1"], "features": ["users:n_tx"]}'
HEADER_DEADLINE_S = LIMITS.header_timeout_s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, delay_s: float = 0.0, log_dir: Path | None = None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tests.unit.skewless.serving.server_app", str(port), str(delay_s),
                             *([str(log_dir)] if log_dir else [])],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if get(port, "/readyz")[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the server did not come up: {proc.communicate()[0][-2000:]}")


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def raw(port: int, request: bytes, timeout_s: float = 5.0) -> bytes:
    """Send raw bytes, return all the server answers until it closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(request)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
                if b"\r\n\r\n" in out and _complete(out):
                    break
        except TimeoutError:
            pass
        return out


def _complete(reply: bytes) -> bool:
    head, _, body = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def status_of(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply.split()[1])


def post(body: bytes = BODY, extra: bytes = b"") -> bytes:
    return (b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (len(body), extra)) + body


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    port = free_port()
    proc = start_server(port)
    yield port
    stop(proc)


def test_slowloris_connections_are_closed_by_the_header_deadline(port):
    async def trickle() -> float:
        """Send a head a byte every 0.1 s, never finishing it; seconds until the server closed."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 1000
        try:
            for byte in head:
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1024), 0.1) == b"":
                        break  # closed by the server
                except TimeoutError:
                    continue
        except ConnectionError:
            pass
        finally:
            writer.close()
        return time.monotonic() - started

    async def many() -> list[float]:
        return await asyncio.gather(*(trickle() for _ in range(60)))

    held = asyncio.run(many())
    # The whole head would take ~100 s to send; the deadline is 1 s.
    assert max(held) < HEADER_DEADLINE_S + 15, held
    assert get(port, "/healthz")[0] == 200


def test_an_idle_keep_alive_connection_is_closed(port):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(s.recv(65536)) == 200
        started = time.monotonic()
        assert s.recv(65536) == b""  # closed by the server, not by the 30 s timeout
        assert time.monotonic() - started < HEADER_DEADLINE_S + 15


def test_oversized_heads_get_431_and_the_server_keeps_serving(port):
    big = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    many = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
               + b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\n")
    assert status_of(big) == 431 and status_of(many) == 431
    assert get(port, "/healthz") == (200, b'{"status":"ok"}')


def test_a_post_without_content_length_gets_411_promptly(port):
    started = time.monotonic()
    reply = raw(port, b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n" + BODY)
    assert status_of(reply) == 411 and b"length_required" in reply
    assert time.monotonic() - started < 5


def test_a_body_that_stops_arriving_gets_408(port):
    started = time.monotonic()
    reply = raw(port, b"POST /features HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"entities\"", timeout_s=20)
    assert status_of(reply) == 408 and b"body_timeout" in reply
    assert time.monotonic() - started < BODY_TIMEOUT_S + 15


def test_a_body_over_the_limit_gets_413(port):
    reply = raw(port, post(b" " * 100_000))
    assert status_of(reply) == 413 and b"too_large" in reply


def test_keep_alive_and_pipelined_requests_are_answered_in_order(port):
    async def scenario() -> list[tuple[int, bytes]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        other = b'{"entities": ["nobody"], "features": ["users:n_tx"]}'
        writer.write(post() + post(other) + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        replies = []
        for _ in range(3):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            replies.append((int(head.split()[1]), await reader.readexactly(length)))
        writer.close()
        return replies

    first, second, health = asyncio.run(scenario())
    assert first[0] == second[0] == health[0] == 200
    assert orjson.loads(first[1])["results"][0]["features"]["users:n_tx"]["value"] == 4
    assert orjson.loads(second[1])["results"][0]["entity"] == "nobody"
    assert orjson.loads(health[1]) == {"status": "ok"}


def test_malformed_http_is_a_4xx(port):
    assert 400 <= status_of(raw(port, b"NOT HTTP AT ALL\r\n\r\n")) < 500
    assert get(port, "/healthz")[0] == 200


def test_sigterm_lets_the_request_in_flight_finish_then_closes_the_store_and_flushes_the_log(tmp_path):
    port = free_port()
    proc = start_server(port, delay_s=1.5, log_dir=tmp_path)
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(post())
        time.sleep(0.5)  # the read is in flight when SIGTERM comes
        proc.send_signal(signal.SIGTERM)
        reply = b""
        while not (b"\r\n\r\n" in reply and _complete(reply)):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    output = stop(proc)
    assert status_of(reply) == 200 and b'"value":4' in reply, output
    assert proc.returncode == 0 and "store closed with 0 reads in flight" in output, output
    logged = read_log([tmp_path])  # written by the log's thread, which runs in the worker process
    assert [(e.entity, e.feature, e.value) for e in logged] == [("u1", "n_tx", 4)]


@pytest.mark.parametrize("host", ["10.1.2.3", "127.0.0.1"])
def test_serve_on_an_address_it_cannot_bind_says_so_in_one_line(host):
    """10.1.2.3 is no address of this machine; on 127.0.0.1 the port is taken."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "skewless.cli", "serve", "--host", host, "--port", str(port)],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: cannot listen on {host}:{port}: ")
    assert lines[-1].endswith("; use --host 127.0.0.1 or a free --port"), run.stderr
    assert "Traceback" not in run.stderr
