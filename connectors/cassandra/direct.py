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
(streams of the running loop, pooled per loop). They authenticate and encrypt as the
driver does with the same `ConnectionSecurity`: TLS verified against the configured CA
(host name included, when the context checks it) and SASL PLAIN to Cassandra's
PasswordAuthenticator. A server that wants anything else (another authenticator, a client
certificate, another protocol version) refuses the path for good (`DirectRefused`).

The frames are encoded and decoded here, from the protocol spec; of the driver this
module uses only the column types' public `from_binary` to decode cells.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from connectors.cassandra.session import ConnectionSecurity

PROTOCOL_VERSION = 4
# The cassandra-driver release this path was last checked against. Beside the frames it
# builds itself, it relies on driver attributes that are not a documented API: prepared
# statements' `query_id`, `result_metadata` (4-tuples ending in the column type) and
# `column_metadata[i].type`; column types' `serialize` and `from_binary`; the cluster
# metadata's `token_map`, `get_replicas`, `all_hosts` and hosts' `is_up`, `datacenter`,
# `endpoint.resolve()`. tests/unit/connectors/cassandra/test_driver_contract.py fails
# when the installed driver differs, and says what to re-check.
DRIVER_VERSION = "3.30.1"
PASSWORD_AUTHENTICATOR = "org.apache.cassandra.auth.PasswordAuthenticator"
_HEADER = struct.Struct(">BBhBi")  # version, flags, stream id, opcode, body length
_INT = struct.Struct(">i")
_SHORT = struct.Struct(">H")
_STREAM = 1
_RESPONSE = 0x80  # the version byte's direction bit
# Opcodes (native_protocol_v4.spec, section 2.4).
_ERROR, _STARTUP, _READY, _AUTHENTICATE = 0x00, 0x01, 0x02, 0x03
_RESULT, _EXECUTE = 0x08, 0x0A
_AUTH_CHALLENGE, _AUTH_RESPONSE, _AUTH_SUCCESS = 0x0E, 0x0F, 0x10
_RESULT_ROWS = 0x0002
_ROWS_HAS_MORE_PAGES, _ROWS_NO_METADATA = 0x0002, 0x0004
_BAD_CREDENTIALS = 0x0100
_ERROR_NAMES = {
    0x0000: "Server error", 0x000A: "Protocol error", 0x0100: "Bad credentials", 0x1000: "Unavailable",
    0x1001: "Overloaded", 0x1002: "Is bootstrapping", 0x1200: "Read timeout", 0x1300: "Read failure",
    0x2000: "Syntax error", 0x2100: "Unauthorized", 0x2200: "Invalid", 0x2500: "Unprepared",
}
# Query flags: values follow; the answer leaves out the column metadata, which the prepared
# statement already holds (half the bytes and half the decoding of a 20-feature row).
_VALUES_SKIP_METADATA = 0x01 | 0x02


class DirectUnavailable(Exception):
    """The direct path cannot answer this read; send it through the driver."""


class DirectRefused(DirectUnavailable):
    """The server will not take our connections (an authenticator or TLS setup this path
    does not speak, or another protocol version): stop trying."""


class DirectAuthenticationFailed(DirectRefused):
    """The server rejected the configured username and password."""


class DirectTimeout(DirectUnavailable):
    """Cassandra did not answer within the request timeout (the read's time is spent)."""


class _Unreadable(DirectUnavailable):
    """A garbled or truncated answer: the connection's state is unknown (close it)."""


Address = tuple[str, int]
CellDecoder = Callable[[bytes | None, int], Any]


def column_decoders(result_metadata: Sequence[tuple[str, str, str, Any]]) -> tuple[CellDecoder, ...]:
    """How to decode each cell of a prepared statement's rows: its column types' `from_binary`."""
    return tuple(kind.from_binary for _keyspace, _table, _name, kind in result_metadata)


def _frame(opcode: int, body: bytes) -> bytes:
    return _HEADER.pack(PROTOCOL_VERSION, 0, _STREAM, opcode, len(body)) + body


def _string(text: str) -> bytes:
    data = text.encode()
    return _SHORT.pack(len(data)) + data


