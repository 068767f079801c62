"""connectors.cassandra.direct against the real Cassandra, and against loopback servers that
misbehave: every answer but rows is DirectUnavailable (the caller then uses the driver),
a silent server is DirectTimeout within the timeout, and an authenticating one turns the
path off."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from cassandra import ConsistencyLevel

from connectors.cassandra import cql
from connectors.cassandra.direct import (PROTOCOL_VERSION, AsyncDirectReads, DirectReads, DirectRefused, DirectTimeout,
                                         DirectUnavailable, column_decoders)

ONE = ConsistencyLevel.ONE


@pytest.fixture(scope="module")
def table(session) -> Iterator[tuple[object, tuple[str, int]]]:
    """A keyspace with k0..k9 -> v = i; the prepared single-partition read and the node's address."""
    keyspace = f"d{uuid.uuid4().hex[:10]}"
    session.execute(f"CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    session.execute(f"CREATE TABLE {keyspace}.t (k text PRIMARY KEY, v double, l list<double>)")
    for i in range(10):
        session.execute(f"INSERT INTO {keyspace}.t (k, v, l) VALUES (%s, %s, %s)", (f"k{i}", float(i), [float(i)] * i))
    select = session.prepare(cql.render_select_by_key(keyspace, "t", "k", ("v", "l")))
    host = next(iter(session.cluster.metadata.all_hosts()))
    yield select, host.endpoint.resolve()
    session.execute(f"DROP KEYSPACE {keyspace}")


@pytest.fixture
def direct() -> Iterator[DirectReads]:
    reads = DirectReads(timeout_s=2.0)
    yield reads
    reads.close()


def columns(select) -> tuple:
    return column_decoders(select.result_metadata)


def key(text: str) -> list[bytes]:
    return [text.encode()]  # text serializes as its UTF-8 bytes


def test_rows_are_the_drivers_rows(session, table, direct):
    select, address = table
    for i in range(10):
        driver = session.execute(select, (f"k{i}",)).one()
        rows = direct.rows(address, select.query_id, key(f"k{i}"), ONE, columns(select))
        assert rows == [tuple(driver)]
    assert direct.rows(address, select.query_id, key("nobody"), ONE, columns(select)) == []
    assert len(direct._pool.idle[address]) == 1  # one connection served every read


def test_threads_share_the_pool_without_mixing_answers(table, direct):
    from concurrent.futures import ThreadPoolExecutor

    select, address = table

    def read(i: int) -> list[tuple]:
        return direct.rows(address, select.query_id, key(f"k{i % 10}"), ONE, columns(select))

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(read, range(600)))
    assert answers == [[(float(i % 10), [float(i % 10)] * (i % 10) or None)] for i in range(600)]
    assert 1 <= direct._pool.open[address] <= 12 and len(direct._pool.idle[address]) == direct._pool.open[address]


def test_a_server_error_is_unavailable_and_the_connection_stays(table, direct):
    select, address = table
    with pytest.raises(DirectUnavailable, match="server error.*code=2500"):
        direct.rows(address, b"\x00" * 16, key("k1"), ONE, columns(select))
    assert direct.rows(address, select.query_id, key("k1"), ONE, columns(select)) == [(1.0, [1.0])]
    assert len(direct._pool.idle[address]) == 1


def test_a_lost_connection_is_unavailable_once_then_replaced(table, direct):
    select, address = table
    direct.rows(address, select.query_id, key("k2"), ONE, columns(select))
    direct._pool.idle[address][0]._sock.shutdown(socket.SHUT_RDWR)  # as if the node dropped it
    with pytest.raises(DirectUnavailable, match="connection lost|closed"):
        direct.rows(address, select.query_id, key("k2"), ONE, columns(select))
    assert direct.rows(address, select.query_id, key("k2"), ONE, columns(select)) == [(2.0, [2.0, 2.0])]
    assert direct._pool.open[address] == 1
    direct.close()
    with pytest.raises(DirectUnavailable, match="closed"):
        direct.rows(address, select.query_id, key("k2"), ONE, columns(select))


