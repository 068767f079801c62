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
Python than they save here), one request at a time, and are pooled per replica.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

from cassandra.protocol import (
    AuthenticateMessage,
    ErrorMessage,
    ExecuteMessage,
    ProtocolHandler,
    ReadyMessage,
    ResultMessage,
    StartupMessage,
)

PROTOCOL_VERSION = 4
_HEADER = struct.Struct(">BBhBi")  # version, flags, stream id, opcode, body length
_STREAM = 1
_RESULT_ROWS = 0x0002


class DirectUnavailable(Exception):
    """The direct path cannot answer this read; send it through the driver."""


class DirectRefused(DirectUnavailable):
    """The server will not take our connections (it wants authentication): stop trying."""


class DirectTimeout(DirectUnavailable):
    """Cassandra did not answer within the request timeout (the read's time is spent)."""


class _Connection:
    def __init__(self, address: tuple[str, int], timeout_s: float) -> None:
        try:
            self._sock = socket.create_connection(address, timeout=timeout_s)
        except OSError as exc:
            raise DirectUnavailable(f"cannot connect to {address[0]}:{address[1]}: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        answer = self.request(StartupMessage(cqlversion="3.0.0", options={}), None)
        if isinstance(answer, AuthenticateMessage):
            self.close()
            raise DirectRefused("the server asks for authentication; reads go through the driver")
        if not isinstance(answer, ReadyMessage):
            self.close()
            raise DirectUnavailable(f"unexpected answer to STARTUP: {answer!r}")

    def request(self, message: Any, result_metadata: Any) -> Any:
        try:
            self._sock.sendall(ProtocolHandler.encode_message(message, _STREAM, PROTOCOL_VERSION, None, False))
            _, flags, _, opcode, length = _HEADER.unpack(self._exactly(_HEADER.size))
            body = self._exactly(length)
        except socket.timeout as exc:
            self.close()
            raise DirectTimeout("Cassandra did not answer in time") from exc
        except OSError as exc:
            self.close()
            raise DirectUnavailable(f"connection lost: {exc}") from exc
        try:
            return ProtocolHandler.decode_message(PROTOCOL_VERSION, {}, _STREAM, flags, opcode, body, None,
                                                  result_metadata)
        except Exception as exc:  # a frame we cannot read: the connection's state is unknown
            self.close()
            raise DirectUnavailable(f"unreadable answer: {exc}") from exc

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


class DirectReads:
    """Idle connections per replica address; a read borrows one (or opens one, up to
    `max_per_host` in use) and gives it back when the answer is complete."""

    def __init__(self, timeout_s: float, max_per_host: int = 64) -> None:
        self.timeout_s = timeout_s
        self.max_per_host = max_per_host
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._open: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._closed = ""  # why reads no longer take this path

    def rows(self, address: tuple[str, int], query_id: bytes, params: list[bytes], consistency: int,
             result_metadata: Any) -> list[tuple[Any, ...]]:
        """The rows of one prepared read (positional tuples, like the driver's tuple_factory)."""
        connection = self._borrow(address)
        message = ExecuteMessage(query_id, params, consistency, skip_meta=True)
        try:
            answer = connection.request(message, result_metadata)
        except DirectUnavailable:
            self._forget(address)
            raise
        self._give_back(address, connection)
        if isinstance(answer, ResultMessage) and answer.kind == _RESULT_ROWS:
            return answer.parsed_rows
        if isinstance(answer, ErrorMessage):
            raise DirectUnavailable(f"server error: {answer.summary_msg()}")
        raise DirectUnavailable(f"unexpected answer: {answer!r}")

    def _borrow(self, address: tuple[str, int]) -> _Connection:
        with self._lock:
            if self._closed:
                raise DirectUnavailable(self._closed)
            idle = self._idle.get(address)
            if idle:
                return idle.pop()
            if self._open.get(address, 0) >= self.max_per_host:
                raise DirectUnavailable(f"{self.max_per_host} reads already in flight to {address[0]}")
            self._open[address] = self._open.get(address, 0) + 1
        try:
            return _Connection(address, self.timeout_s)
        except DirectUnavailable as exc:
            self._forget(address)
            if isinstance(exc, DirectRefused):
                self._shut(str(exc))
            raise

    def _give_back(self, address: tuple[str, int], connection: _Connection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.setdefault(address, []).append(connection)
                return
        connection.close()

    def _forget(self, address: tuple[str, int]) -> None:
        with self._lock:
            self._open[address] -= 1

    def close(self) -> None:
        self._shut("closed")

    def _shut(self, why: str) -> None:
        with self._lock:
            self._closed = why
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
