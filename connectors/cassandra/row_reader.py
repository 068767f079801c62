"""A single entity's row, read blocking (or awaited): the `RowReader` interface, its two
implementations, and the choice between them, made once when a client starts.

`DriverRowReader` sends the prepared read through the driver's session (its IO thread,
retries, re-prepares). `DirectRowReader` sends it on the calling thread over
`connectors.cassandra.direct` connections and hands every read that path cannot answer
to the driver. `choose_row_reader` opens one direct connection up front: a server whose
authentication or TLS the direct path does not speak gets the driver alone, and the
client's log says which path it took and why, in one line.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from connectors.cassandra.direct import (PASSWORD_AUTHENTICATOR, Address, AsyncDirectReads, DirectReads,
                                         DirectRefused, DirectTimeout, DirectUnavailable)
from connectors.cassandra.session import ConnectionSecurity

if TYPE_CHECKING:
    from cassandra.cluster import Session

    from connectors.cassandra.reader import OnlineReader

log = logging.getLogger(__name__)

ReaderOf = Callable[[str], "OnlineReader"]  # a view's prepared reader


class RowReader(Protocol):
    """The raw row of one entity's partition in a view (None: no row)."""

    name: str

    def read(self, view: str, key: Any) -> Any | None: ...

    async def read_async(self, view: str, key: Any) -> Any | None: ...

    def close(self) -> None: ...


class DriverRowReader:
    """Reads through the driver's session; the session belongs to the caller."""

    name = "driver"

    def __init__(self, readers: ReaderOf) -> None:
        self._readers = readers

    def read(self, view: str, key: Any) -> Any | None:
        return self._readers(view).start(key).result().one()

    async def read_async(self, view: str, key: Any) -> Any | None:
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[list[Any]] = loop.create_future()
        response = self._readers(view).start(key)
        response.add_callbacks(  # on the driver's IO thread: one hop back to the loop
            lambda rows: loop.call_soon_threadsafe(_settle, answered, rows, None),
            lambda error: loop.call_soon_threadsafe(_settle, answered, None, error),
        )
        rows = await answered
        return rows[0] if rows else None

    def close(self) -> None:
        pass


class DirectRowReader:
    """Reads on the calling thread (or loop) over connections of its own; any answer but
    rows, and every read after the server refused the path, goes to `fallback`. A timeout
    is the read's failure: its time is spent."""

    name = "direct"

    def __init__(self, readers: ReaderOf, fallback: RowReader, timeout_s: float,
                 security: ConnectionSecurity | None = None) -> None:
        self._readers = readers
        self._fallback = fallback
        self.blocking = DirectReads(timeout_s, security)
        self.awaited = AsyncDirectReads(timeout_s, security)
        self._refusal_logged = threading.Event()

    def read(self, view: str, key: Any) -> Any | None:
        try:
            return self._readers(view).read_direct(self.blocking, key)
        except DirectTimeout:
            raise
        except DirectUnavailable as exc:
            self._note(exc)
        return self._fallback.read(view, key)

    async def read_async(self, view: str, key: Any) -> Any | None:
        try:
            return await self._readers(view).read_direct_async(self.awaited, key)
        except DirectTimeout:
            raise
        except DirectUnavailable as exc:
            self._note(exc)
        return await self._fallback.read_async(view, key)

    def _note(self, error: DirectUnavailable) -> None:
        if isinstance(error, DirectRefused) and not self._refusal_logged.is_set():
            self._refusal_logged.set()
            log.warning("direct reads stop: %s; single-entity reads go through the driver", error)

    def close(self) -> None:
        self.blocking.close()
        self.awaited.close()
        self._fallback.close()


def choose_row_reader(readers: ReaderOf, session: Session, *, local_datacenter: str, timeout_s: float,
                      security: ConnectionSecurity | None = None, direct: bool = True) -> RowReader:
    """The direct path when a node of `local_datacenter` takes its connection, else the
    driver; logs the choice and its reason."""
    driver = DriverRowReader(readers)
    security = security or ConnectionSecurity()
    if not direct:
        return _chosen(driver, "direct reads are turned off (direct_reads=False)")
    address = _local_node(session, local_datacenter)
    if address is None:
        return _chosen(driver, f"no node of datacenter {local_datacenter} is up to try the direct path on")
    reader = DirectRowReader(readers, driver, timeout_s, security)
    try:
        reader.blocking.connect(address)
    except DirectRefused as exc:
        reader.close()
        return _chosen(driver, f"the direct path is not possible here: {exc}")
    except DirectUnavailable as exc:  # e.g. the node went down meanwhile: later reads try again
        return _chosen(reader, f"direct native-protocol path ({_how(security)}); its first connection "
                               f"failed ({exc}), reads fall back to the driver until one succeeds")
    return _chosen(reader, f"direct native-protocol path ({_how(security)}), checked on {address[0]}:{address[1]}")


def _how(security: ConnectionSecurity) -> str:
    tls = f"TLS, CA {security.tls_ca_file}" if security.tls_ca_file is not None else "no TLS"
    auth = f"{PASSWORD_AUTHENTICATOR} as {security.username!r}" if security.authenticates else "no login"
    return f"{tls}, {auth}"


def _chosen(reader: RowReader, why: str) -> RowReader:
    log.info("single-entity reads: %s: %s", reader.name, why)
    return reader


def _local_node(session: Session, local_datacenter: str) -> Address | None:
    for host in session.cluster.metadata.all_hosts():
        if host.is_up and host.datacenter == local_datacenter:
            address: Address = host.endpoint.resolve()
            return address
    return None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting request was cancelled
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