def _frame(opcode: int, body: bytes = b"", stream: int = 0) -> bytes:
    return struct.pack(">BBhBi", 0x80 | PROTOCOL_VERSION, 0, stream, opcode, len(body)) + body


class FakeNode:
    """A loopback server that answers STARTUP with `startup_answer` and then stays silent."""

    def __init__(self, startup_answer: bytes) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = self._listener.getsockname()
        self._answer = startup_answer
        self._peers: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                peer, _ = self._listener.accept()
            except OSError:
                return
            self._peers.append(peer)
            header = peer.recv(9)
            peer.recv(struct.unpack(">i", header[5:9])[0])
            stream = struct.unpack(">h", header[2:4])[0]
            peer.sendall(self._answer[:2] + struct.pack(">h", stream) + self._answer[4:])

    def close(self) -> None:
        self._listener.close()
        for peer in self._peers:
            peer.close()


@pytest.mark.parametrize("blocking", [True, False], ids=["sync", "async"])
def test_a_silent_node_times_out_within_the_timeout(blocking):
    node = FakeNode(_frame(0x02))  # READY, then nothing
    direct = DirectReads(timeout_s=0.3) if blocking else AsyncDirectReads(timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(DirectTimeout, match="did not answer in time"):
            read = direct.rows(node.address, b"\x01" * 16, key("k"), ONE, ())
            if not blocking:
                asyncio.run(read)
        assert 0.25 < time.monotonic() - started < 2.0
    finally:
        direct.close()
        node.close()


AUTHENTICATOR = b"org.apache.cassandra.auth.PasswordAuthenticator"
UNSUPPORTED = b"Invalid or unsupported protocol version (4)"


@pytest.mark.parametrize("startup_answer, why", [
    (_frame(0x03, struct.pack(">H", len(AUTHENTICATOR)) + AUTHENTICATOR), "authentication"),  # AUTHENTICATE
    (_frame(0x00, struct.pack(">iH", 0x000A, len(UNSUPPORTED)) + UNSUPPORTED),  # ERROR: protocol error
     "refused a protocol v4 connection.*unsupported protocol"),
], ids=["authentication", "protocol-version"])
def test_a_node_that_refuses_our_connection_turns_the_path_off(startup_answer, why):
    node = FakeNode(startup_answer)
    direct = DirectReads(timeout_s=1.0)
    try:
        with pytest.raises(DirectRefused, match=why):
            direct.rows(node.address, b"\x01" * 16, key("k"), ONE, ())
        with pytest.raises(DirectUnavailable, match=why):  # no second attempt
            direct.rows(node.address, b"\x01" * 16, key("k"), ONE, ())
        assert len(node._peers) == 1
    finally:
        direct.close()
        node.close()


def test_async_rows_are_the_drivers_rows_and_a_cancelled_read_closes_its_connection(session, table):
    select, address = table
    direct = AsyncDirectReads(timeout_s=2.0)

    async def scenario() -> None:
        for i in range(10):
            rows = await direct.rows(address, select.query_id, key(f"k{i}"), ONE, columns(select))
            assert rows == [tuple(session.execute(select, (f"k{i}",)).one())]
        with pytest.raises(DirectUnavailable, match="code=2500"):
            await direct.rows(address, b"\x00" * 16, key("k1"), ONE, columns(select))
        loop_key = (asyncio.get_running_loop(), address)
        assert direct._pool.open[loop_key] == 1
        read = asyncio.ensure_future(direct.rows(address, select.query_id, key("k3"), ONE, columns(select)))
        await asyncio.sleep(0)  # sent, not answered
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        assert direct._pool.open[loop_key] == 0  # its answer could not be told from the next one's
        assert await direct.rows(address, select.query_id, key("k3"), ONE, columns(select)) == [(3.0, [3.0] * 3)]

    try:
        asyncio.run(scenario())
    finally:
        direct.close()
