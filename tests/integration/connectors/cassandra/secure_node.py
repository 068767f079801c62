"""A throwaway Cassandra node that wants a password and TLS, for the direct path's tests.

It is the local stack's node (`skewless.devstack.cassandra.Cassandra`, same jars, JVM flags
and yaml) with its own ports and state under a temporary folder, plus PasswordAuthenticator
and client-to-node encryption from a PKCS12 keystore that the JDK's keytool makes: a test
CA signs the node's certificate for IP 127.0.0.1, and clients trust that CA's PEM file.

`AuthenticatorRenamingProxy` stands between a client and the node, speaking TLS on both
sides, and renames the authenticator the node announces: a server with an authenticator
the direct path does not speak, whose logins still work for the driver.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from cassandra import DriverException
from cassandra.cluster import NoHostAvailable

from connectors.cassandra.session import ConnectionSecurity, connect_cluster
from skewless.devstack.cassandra import Cassandra
from skewless.devstack.process import HOST
from skewless.settings import Settings

SUPERUSER = ("cassandra", "cassandra")  # what CassandraRoleManager creates on a new node
STORE_PASSWORD = "throwaway-test-store"


@dataclass(frozen=True)
class Certificates:
    keystore: Path  # PKCS12: the node's key and its chain
    ca_file: Path  # PEM of the CA that signed the node's certificate
    node_cert: Path  # PEM chain and key of the node, for the proxy's server side
    other_ca_file: Path  # PEM of a CA that signed nothing here


def _keytool(*args: str, cwd: Path) -> None:
    keytool = shutil.which("keytool")
    if keytool is None:
        raise RuntimeError("keytool (from the JDK) is not on PATH; install a Java 17 JDK")
    done = subprocess.run([keytool, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"keytool {args[0]} failed: {done.stdout}{done.stderr}")


def make_certificates(folder: Path) -> Certificates:
    folder.mkdir(parents=True, exist_ok=True)
    store = ("-storetype", "PKCS12", "-storepass", STORE_PASSWORD, "-keypass", STORE_PASSWORD)
    for ca in ("ca", "other-ca"):
        _keytool("-genkeypair", "-alias", ca, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", f"CN=skewless {ca}",
                 "-ext", "bc:c", "-validity", "3", "-keystore", f"{ca}.p12", *store, cwd=folder)
        _keytool("-exportcert", "-rfc", "-alias", ca, "-keystore", f"{ca}.p12", "-storepass", STORE_PASSWORD,
                 "-file", f"{ca}.pem", cwd=folder)
    _keytool("-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
             "-validity", "3", "-keystore", "node.p12", *store, cwd=folder)
    _keytool("-certreq", "-alias", "node", "-keystore", "node.p12", "-storepass", STORE_PASSWORD,
             "-file", "node.csr", cwd=folder)
    _keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-storepass", STORE_PASSWORD, "-infile", "node.csr",
             "-outfile", "node-signed.pem", "-rfc", "-ext", "SAN=ip:127.0.0.1", "-validity", "3", cwd=folder)
    _keytool("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "node.p12",
             "-storepass", STORE_PASSWORD, cwd=folder)
    _keytool("-importcert", "-noprompt", "-alias", "node", "-file", "node-signed.pem", "-keystore", "node.p12",
             "-storepass", STORE_PASSWORD, cwd=folder)
    return Certificates(folder / "node.p12", folder / "ca.pem", _node_pem(folder), folder / "other-ca.pem")


def _node_pem(folder: Path) -> Path:
    """The node's key and certificate as PEM (Python's ssl loads no PKCS12); keytool cannot
    export a private key, openssl can."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not on PATH; install it (apt-get install openssl)")
    out = folder / "node-key-and-cert.pem"
    done = subprocess.run([openssl, "pkcs12", "-in", "node.p12", "-nodes", "-passin", f"pass:{STORE_PASSWORD}",
                           "-out", out.name], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl pkcs12 failed: {done.stderr}")
    return out


class SecureCassandra(Cassandra):
    """The stack's node with a password and client TLS; the default superuser at once."""

    def __init__(self, settings: Settings, certificates: Certificates) -> None:
        super().__init__(settings)
        self.certificates = certificates

    def prepare(self) -> list[str]:
        argv = super().prepare()
        with (self.state_dir / "conf" / "cassandra.yaml").open("a") as yaml:
            yaml.write(f"""
authenticator: PasswordAuthenticator
authorizer: AllowAllAuthorizer
client_encryption_options:
  enabled: true
  optional: false
  keystore: "{self.certificates.keystore}"
  keystore_password: "{STORE_PASSWORD}"
  store_type: PKCS12
  require_client_auth: false
""")
        # CassandraRoleManager waits 10 s by default before creating cassandra/cassandra.
        return [argv[0], "-Dcassandra.superuser_setup_delay_ms=0", *argv[1:]]

    def security(self, username: str = SUPERUSER[0], password: str = SUPERUSER[1]) -> ConnectionSecurity:
        return ConnectionSecurity(username=username, password=password, tls_ca_file=self.certificates.ca_file)

    @property
    def contact_point(self) -> str:
        return f"{HOST}:{self.settings.cassandra.port}"

    def answers(self) -> bool:
        cluster = connect_cluster(self.contact_point, security=self.security(), request_timeout_s=5)
        try:
            return cluster.connect().execute("SELECT release_version FROM system.local").one() is not None
        except (NoHostAvailable, DriverException, OSError):
            return False
        finally:
            cluster.shutdown()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class AuthenticatorRenamingProxy:
    """TLS in, TLS out; the first AUTHENTICATE frame from the node names `authenticator`."""

    def __init__(self, node: tuple[str, int], certificates: Certificates, authenticator: str) -> None:
        self._node = node
        self._authenticator = authenticator.encode()
        self._server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server.load_cert_chain(certificates.node_cert)
        self._client = ssl.create_default_context(cafile=str(certificates.ca_file))
        self._listener = socket.create_server((HOST, 0))
        self.address = self._listener.getsockname()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                peer, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(peer,), daemon=True).start()

    def _serve(self, peer: socket.socket) -> None:
        try:
            client = self._server.wrap_socket(peer, server_side=True)
            node = self._client.wrap_socket(socket.create_connection(self._node), server_hostname=self._node[0])
        except (OSError, ssl.SSLError):
            peer.close()
            return
        self._sockets += [client, node]
        threading.Thread(target=self._relay, args=(client, node), daemon=True).start()
        self._rename_then_relay(node, client)

    def _rename_then_relay(self, node: ssl.SSLSocket, client: ssl.SSLSocket) -> None:
        try:
            while True:  # frames in the pre-v5 layout until the handshake's answer
                header = _exactly(node, 9)
                opcode, length = header[4], struct.unpack(">i", header[5:9])[0]
                body = _exactly(node, length)
                if opcode == 0x03:  # AUTHENTICATE
                    body = struct.pack(">H", len(self._authenticator)) + self._authenticator
                    header = header[:5] + struct.pack(">i", len(body))
                client.sendall(header + body)
                if opcode in (0x02, 0x03):  # READY or AUTHENTICATE: v5 framing may follow
                    break
            self._relay(node, client)
        except OSError:
            client.close()

    @staticmethod
    def _relay(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()
            source.close()

    def close(self) -> None:
        self._listener.close()
        for s in self._sockets:
            s.close()


def _exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("closed")
        data += chunk
    return data
