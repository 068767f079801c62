"""The direct read path against a node that wants a password and TLS (a second, throwaway
node; see secure_node.py): the SDK reads the same rows through the direct path and the
driver, configured from the same settings; wrong credentials and a foreign CA are clear
errors; an authenticator the direct path does not speak makes it step aside, in one log
line, while the driver reads on."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.cassandra import cql
from connectors.cassandra.direct import DirectAuthenticationFailed, DirectReads, DirectRefused, DirectUnavailable
from connectors.cassandra.reader import OnlineReader
from connectors.cassandra.schema import create_view_table
from connectors.cassandra.session import ConnectionSecurity, connect_cluster
from connectors.cassandra.views import view_columns, view_table
from skewless.devstack.process import wait_until_answering
from skewless.serving import FeatureStore, StoreUnavailableError
from skewless.settings import Settings
from skewless.spec import FeatureSpec, ViewSpec
from tests.integration.connectors.cassandra.secure_node import (AuthenticatorRenamingProxy, SecureCassandra,
                                                                 free_port, make_certificates)

DAY = 86_400_000
V0 = 1_750_000_000_000
VIEW = ViewSpec(
    name="cards", version=1, entity_key="card_id", source_topic="tx", event_time_field="t",
    features=(
        FeatureSpec("n_tx_1d", "count", None, window_ms=DAY, hop_ms=DAY),
        FeatureSpec("last_amounts", "last_n", "amount", window_ms=None, params=(("n", 2),)),
    ),
    ttl_ms=30 * DAY,
)
READER = ("skewless_reader", "reader-secret")
KEYS = [f"c{i}" for i in range(40)] + ["nobody"]
ROW_READER_LOG = "connectors.cassandra.row_reader"


@pytest.fixture(scope="module")
def node() -> Iterator[SecureCassandra]:
    """The node, up, with a login role and a view table of c0..c39 in keyspace `secure`."""
    with tempfile.TemporaryDirectory(prefix="skewless-secure-node-") as folder:
        home = Path(folder)
        settings = Settings(home=home, cassandra={"port": free_port(), "storage_port": free_port()})
        node = SecureCassandra(settings, make_certificates(home / "certs"))
        pid = node.launch()
        try:
            wait_until_answering(node, pid, node.start_timeout)
            _populate(node)
            yield node
        finally:
            node.process.stop(node.stop_grace)


def _populate(node: SecureCassandra) -> None:
    cluster = connect_cluster(node.contact_point, security=node.security())
    try:
        session = cluster.connect()
        session.execute(f"CREATE ROLE {READER[0]} WITH PASSWORD = '{READER[1]}' AND LOGIN = true")
        session.execute("CREATE KEYSPACE secure WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        create_view_table(session, "secure", view_table(VIEW), view_columns(VIEW), VIEW.entity_key)
        insert = session.prepare(cql.render_upsert("secure", view_table(VIEW), [c for c, _ in view_columns(VIEW)]))
        for i in range(40):
            valid_from = V0 + i
            session.execute(insert, [f"c{i}", i, [float(i), i + 0.5] if i % 2 else [], valid_from, valid_from + 7,
                                     valid_from * 1000, valid_from * 1000, 0])
    finally:
        cluster.shutdown()


def settings_for(node: SecureCassandra, contact_point: str | None = None, password: str = READER[1]) -> Settings:
    """What an operator configures: the same username, password and CA for both paths."""
    return Settings(home=node.settings.home, cassandra={
        "hosts": contact_point or node.contact_point, "keyspace": "secure",
        "username": READER[0], "password": password, "tls_ca_file": str(node.certificates.ca_file),
    })


def store(settings: Settings, **options) -> FeatureStore:
    return FeatureStore.from_settings(settings, [VIEW], clock=lambda: V0 + 1000, **options)


def served(s: FeatureStore, keys: list[str]) -> list[dict]:
    return [s.get_online_features([k], ["cards:*"]).to_dict()["results"] for k in keys]


def choices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ROW_READER_LOG]


def test_the_direct_path_and_the_driver_read_the_same_rows_with_a_password_and_tls(node, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger=ROW_READER_LOG)
    settings = settings_for(node)
    with store(settings, direct_reads=False) as driver:
        expected = served(driver, KEYS)
    assert choices(caplog) == ["single-entity reads: driver: direct reads are turned off (direct_reads=False)"]
    caplog.clear()
    with store(settings) as direct:
        [line] = choices(caplog)
        assert line.startswith(f"single-entity reads: direct: direct native-protocol path (TLS, CA "
                               f"{node.certificates.ca_file}, org.apache.cassandra.auth.PasswordAuthenticator "
                               f"as '{READER[0]}'), checked on 127.0.0.1:{node.settings.cassandra.port}")
        direct.prepare()
        monkeypatch.setattr(OnlineReader, "start", lambda *_: pytest.fail("a single-entity read went through the driver"))
        got = served(direct, KEYS)

        async def read_all() -> list[dict]:
            return [(await direct.get_online_features_async([k], ["cards:*"])).to_dict()["results"] for k in KEYS]

        got_async = asyncio.run(read_all())
    assert got == expected == got_async
    assert expected[3][0]["features"]["cards:last_amounts"]["value"] == [3.0, 3.5]
    assert expected[4][0]["features"]["cards:n_tx_1d"]["value"] == 4
    assert expected[-1][0]["features"]["cards:n_tx_1d"]["value"] is None  # no row


def test_wrong_credentials_are_a_clear_error_on_both_paths(node):
    with pytest.raises(StoreUnavailableError, match=f"refused the login of user '{READER[0]}'.*"
                       "check the cassandra username and password settings"):
        store(settings_for(node, password="not-the-password"))
    wrong = ConnectionSecurity(username=READER[0], password="not-the-password", tls_ca_file=node.certificates.ca_file)
    direct = DirectReads(timeout_s=5.0, security=wrong)
    with pytest.raises(DirectAuthenticationFailed, match=f"Cassandra rejected user '{READER[0]}'.*check the "
                       "cassandra username and password settings"):
        direct.connect(("127.0.0.1", node.settings.cassandra.port))


def test_a_node_certificate_from_another_ca_refuses_the_direct_path(node):
    foreign = ConnectionSecurity(username=READER[0], password=READER[1], tls_ca_file=node.certificates.other_ca_file)
    direct = DirectReads(timeout_s=5.0, security=foreign)
    with pytest.raises(DirectRefused, match="TLS with 127.0.0.1:.* failed: .*certificate verify failed"):
        direct.connect(("127.0.0.1", node.settings.cassandra.port))
    plain = DirectReads(timeout_s=5.0, security=ConnectionSecurity(username=READER[0], password=READER[1]))
    with pytest.raises(DirectUnavailable, match="connection lost"):  # a TLS-only port drops a plain client
        plain.connect(("127.0.0.1", node.settings.cassandra.port))


def test_a_name_the_node_certificate_does_not_hold_refuses_the_direct_path(node):
    direct = DirectReads(timeout_s=5.0, security=node.security(*READER))
    with pytest.raises(DirectRefused, match="certificate verify failed: .*mismatch"):
        direct.connect(("localhost", node.settings.cassandra.port))  # the certificate names 127.0.0.1 only


def test_a_server_that_wants_a_client_certificate_refuses_the_direct_path(node):
    """As a node with require_client_auth: true would (the settings hold no client certificate)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(node.certificates.node_cert)
    context.load_verify_locations(node.certificates.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        peer, _ = listener.accept()
        try:
            context.wrap_socket(peer, server_side=True)
        except (OSError, ssl.SSLError):
            pass  # it refused our client: what the test wants
        finally:
            peer.close()
            listener.close()

    threading.Thread(target=serve, daemon=True).start()
    direct = DirectReads(timeout_s=5.0, security=node.security(*READER))
    with pytest.raises(DirectRefused, match="TLS with 127.0.0.1:.* failed: .*the server wants a client certificate"):
        direct.connect(listener.getsockname())


def test_an_authenticator_the_direct_path_does_not_speak_makes_it_step_aside(node, caplog):
    proxy = AuthenticatorRenamingProxy(("127.0.0.1", node.settings.cassandra.port), node.certificates,
                                       "com.example.auth.KerberosAuthenticator")
    caplog.set_level(logging.INFO, logger=ROW_READER_LOG)
    try:
        with store(settings_for(node)) as straight:
            expected = served(straight, KEYS[:10])
        caplog.clear()
        with store(settings_for(node, f"127.0.0.1:{proxy.address[1]}")) as proxied:
            assert proxied.client.row_reader.name == "driver"
            got = served(proxied, KEYS[:10])
    finally:
        proxy.close()
    assert choices(caplog) == [
        "single-entity reads: driver: the direct path is not possible here: the server's authenticator "
        "com.example.auth.KerberosAuthenticator is not org.apache.cassandra.auth.PasswordAuthenticator, "
        "the only one the direct path speaks"
    ]
    assert got == expected
