"""The shared plumbing of the stand-ins: a stand-in is its handler plus one line."""

import socket
import ssl
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from netbox_pipeline.sandbox.loopback import LoopbackHTTPSandbox


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = f"hello from {self.server.sandbox.greeting}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HelloSandbox(LoopbackHTTPSandbox):
    handler = _Hello
    greeting = "the hello stand-in"


def test_plain_http_serves_stops_and_restarts_on_the_same_port():
    sandbox = HelloSandbox()
    with pytest.raises(RuntimeError, match="not running"):
        sandbox.port
    with sandbox:
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}" and sandbox.ca_cert_path is None
        assert requests.get(sandbox.url, timeout=5).text == "hello from the hello stand-in"
        port = sandbox.port
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox.url, timeout=5)
    with sandbox:  # a restart keeps the URL a client was given
        assert sandbox.port == port
        assert requests.get(sandbox.url, timeout=5).status_code == 200


def test_tls_with_a_throw_away_ca_that_goes_with_the_server():
    sandbox = HelloSandbox(tls=True).start()
    try:
        assert sandbox.url.startswith("https://127.0.0.1:")
        assert requests.get(sandbox.url, verify=str(sandbox.ca_cert_path), timeout=5).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(sandbox.url, timeout=5)  # the CA is trusted by no one else
        ca_cert = sandbox.ca_cert_path
        assert ca_cert is not None and ca_cert.is_file()
    finally:
        sandbox.stop()
    assert not ca_cert.exists()


def test_ipv6_loopback_over_tls():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        sandbox = HelloSandbox(host="::1", tls=True).start()
    except OSError as exc:
        pytest.skip(f"::1 not usable here: {exc}")
    with sandbox:
        assert sandbox.url.startswith("https://[::1]:")
        context = ssl.create_default_context(cafile=str(sandbox.ca_cert_path))
        with socket.create_connection(("::1", sandbox.port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="::1") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert b"hello from" in tls.makefile("rb").read()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "example.org"])
def test_refuses_anything_but_loopback(host):
    with pytest.raises(ValueError, match="loopback only"):
        HelloSandbox(host=host)


def test_the_stand_ins_send_no_tls_session_tickets(tmp_path):
    # A ticket sent right after the handshake sometimes stalled a websockets wss upgrade (see tls.py).
    from netbox_pipeline.sandbox.tls import server_context

    _, context = server_context(tmp_path)
    assert context.num_tickets == 0
