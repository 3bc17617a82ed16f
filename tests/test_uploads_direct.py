"""``clipzy.api.uploads.GunicornDirectBody``: a request body read straight from gunicorn's socket.

gunicorn's real request parser runs over a socketpair (no server process), so these check the
adapter against the gunicorn installed here: the fast path is taken for a Content-Length body
(and not for a chunked one or another server's stream), every byte of the body arrives in
order whatever gunicorn had already buffered, bytes of a pipelined next request are left to
gunicorn (the next request parses whole), and a client that leaves mid-body is a disconnect.
"""
from __future__ import annotations

import io
import os
import socket
import threading

import pytest
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import LimitedStream

from clipzy.api.uploads import GunicornDirectBody

pytest.importorskip("gunicorn")
from gunicorn.config import Config  # noqa: E402
from gunicorn.http.parser import RequestParser  # noqa: E402


def _request(body: bytes, *, path: str = "/up", chunked: bool = False) -> bytes:
    if chunked:
        return (f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
                + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def _send_in_pieces(sock: socket.socket, data: bytes, piece: int, *, close: bool) -> threading.Thread:
    def run() -> None:
        for i in range(0, len(data), piece):
            sock.sendall(data[i:i + piece])
        if close:
            sock.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _read_all(stream, size: int) -> bytes:
    buf = bytearray(size)
    out = bytearray()
    while n := stream.readinto(buf):
        out += buf[:n]
    return bytes(out)


@pytest.mark.parametrize("body_len, piece, read_size, first", [
    (100, 4096, 64, 0),     # the whole body and the next request already in gunicorn's unreader
    (10, 4096, 7, 3),       # 3 bytes through gunicorn's own reader first: the rest waits in its Body
    (3 * 1024 * 1024 + 17, 65536, 256 * 1024, 0),
    (1_000_003, 1000, 1024 * 1024, 0),  # small sends, large reads
])
def test_body_exact_and_pipelined_request_left_to_gunicorn(body_len, piece, read_size, first):
    body = os.urandom(body_len)
    follow = b"GET /next?x=1 HTTP/1.1\r\nHost: y\r\nContent-Length: 5\r\n\r\nhello"
    client, server = socket.socketpair()
    with client, server:
        sender = _send_in_pieces(client, _request(body) + follow, piece, close=False)
        parser = RequestParser(Config(), server, ("127.0.0.1", 1))
        req = next(parser)
        head = req.body.read(first) if first else b""
        stream = GunicornDirectBody.wrap(LimitedStream(req.body, body_len - len(head)))
        assert isinstance(stream._stream, GunicornDirectBody), "gunicorn's body reader is not the one expected"
        assert head + _read_all(stream, read_size) == body
        assert req.body.reader.length == 0 and not req.body.failed
        sender.join(10)
        nxt = next(parser)  # gunicorn finishes the first body and parses the pipelined request
        assert (nxt.method, nxt.path, nxt.query) == ("GET", "/next", "x=1")
        assert nxt.body.read() == b"hello"


def test_client_leaving_mid_body_is_a_disconnect():
    body = os.urandom(200_000)
    client, server = socket.socketpair()
    with server:
        wire = _request(body)
        client.sendall(wire[:len(wire) - 50_000])
        client.close()
        req = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
        stream = GunicornDirectBody.wrap(LimitedStream(req.body, len(body)))
        assert isinstance(stream._stream, GunicornDirectBody)
        with pytest.raises(ClientDisconnected):
            _read_all(stream, 65536)


def test_other_streams_are_left_alone():
    client, server = socket.socketpair()
    with client, server:
        client.sendall(_request(b"abc", chunked=True))
        req = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
        chunked = LimitedStream(req.body, 1000, is_max=True)
        assert GunicornDirectBody.wrap(chunked)._stream is req.body  # chunked: gunicorn's own reader
        assert _read_all(chunked, 64) == b"abc"
    plain = LimitedStream(io.BytesIO(b"xyz"), 3)  # another server's wsgi.input
    assert GunicornDirectBody.wrap(plain)._stream.__class__ is io.BytesIO


def test_reads_never_pass_the_body_even_with_a_larger_buffer():
    """Without Werkzeug's LimitedStream in front: a buffer larger than the body still gets the body only."""
    body = os.urandom(5000)
    client, server = socket.socketpair()
    with client, server:
        client.sendall(_request(body) + _request(b"second body", path="/two"))
        parser = RequestParser(Config(), server, ("127.0.0.1", 1))
        req = next(parser)
        direct = GunicornDirectBody(req.body)
        assert _read_all(direct, 1024 * 1024) == body
        nxt = next(parser)
        assert nxt.path == "/two" and nxt.body.read() == b"second body"
