"""The direct path's frames without a server: the handshake's SASL PLAIN exchange and its
refusals, and the decoding of a Rows result, byte by byte as the protocol spec lays them."""

from __future__ import annotations

import struct

import pytest
from cassandra import cqltypes

from connectors.cassandra.direct import (PASSWORD_AUTHENTICATOR, DirectAuthenticationFailed, DirectRefused,
                                         DirectUnavailable, _execute, _Handshake, _rows, column_decoders)
from connectors.cassandra.session import ConnectionSecurity

LOGIN = ConnectionSecurity(username="reader", password="s3cret")


def string(text: str) -> bytes:
    return struct.pack(">H", len(text)) + text.encode()


def unframe(frame: bytes) -> tuple[int, int, bytes]:
    version, _flags, _stream, opcode, length = struct.unpack(">BBhBi", frame[:9])
    assert len(frame) == 9 + length
    return version, opcode, frame[9:]


def test_startup_asks_for_cql_3():
    version, opcode, body = unframe(_Handshake.first())
    assert (version, opcode) == (4, 0x01)
    assert body == struct.pack(">H", 1) + string("CQL_VERSION") + string("3.0.0")


def test_password_authenticator_gets_one_plain_token_and_success_ends_the_handshake():
    handshake = _Handshake(LOGIN)
    version, opcode, body = unframe(handshake.next(0x03, string(PASSWORD_AUTHENTICATOR)))
    assert (version, opcode) == (4, 0x0F)  # AUTH_RESPONSE
    assert body == struct.pack(">i", 14) + b"\x00reader\x00s3cret"
    assert handshake.next(0x10, struct.pack(">i", -1)) is None  # AUTH_SUCCESS, no token
    assert handshake.next(0x02, b"") is None  # READY: no authentication asked


@pytest.mark.parametrize("opcode, body, error, message", [
    (0x03, string("com.datastax.bdp.cassandra.auth.DseAuthenticator"), DirectRefused,
     "authenticator com.datastax.bdp.cassandra.auth.DseAuthenticator is not .*PasswordAuthenticator"),
    (0x0E, struct.pack(">i", 4) + b"more", DirectRefused, "SASL challenge"),
    (0x00, struct.pack(">i", 0x0100) + string("Provided username reader and/or password are incorrect"),
     DirectAuthenticationFailed, "rejected user 'reader': Provided username .* check the cassandra username"),
    (0x00, struct.pack(">i", 0x000A) + string("Invalid or unsupported protocol version (4)"), DirectRefused,
     r"refused a protocol v4 connection: code=000a \[Protocol error\]"),
], ids=["other-authenticator", "challenge", "bad-credentials", "protocol-version"])
def test_what_the_direct_path_cannot_do_refuses_it(opcode, body, error, message):
    with pytest.raises(error, match=message):
        _Handshake(LOGIN).next(opcode, body)


def test_a_server_that_wants_a_login_refuses_a_client_without_one():
    with pytest.raises(DirectRefused, match="no username and password are configured"):
        _Handshake(ConnectionSecurity()).next(0x03, string(PASSWORD_AUTHENTICATOR))


def test_execute_skips_the_result_metadata():
    _, opcode, body = unframe(_execute(b"\x01\x02", [b"k1"], 6))
    assert opcode == 0x0A
    assert body == struct.pack(">H", 2) + b"\x01\x02" + struct.pack(">HBH", 6, 0x03, 1) + struct.pack(">i", 2) + b"k1"


DECODERS = column_decoders([("ks", "t", "v", cqltypes.DoubleType), ("ks", "t", "s", cqltypes.UTF8Type)])


def rows_body(rows: list[tuple[bytes | None, ...]], flags: int = 0x0004, columns: int = 2) -> bytes:
    body = struct.pack(">iiii", 0x0002, flags, columns, len(rows))
    for row in rows:
        for cell in row:
            body += struct.pack(">i", -1) if cell is None else struct.pack(">i", len(cell)) + cell
    return body


def test_rows_decode_each_cell_by_its_column_type():
    body = rows_body([(struct.pack(">d", 2.5), b"abc"), (None, b"")])
    assert _rows(0x08, body, DECODERS) == [(2.5, "abc"), (None, "")]
    assert _rows(0x08, rows_body([]), DECODERS) == []


def test_anything_but_rows_is_unavailable():
    with pytest.raises(DirectUnavailable, match=r"server error: code=2500 \[Unprepared\]"):
        _rows(0x00, struct.pack(">i", 0x2500) + string("Prepared query with ID 00 not found") + string("\x00"), DECODERS)
    with pytest.raises(DirectUnavailable, match="unexpected answer"):
        _rows(0x08, struct.pack(">i", 0x0001), DECODERS)  # a Void result
    with pytest.raises(DirectUnavailable, match="not the prepared statement's"):
        _rows(0x08, rows_body([], columns=3), DECODERS)  # the table changed under the statement
    with pytest.raises(DirectUnavailable, match="do not hold 1 rows of 2 cells"):
        _rows(0x08, rows_body([(struct.pack(">d", 2.5), b"abc")])[:-2], DECODERS)  # cut short
    with pytest.raises(DirectUnavailable, match="unreadable answer"):
        _rows(0x08, rows_body([(struct.pack(">d", 2.5), b"abc")])[:6], DECODERS)  # not even the header
