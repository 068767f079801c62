"""ConnectionSecurity: one place for the login and the CA, read from the settings and
given to the driver and the direct path alike."""

from __future__ import annotations

import ssl

import pytest
from cassandra.auth import PlainTextAuthProvider

from connectors.cassandra.errors import CassandraConfigError
from connectors.cassandra.session import ConnectionSecurity, connect_cluster
from skewless.settings import Settings


def test_the_settings_section_gives_the_login_and_the_ca(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read until a context is asked for")
    settings = Settings(home=tmp_path, cassandra={"username": "reader", "password": "s3cret", "tls_ca_file": str(ca)})
    security = ConnectionSecurity.from_settings(settings.cassandra)
    assert security == ConnectionSecurity("reader", "s3cret", ca)
    assert "s3cret" not in repr(security)
    assert ConnectionSecurity.from_settings(Settings(home=tmp_path).cassandra) == ConnectionSecurity()


def test_half_a_login_or_a_missing_ca_file_says_what_to_fix(tmp_path):
    with pytest.raises(CassandraConfigError, match="set both the Cassandra username and password"):
        ConnectionSecurity(username="reader")
    with pytest.raises(CassandraConfigError, match=r"CA file .*missing.pem does not exist"):
        ConnectionSecurity(tls_ca_file=tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("no certificate here")
    with pytest.raises(CassandraConfigError, match="cannot load the Cassandra TLS CA file"):
        ConnectionSecurity(tls_ca_file=garbage).ssl_context()


def test_the_driver_gets_the_same_login_and_a_verifying_context():
    cluster = connect_cluster("127.0.0.1:9042", security=ConnectionSecurity("reader", "s3cret"))
    assert isinstance(cluster.auth_provider, PlainTextAuthProvider)
    assert (cluster.auth_provider.username, cluster.auth_provider.password) == ("reader", "s3cret")
    assert cluster.ssl_context is None
    assert connect_cluster("127.0.0.1:9042").auth_provider is None
    context = ssl.create_default_context()  # what ssl_context() builds from a CA file
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
