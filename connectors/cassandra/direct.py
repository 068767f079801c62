"""Blocking single-partition reads on the calling thread, over native-protocol connections
that only this module uses.

The driver sends every request from its IO thread and hands the answer back to the
caller: two thread wake-ups and about 370 us of Python per read on this 2-core machine,
and each wake-up waits for a core when the machine is busy. Here the calling thread
writes the EXECUTE frame and reads the answer on a socket of its own (blocking, the GIL
released while it waits): about 110 us of Python and half the latency, measured the same
way. The driver still prepares the statements, knows the ring and picks the replica; this
path only carries reads it already prepared, and gives up (`DirectUnavailable`) whenever
the answer is anything but rows (unprepared id, server error, lost connection), so the
caller can send the same read through the driver, whose retry and re-prepare logic apply.

Connections speak protocol v4 (plain frames; v5's checksummed segments would cost more
Python than they save here), one request at a time, and are pooled per replica:
`DirectReads` for threads (blocking sockets), `AsyncDirectReads` for asyncio callers
(streams of the running loop, pooled per loop).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from cassandra.protocol import (
    AuthenticateMessage,
    ErrorMessage,
    ProtocolHandler,
    ReadyMessage,
    ResultMessage,
    StartupMessage,
)

PROTOCOL_VERSION = 4
_HEADER = struct.Struct(">BBhBi")  # version, flags, stream id, opcode, body length
_STREAM = 1
_RESULT_ROWS = 0x0002
_EXECUTE = 0x0A
# Query flags: values follow; the answer leaves out the column metadata, which the prepared
# statement already holds (half the bytes and half the decoding of a 20-feature row).
_VALUES_SKIP_METADATA = 0x01 | 0x02


class DirectUnavailable(Exception):
    """The direct path cannot answer this read; send it through the driver."""


class DirectRefused(DirectUnavailable):
    """The server will not take our connections (it wants authentication, or another
    protocol version): stop trying."""


class DirectTimeout(DirectUnavailable):
    """Cassandra did not answer within the request timeout (the read's time is spent)."""


Address = tuple[str, int]


def _execute(query_id: bytes, params: list[bytes], consistency: int) -> bytes:
    """An EXECUTE frame of a prepared statement (protocol v4), built directly: the driver's
    message never asks the server to skip the metadata."""
    body = bytearray(struct.pack(">H", len(query_id)))
    body += query_id
    body += struct.pack(">HBH", consistency, _VALUES_SKIP_METADATA, len(params))
    for value in params:
        body += struct.pack(">i", len(value))
        body += value
    return _HEADER.pack(PROTOCOL_VERSION, 0, _STREAM, _EXECUTE, len(body)) + body


def _startup() -> bytes:
    return ProtocolHandler.encode_message(StartupMessage(cqlversion="3.0.0", options={}), _STREAM, PROTOCOL_VERSION,
                                          None, False)


def _decode(header: bytes, body: bytes, result_metadata: Any) -> Any:
    """The message of one frame; DirectUnavailable if it cannot be read (the connection's
    state is then unknown: close it)."""
    _, flags, _, opcode, _ = _HEADER.unpack(header)
    try:
        return ProtocolHandler.decode_message(PROTOCOL_VERSION, {}, _STREAM, flags, opcode, body, None,
                                              result_metadata)
    except Exception as exc:
        raise DirectUnavailable(f"unreadable answer: {exc}") from exc


def _body_length(header: bytes) -> int:
    return _HEADER.unpack(header)[4]


def _check_ready(answer: Any) -> None:
    if isinstance(answer, AuthenticateMessage):
        raise DirectRefused("the server asks for authentication; reads go through the driver")
    if not isinstance(answer, ReadyMessage):  # e.g. a server without protocol v4: it will not change its mind
        raise DirectRefused(f"the server refused a protocol v{PROTOCOL_VERSION} connection: {answer!r}")


def _rows(answer: Any) -> list[tuple[Any, ...]]:
    if isinstance(answer, ResultMessage) and answer.kind == _RESULT_ROWS:
        return answer.parsed_rows
    if isinstance(answer, ErrorMessage):
        raise DirectUnavailable(f"server error: {answer.summary_msg()}")
    raise DirectUnavailable(f"unexpected answer: {answer!r}")


C = TypeVar("C")


class _Pool(Generic[C]):
    """Idle connections and the number open, per key (a replica address, or a loop and an
    address); at most `max_open` open per key. Thread-safe."""

    def __init__(self, max_open: int) -> None:
        self.max_open = max_open
        self.idle: dict[Hashable, list[C]] = {}
        self.open: dict[Hashable, int] = {}
        self._lock = threading.Lock()
        self._closed = ""  # why reads no longer take this path

    def take(self, key: Hashable) -> C | None:
        """An idle connection, or None after counting a new one the caller now opens."""
        with self._lock:
            if self._closed:
                raise DirectUnavailable(self._closed)
            idle = self.idle.get(key)
            if idle:
                return idle.pop()
            if self.open.get(key, 0) >= self.max_open:
                raise DirectUnavailable(f"{self.max_open} reads already in flight to {key}")
            self.open[key] = self.open.get(key, 0) + 1
            return None

    def give_back(self, key: Hashable, connection: C) -> bool:
        """Keep `connection` for the next read; False when the pool is shut (close it)."""
        with self._lock:
            if self._closed:
                return False
            self.idle.setdefault(key, []).append(connection)
            return True

    def forget(self, key: Hashable) -> None:
        """A connection of `key` was closed (or never opened)."""
        with self._lock:
            self.open[key] -= 1

    def drop(self, stale: Callable[[Hashable], bool]) -> list[C]:
        """Remove the keys `stale` picks; their idle connections, to close."""
        with self._lock:
            keys = [key for key in self.idle if stale(key)]
            for key in keys:
                self.open.pop(key, None)
            return [c for key in keys for c in self.idle.pop(key)]

    def shut(self, why: str) -> list[C]:
        """Refuse every later read (DirectUnavailable(why)); the idle connections, to close."""
        with self._lock:
            self._closed = why
            idle, self.idle = self.idle, {}
        return [c for connections in idle.values() for c in connections]


class _Connection:
    def __init__(self, address: Address, timeout_s: float) -> None:
        try:
            self._sock = socket.create_connection(address, timeout=timeout_s)
        except OSError as exc:
            raise DirectUnavailable(f"cannot connect to {address[0]}:{address[1]}: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            _check_ready(self.request(_startup(), None))
        except DirectUnavailable:
            self.close()
            raise

    def request(self, frame: bytes, result_metadata: Any) -> Any:
        try:
            self._sock.sendall(frame)
            header = self._exactly(_HEADER.size)
            body = self._exactly(_body_length(header))
            return _decode(header, body, result_metadata)
        except socket.timeout as exc:
            self.close()
            raise DirectTimeout("Cassandra did not answer in time") from exc
        except OSError as exc:
            self.close()
            raise DirectUnavailable(f"connection lost: {exc}") from exc
        except DirectUnavailable:
            self.close()
            raise

    def _exactly(self, n: int) -> bytes:
        buffer = bytearray(n)
        view = memoryview(buffer)
        received = 0
        while received < n:
            count = self._sock.recv_into(view[received:])
            if not count:
                raise ConnectionResetError("closed by the server")
            received += count
        return bytes(buffer)

    def close(self) -> None:
        self._sock.close()


class _Reads(Generic[C]):
    """What the blocking and the asyncio reads share: the pool and what follows an answer."""

    def __init__(self, timeout_s: float, max_per_host: int = 64) -> None:
        self.timeout_s = timeout_s
        self._pool: _Pool[C] = _Pool(max_per_host)

    def _failed(self, key: Hashable, error: BaseException) -> None:
        """The read's connection is closed (or was never opened)."""
        self._pool.forget(key)
        if isinstance(error, DirectRefused):
            self.close(str(error))

    def _answered(self, key: Hashable, connection: Any, answer: Any) -> list[tuple[Any, ...]]:
        if not self._pool.give_back(key, connection):
            connection.close()
        return _rows(answer)

    def close(self, why: str = "closed") -> None:
        for connection in self._pool.shut(why):
            connection.close()  # type: ignore[attr-defined]


class DirectReads(_Reads[_Connection]):
    """Blocking reads: a read borrows an idle connection to the replica (or opens one, up
    to `max_per_host` in use) and gives it back when the answer is complete."""

    def rows(self, address: Address, query_id: bytes, params: list[bytes], consistency: int,
             result_metadata: Any) -> list[tuple[Any, ...]]:
        """The rows of one prepared read (positional tuples, like the driver's tuple_factory)."""
        frame = _execute(query_id, params, consistency)
        connection = self._pool.take(address)
        try:
            if connection is None:
                connection = _Connection(address, self.timeout_s)
            answer = connection.request(frame, result_metadata)
        except DirectUnavailable as exc:
            self._failed(address, exc)
            raise
        return self._answered(address, connection, answer)


class _AsyncConnection:
    """A connection of one event loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self.loop = asyncio.get_running_loop()

    @classmethod
    async def open(cls, address: Address) -> _AsyncConnection:
        try:
            reader, writer = await asyncio.open_connection(*address)
        except OSError as exc:
            raise DirectUnavailable(f"cannot connect to {address[0]}:{address[1]}: {exc}") from exc
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = cls(reader, writer)
        _check_ready(await connection.request(_startup(), None))
        return connection

    async def request(self, frame: bytes, result_metadata: Any) -> Any:
        self._writer.write(frame)
        try:
            header = await self._reader.readexactly(_HEADER.size)
            body = await self._reader.readexactly(_body_length(header))
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise DirectUnavailable(f"connection lost: {exc}") from exc
        return _decode(header, body, result_metadata)

    def close(self) -> None:
        """From any thread; a loop already closed took its sockets with it."""
        if self.loop.is_closed():
            return
        try:
            if self.loop is asyncio.get_running_loop():
                self._writer.transport.abort()
                return
        except RuntimeError:  # no loop runs in this thread
            pass
        try:
            self.loop.call_soon_threadsafe(self._writer.transport.abort)
        except RuntimeError:  # closed meanwhile
            pass


class AsyncDirectReads(_Reads[_AsyncConnection]):
    """`DirectReads` for coroutines: each event loop has connections of its own."""

    async def rows(self, address: Address, query_id: bytes, params: list[bytes], consistency: int,
                   result_metadata: Any) -> list[tuple[Any, ...]]:
        frame = _execute(query_id, params, consistency)
        key = (asyncio.get_running_loop(), address)
        connection = self._pool.take(key)
        try:
            async with asyncio.timeout(self.timeout_s):
                if connection is None:
                    for stale in self._pool.drop(lambda k: k[0].is_closed()):  # loops that ended
                        stale.close()
                    connection = await _AsyncConnection.open(address)
                answer = await connection.request(frame, result_metadata)
        except BaseException as exc:  # timed out, cancelled, lost: the connection's state is unknown
            if connection is not None:
                connection.close()
            self._failed(key, exc)
            if isinstance(exc, TimeoutError):
                raise DirectTimeout("Cassandra did not answer in time") from exc
            raise
        return self._answered(key, connection, answer)