def _execute(query_id: bytes, params: list[bytes], consistency: int) -> bytes:
    """An EXECUTE frame of a prepared statement (protocol v4) that asks the server to skip
    the result metadata."""
    body = bytearray(_SHORT.pack(len(query_id)))
    body += query_id
    body += struct.pack(">HBH", consistency, _VALUES_SKIP_METADATA, len(params))
    for value in params:
        body += _INT.pack(len(value))
        body += value
    return _frame(_EXECUTE, bytes(body))


def _read_string(body: bytes, at: int) -> tuple[str, int]:
    (length,) = _SHORT.unpack_from(body, at)
    at += 2
    return body[at:at + length].decode(errors="replace"), at + length


def _error(body: bytes) -> tuple[int, str]:
    """An ERROR body's code and message."""
    (code,) = _INT.unpack_from(body, 0)
    message, _ = _read_string(body, 4)
    return code, message


def _describe_error(body: bytes) -> str:
    code, message = _error(body)
    return f"code={code:04x} [{_ERROR_NAMES.get(code, 'Error')}] message={message!r}"


def _rows(opcode: int, body: bytes, decoders: tuple[CellDecoder, ...]) -> list[tuple[Any, ...]]:
    """The rows of a RESULT (kind Rows) answer to our EXECUTE; DirectUnavailable for any
    other answer."""
    try:
        if opcode == _ERROR:
            raise DirectUnavailable(f"server error: {_describe_error(body)}")
        if opcode != _RESULT or _INT.unpack_from(body, 0)[0] != _RESULT_ROWS:
            raise DirectUnavailable(f"unexpected answer: opcode {opcode:#04x}")
        flags, columns = struct.unpack_from(">ii", body, 4)
        at = 12
        if flags & _ROWS_HAS_MORE_PAGES:  # a single-partition read of one row never pages; skip the state
            (length,) = _INT.unpack_from(body, at)
            at += 4 + max(length, 0)
        if not flags & _ROWS_NO_METADATA or columns != len(decoders):
            raise DirectUnavailable(f"the answer's columns ({columns}) are not the prepared statement's")
        (count,) = _INT.unpack_from(body, at)
        at += 4
        rows: list[tuple[Any, ...]] = []
        for _ in range(count):
            cells: list[Any] = []
            for decode in decoders:
                (length,) = _INT.unpack_from(body, at)
                at += 4
                if length < 0:
                    cells.append(None)
                    continue
                cells.append(decode(body[at:at + length], PROTOCOL_VERSION))
                at += length
            rows.append(tuple(cells))
        if at != len(body):
            raise _Unreadable(f"the answer's {len(body)} bytes do not hold {count} rows of {columns} cells")
        return rows
    except DirectUnavailable:
        raise
    except Exception as exc:  # a short or garbled body
        raise _Unreadable(f"unreadable answer: {exc}") from exc


class _Handshake:
    """STARTUP, then (when the server asks) SASL PLAIN: each answer gives the next frame to
    send, or None once the connection is ready. Shared by the blocking and asyncio paths."""

    def __init__(self, security: ConnectionSecurity) -> None:
        self._security = security

    @staticmethod
    def first() -> bytes:
        options = {"CQL_VERSION": "3.0.0"}
        body = _SHORT.pack(len(options)) + b"".join(_string(k) + _string(v) for k, v in options.items())
        return _frame(_STARTUP, body)

    def next(self, opcode: int, body: bytes) -> bytes | None:
        if opcode in (_READY, _AUTH_SUCCESS):
            return None
        if opcode == _AUTHENTICATE:
            authenticator, _ = _read_string(body, 0)
            return self._plain(authenticator)
        if opcode == _ERROR:
            code, message = _error(body)
            if code == _BAD_CREDENTIALS:
                raise DirectAuthenticationFailed(
                    f"Cassandra rejected user {self._security.username!r}: {message}; "
                    "check the cassandra username and password settings")
            raise DirectRefused(f"the server refused a protocol v{PROTOCOL_VERSION} connection: "
                                f"{_describe_error(body)}")
        if opcode == _AUTH_CHALLENGE:
            raise DirectRefused("the server's authenticator sent a SASL challenge; PLAIN expects none")
        raise DirectRefused(f"unexpected answer to STARTUP: opcode {opcode:#04x}")

    def _plain(self, authenticator: str) -> bytes:
        if authenticator != PASSWORD_AUTHENTICATOR:
            raise DirectRefused(f"the server's authenticator {authenticator} is not {PASSWORD_AUTHENTICATOR}, "
                                "the only one the direct path speaks")
        username, password = self._security.username, self._security.password
        if username is None or password is None:
            raise DirectRefused(f"the server asks for authentication ({authenticator}) and no username and "
                                "password are configured")
        token = b"\x00" + username.encode() + b"\x00" + password.encode()  # RFC 4616, no authzid
        return _frame(_AUTH_RESPONSE, _INT.pack(len(token)) + token)


