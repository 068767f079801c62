"""What `skewless serve` runs the ASGI app (`http.FeatureServer`) on: granian (Rust, hyper).

Why granian: the hand-written uvloop + httptools server it replaced had no deadline once
a request had begun (slowloris connections were held forever), no header limits (a
100 KB header or 10,000 headers were answered 200), hung on a POST body without
Content-Length, and printed a traceback when it could not bind. uvicorn has header size
limits and a keep-alive timeout, but nothing bounds how long a request's head may take
to arrive (its keep-alive timer is reset by every byte: uvicorn issue #157 leaves
`--timeout-request-start` open), so it fails the slowloris case. hyper, under granian,
bounds the head's arrival (`header_read_timeout`, which also bounds an idle keep-alive
connection's wait for its next request), its size (`max_buffer_size`; more than 100
headers is refused too), answering 431 to an oversized head. The body's deadline and the
411 for a POST without a length are the app's (`FeatureServer`): hyper has neither.
The price, measured against the old server (`bench.serving --baseline-tree`, interleaved
slices, a job running, 500 req/s; bench/results.json `http_ab_*`): granian costs about
0.2 ms more CPU per request (~1.4x in every one of 13 runs). Its p99 was no worse: the
median p99 over the 13 runs was 155 ms against the old server's 222 ms, granian lower in 6;
on this shared 2-core machine the p99 of either ranged from 6 ms to seconds with the load
of other work, so no single run decides. Tried and left: runtime_mode "st" (no less CPU), task_impl
"rust" (less CPU, but its tasks ignore asyncio's timeouts: the body deadline never fired),
granian's RSGI interface instead of ASGI (no less CPU, p99 still ~2x).

Process model: granian's supervisor binds nothing itself on Linux; its one worker
process (forked) builds the app, binds with SO_REUSEPORT, runs the app's lifespan
(connect, prepare) and serves. The app is built there, not before the fork: a thread
started in the supervisor (the serving log's writer) would not exist in the worker. On SIGTERM/SIGINT the supervisor stops the
worker, hyper stops accepting and lets requests in flight finish, then lifespan
shutdown flushes the serving log and closes the Cassandra session; a worker still busy
after the graceful timeout is killed.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import math
import socket
from collections.abc import Callable

from skewless.errors import ConfigError
from skewless.serving.http import FeatureServer

log = logging.getLogger("skewless.serving")


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """What one client may cost the server."""

    header_timeout_s: float = 5.0  # a request's whole head, and an idle keep-alive connection's wait
    max_head_bytes: int = 16 * 1024  # request line and headers (hyper's floor is 8 KiB)
    graceful_timeout_s: float = 10.0  # after SIGTERM, for requests in flight
    backlog: int = 1024  # connections the kernel queues before accept


def claim_address(host: str, port: int) -> int:
    """Check that `host:port` can be listened on, and return the port (a free one for 0).

    granian's worker binds with SO_REUSEPORT (so it would share a port that another
    SO_REUSEPORT server of this user holds) and panics with a Rust backtrace when it cannot
    bind: a plain bind here, without SO_REUSEPORT, turns both into one line first.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT socket is no conflict
            probe.bind((host, port))
            return probe.getsockname()[1]
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno == errno.EADDRNOTAVAIL:
            why += " (not an address of this machine)"
        raise ConfigError(f"cannot listen on {host}:{port}: {why}; use --host 127.0.0.1 or a free --port") from None


def run_server(make_app: Callable[[], FeatureServer], host: str, port: int, limits: ServerLimits = ServerLimits()) -> None:
    """Serve the app `make_app()` builds on `host:port` until SIGTERM/SIGINT, then drain (see the
    module docstring). `make_app` runs in the worker process, after the fork: what it builds may
    start threads."""
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings

    port = claim_address(host, port)
    server = Granian(
        "skewless.serving",  # a label only: the app comes from make_app, below
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http="1",
        websockets=False,
        workers=1,  # the app's state (store, metrics, serving log) lives in one process
        loop=Loops.uvloop,
        backlog=limits.backlog,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(limits.header_timeout_s * 1000)),
            keep_alive=True,
            max_buffer_size=max(8192, limits.max_head_bytes),
        ),
        workers_kill_timeout=max(1, math.ceil(limits.graceful_timeout_s)),
        log_access=False,
    )
    log.info("serving on http://%s:%d (granian)", host, port)
    server.serve(target_loader=make_app, wrap_loader=False)
