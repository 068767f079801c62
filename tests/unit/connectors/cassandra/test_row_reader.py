"""RowReader choice and fallback without Cassandra: what the direct path cannot answer goes
to the driver, a timeout does not, a refusal is logged once, and the choice at start says
which path and why."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading

import pytest

from connectors.cassandra.direct import DirectRefused, DirectTimeout, DirectUnavailable
from connectors.cassandra.row_reader import DirectRowReader, choose_row_reader
from connectors.cassandra.session import ConnectionSecurity

LOG = "connectors.cassandra.row_reader"


class Fallback:
    name = "driver"

    def __init__(self) -> None:
        self.reads: list[tuple[str, str]] = []

    def read(self, view: str, key: str) -> tuple:
        self.reads.append((view, key))
        return ("driver", key)

    async def read_async(self, view: str, key: str) -> tuple:
        return self.read(view, key)

    def close(self) -> None:
        pass


class Reader:
    """A view's reader whose direct reads answer `outcome` (a row, or an error to raise)."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome

    def read_direct(self, _direct: object, key: str) -> tuple:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return ("direct", key)

    async def read_direct_async(self, direct: object, key: str) -> tuple:
        return self.read_direct(direct, key)


@pytest.mark.parametrize("blocking", [True, False], ids=["sync", "async"])
def test_what_the_direct_path_cannot_answer_is_read_by_the_driver(blocking, caplog):
    caplog.set_level(logging.INFO, logger=LOG)
    readers = {"ok": Reader(None), "evicted": Reader(DirectUnavailable("server error: code=2500")),
               "refused": Reader(DirectRefused("the server's authenticator X is not ..."))}
    fallback = Fallback()
    rows = DirectRowReader(readers.__getitem__, fallback, timeout_s=1.0)

    def read(view: str) -> tuple:
        return rows.read(view, "k") if blocking else asyncio.run(rows.read_async(view, "k"))

    assert read("ok") == ("direct", "k") and fallback.reads == []
    assert read("evicted") == ("driver", "k")
    assert read("refused") == ("driver", "k") and read("refused") == ("driver", "k")
    assert [r.getMessage() for r in caplog.records] == [
        "direct reads stop: the server's authenticator X is not ...; single-entity reads go through the driver"]
    rows.close()


def test_a_direct_timeout_is_the_reads_failure_not_a_second_try():
    fallback = Fallback()
    rows = DirectRowReader({"v": Reader(DirectTimeout("Cassandra did not answer in time"))}.__getitem__, fallback, 1.0)
    with pytest.raises(DirectTimeout):
        rows.read("v", "k")
    assert fallback.reads == []


class Host:
    def __init__(self, address: tuple[str, int], datacenter: str = "dc1", up: bool = True) -> None:
        self.is_up, self.datacenter = up, datacenter
        self.endpoint = type("EndPoint", (), {"resolve": lambda _self: address})()


def session_of(*hosts: Host) -> object:
    metadata = type("Metadata", (), {"all_hosts": lambda _self: list(hosts)})()
    return type("Session", (), {"cluster": type("Cluster", (), {"metadata": metadata})()})()


def node_answering(frame: bytes) -> tuple[str, int]:
    """A loopback server that answers the first frame it gets with `frame`."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        peer, _ = listener.accept()
        header = peer.recv(9)
        peer.recv(struct.unpack(">i", header[5:9])[0])
        peer.sendall(frame)
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()


def frame(opcode: int, body: bytes = b"") -> bytes:
    return struct.pack(">BBhBi", 0x84, 0, 1, opcode, len(body)) + body


def choice(caplog: pytest.LogCaptureFixture) -> str:
    [line] = [r.getMessage() for r in caplog.records if r.name == LOG]
    caplog.clear()
    return line


def test_the_client_picks_once_and_says_why(caplog):
    caplog.set_level(logging.INFO, logger=LOG)
    readers = {}.__getitem__
    assert choose_row_reader(readers, session_of(), local_datacenter="dc1", timeout_s=1.0, direct=False).name == "driver"
    assert choice(caplog) == "single-entity reads: driver: direct reads are turned off (direct_reads=False)"
    away = session_of(Host(("127.0.0.1", 1), "dc2"), Host(("127.0.0.1", 1), up=False))
    assert choose_row_reader(readers, away, local_datacenter="dc1", timeout_s=1.0).name == "driver"
    assert choice(caplog) == "single-entity reads: driver: no node of datacenter dc1 is up to try the direct path on"

    ready = node_answering(frame(0x02))
    chosen = choose_row_reader(readers, session_of(Host(ready)), local_datacenter="dc1", timeout_s=1.0)
    assert chosen.name == "direct"
    assert choice(caplog) == (f"single-entity reads: direct: direct native-protocol path (no TLS, no login), "
                              f"checked on {ready[0]}:{ready[1]}")
    chosen.close()

    kerberos = b"com.example.KerberosAuthenticator"
    asks = node_answering(frame(0x03, struct.pack(">H", len(kerberos)) + kerberos))
    login = ConnectionSecurity("reader", "s3cret")
    chosen = choose_row_reader(readers, session_of(Host(asks)), local_datacenter="dc1", timeout_s=1.0, security=login)
    assert chosen.name == "driver"
    assert choice(caplog) == ("single-entity reads: driver: the direct path is not possible here: the server's "
                              "authenticator com.example.KerberosAuthenticator is not "
                              "org.apache.cassandra.auth.PasswordAuthenticator, the only one the direct path speaks")