def _server_hostname(context: ssl.SSLContext, address: Address) -> str | None:
    # As the driver: the endpoint's address is the name checked, when the context checks one.
    return address[0] if context.check_hostname else None


def _tls_refused(address: Address, error: ssl.SSLError, after_handshake: bool = False) -> DirectRefused:
    # With TLS 1.3 a server learns only after the handshake that it got no client certificate.
    why = " (after the handshake: the server wants a client certificate, which the direct path does not send)" \
        if after_handshake else ""
    return DirectRefused(f"TLS with {address[0]}:{address[1]} failed: {error}{why}")


def _parse_header(header: bytes) -> tuple[int, int]:
    """(opcode, body length) of a response header; DirectUnavailable if it is not one of ours."""
    version, _flags, stream, opcode, length = _HEADER.unpack(header)
    if version != _RESPONSE | PROTOCOL_VERSION or stream not in (_STREAM, -1) or length < 0:
        raise _Unreadable(f"unexpected frame header {header.hex()}")
    return opcode, length


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

    @property
    def shut_because(self) -> str:
        return self._closed


class _Connection:
    def __init__(self, address: Address, timeout_s: float, security: ConnectionSecurity) -> None:
        try:
            self._sock = socket.create_connection(address, timeout=timeout_s)
        except OSError as exc:
            raise DirectUnavailable(f"cannot connect to {address[0]}:{address[1]}: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            context = security.ssl_context()
            if context is not None:
                self._sock = context.wrap_socket(self._sock, server_hostname=_server_hostname(context, address))
            handshake = _Handshake(security)
            frame: bytes | None = handshake.first()
            while frame is not None:
                frame = handshake.next(*self.request(frame))
        except ssl.SSLError as exc:  # a certificate the CA did not sign, or another host's name
            self.close()
            raise _tls_refused(address, exc) from exc
        except DirectUnavailable as exc:
            self.close()
            if isinstance(exc.__cause__, ssl.SSLError):
                raise _tls_refused(address, exc.__cause__, after_handshake=True) from exc.__cause__
            raise
        except OSError as exc:  # e.g. reset while the TLS handshake ran
            self.close()
            raise DirectUnavailable(f"connection lost: {exc}") from exc

    def request(self, frame: bytes) -> tuple[int, bytes]:
        """Send `frame`; the answer's opcode and body."""
        try:
            self._sock.sendall(frame)
            opcode, length = _parse_header(self._exactly(_HEADER.size))
            return opcode, self._exactly(length)
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

    def __init__(self, timeout_s: float, security: ConnectionSecurity | None = None,
                 max_per_host: int = 64) -> None:
        self.timeout_s = timeout_s
        self.security = security or ConnectionSecurity()
        self._pool: _Pool[C] = _Pool(max_per_host)

    def _failed(self, key: Hashable, error: BaseException) -> None:
        """The read's connection is closed (or was never opened)."""
        self._pool.forget(key)
        if isinstance(error, DirectRefused):
            self.close(str(error))

    def _answered(self, key: Hashable, connection: Any, opcode: int, body: bytes,
                  decoders: tuple[CellDecoder, ...]) -> list[tuple[Any, ...]]:
        try:
            return _rows(opcode, body, decoders)
        except _Unreadable as exc:
            connection.close()
            self._failed(key, exc)
            connection = None
            raise
        finally:  # rows or a server error: the connection is ready for the next read
            if connection is not None and not self._pool.give_back(key, connection):
                connection.close()

    @property
    def refused(self) -> str:
        """Why the path is off for good ("" while it is on)."""
        return self._pool.shut_because

    def close(self, why: str = "closed") -> None:
        for connection in self._pool.shut(why):
            connection.close()  # type: ignore[attr-defined]


class DirectReads(_Reads[_Connection]):
    """Blocking reads: a read borrows an idle connection to the replica (or opens one, up
    to `max_per_host` in use) and gives it back when the answer is complete."""

    def connect(self, address: Address) -> None:
        """Open (and pool) one connection to `address` now: DirectRefused when the server
        will not take this path's connections, DirectUnavailable when it cannot be reached."""
        self._pool.take(address)
        try:
            connection = _Connection(address, self.timeout_s, self.security)
        except DirectUnavailable as exc:
            self._failed(address, exc)
            raise
        if not self._pool.give_back(address, connection):
            connection.close()

    def rows(self, address: Address, query_id: bytes, params: list[bytes], consistency: int,
             decoders: tuple[CellDecoder, ...]) -> list[tuple[Any, ...]]:
        """The rows of one prepared read (positional tuples, like the driver's tuple_factory)."""
        frame = _execute(query_id, params, consistency)
        connection = self._pool.take(address)
        try:
            if connection is None:
                connection = _Connection(address, self.timeout_s, self.security)
            opcode, body = connection.request(frame)
        except DirectUnavailable as exc:
            self._failed(address, exc)
            raise
        return self._answered(address, connection, opcode, body, decoders)


class _AsyncConnection:
    """A connection of one event loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self.loop = asyncio.get_running_loop()

    @classmethod
    async def open(cls, address: Address, security: ConnectionSecurity) -> _AsyncConnection:
        context = security.ssl_context()
        tls: dict[str, Any] = {} if context is None else {
            "ssl": context, "server_hostname": _server_hostname(context, address) or ""}
        try:
            reader, writer = await asyncio.open_connection(*address, **tls)
        except ssl.SSLError as exc:
            raise _tls_refused(address, exc) from exc
        except OSError as exc:
            raise DirectUnavailable(f"cannot connect to {address[0]}:{address[1]}: {exc}") from exc
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = cls(reader, writer)
        try:
            handshake = _Handshake(security)
            frame: bytes | None = handshake.first()
            while frame is not None:
                frame = handshake.next(*await connection.request(frame))
        except DirectUnavailable as exc:
            connection.close()
            if isinstance(exc.__cause__, ssl.SSLError):
                raise _tls_refused(address, exc.__cause__, after_handshake=True) from exc.__cause__
            raise
        except BaseException:
            connection.close()
            raise
        return connection

    async def request(self, frame: bytes) -> tuple[int, bytes]:
        self._writer.write(frame)
        try:
            opcode, length = _parse_header(await self._reader.readexactly(_HEADER.size))
            return opcode, await self._reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise DirectUnavailable(f"connection lost: {exc}") from exc

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
                   decoders: tuple[CellDecoder, ...]) -> list[tuple[Any, ...]]:
        frame = _execute(query_id, params, consistency)
        key = (asyncio.get_running_loop(), address)
        connection = self._pool.take(key)
        try:
            async with asyncio.timeout(self.timeout_s):
                if connection is None:
                    for stale in self._pool.drop(lambda k: k[0].is_closed()):  # loops that ended
                        stale.close()
                    connection = await _AsyncConnection.open(address, self.security)
                opcode, body = await connection.request(frame)
        except BaseException as exc:  # timed out, cancelled, lost: the connection's state is unknown
            if connection is not None:
                connection.close()
            self._failed(key, exc)
            if isinstance(exc, TimeoutError):
                raise DirectTimeout("Cassandra did not answer in time") from exc
            raise
        return self._answered(key, connection, opcode, body, decoders)
