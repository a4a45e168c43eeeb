"""What every stand-in server shares: it listens on loopback only, in a daemon thread, over plain
HTTP(/ws) or TLS with a throw-away CA (`tls.py`), and tells its port and URL.

An HTTP stand-in is its request handler plus one line (the handler reaches the stand-in as
`self.server.sandbox`):

    class MySandbox(LoopbackHTTPSandbox):
        handler = MyHandler

Any other server (the WebSocket stand-ins use websockets' sync server) subclasses
`LoopbackSandbox` and builds its server in `_bind`. `start()` makes the certificates (with
`tls=True`), binds and serves; `stop()` shuts the server down and removes the certificates; the
stand-in is its own context manager. A restart binds the port of the first start again, so its URL
stays the same.
"""

import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar

from netbox_pipeline.values import host_port

from .tls import LOOPBACK_HOSTS, SANDBOX_CA, server_context

__all__ = ["LOOPBACK_HOSTS", "LoopbackHTTPSandbox", "LoopbackHTTPServer", "LoopbackSandbox", "Serving",
           "serve_until_stopped"]


class Serving(Protocol):
    """What `_bind` returns: the stdlib's socketserver and websockets' sync `Server` both are one."""

    socket: socket.socket

    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...


class LoopbackSandbox:
    """Start/stop, port and URL of a stand-in server on loopback; subclasses say how to `_bind` it."""

    scheme = "http"  # of `url`: "ws" for a WebSocket-only stand-in; TLS adds the "s"
    label = "sandbox"  # names the serving thread and the certificates' folder
    authority = SANDBOX_CA  # the throw-away CA's name

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox listens on loopback only, not {host!r}")
        self.host, self.tls = host, tls
        self.ca_cert_path: Path | None = None  # the CA to trust, once started with tls
        self._port = port
        self._started = False
        self._server: Serving | None = None
        self._thread: threading.Thread | None = None
        self._certificates: Path | None = None

    def _bind(self, host: str, port: int, tls: ssl.SSLContext | None) -> Serving:
        """The bound, not yet serving server (port 0: a free one)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        if self._server is not None:
            return self
        context = None
        if self.tls:
            self._certificates = Path(tempfile.mkdtemp(prefix=f"{self.label}-"))
            self.ca_cert_path, context = server_context(self._certificates, self.authority)
        try:
            self._server = self._bind(self.host, self._port, context)
        except BaseException:
            self._remove_certificates()
            raise
        self._port, self._started = self._server.socket.getsockname()[1], True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.label}-{self._port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._remove_certificates()

    def _remove_certificates(self) -> None:
        if self._certificates is not None:
            shutil.rmtree(self._certificates, ignore_errors=True)
            self._certificates = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on; after `stop()` the one it listened on (and binds again on `start()`)."""
        if not self._started:
            raise RuntimeError("the sandbox is not running; call start()")
        return self._port

    @property
    def url(self) -> str:
        return f"{self.scheme}{'s' if self.tls else ''}://{host_port(self.host, self.port)}"


class LoopbackHTTPServer(ThreadingHTTPServer):
    """The stdlib's threading HTTP server for a stand-in: IPv4 or IPv6 loopback, optional TLS with
    the handshake in the request thread, the stand-in reachable from the handler as `server.sandbox`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sandbox: Any,
                 tls: ssl.SSLContext | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.sandbox, self.tls = sandbox, tls
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        # TCP_NODELAY, as production servers do: the stdlib writes headers and body separately, and
        # Nagle's algorithm would hold the body for the client's delayed ACK (~40 ms per request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            return sock, address
        # The handshake happens in the request thread: a client that refuses the certificate must
        # not stall the accept loop.
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.tls is not None and isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, OSError)):
            self.sandbox.tls_failures += 1  # e.g. a verifying client rejected the certificate
            return
        super().handle_error(request, client_address)

    def serve_forever(self, poll_interval: float = 0.05) -> None:  # a short poll: stop() returns at once
        super().serve_forever(poll_interval)

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()


class LoopbackHTTPSandbox(LoopbackSandbox):
    """A stand-in served by `LoopbackHTTPServer`: a subclass names its request `handler`."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        super().__init__(host=host, port=port, tls=tls)
        self.tls_failures = 0  # TLS connections that broke off, e.g. a client refusing the certificate

    def _bind(self, host: str, port: int, tls: ssl.SSLContext | None) -> LoopbackHTTPServer:
        return LoopbackHTTPServer((host, port), self.handler, self, tls)


SandboxT = TypeVar("SandboxT", bound=LoopbackSandbox)


def serve_until_stopped(sandbox: SandboxT, announce: Callable[[SandboxT], Iterable[str]]) -> None:
    """Start `sandbox`, print `announce(sandbox)` (how to connect), serve until SIGINT or SIGTERM, stop.

    The signal handlers are in place before the first line is printed, so a caller that reads the
    line and terminates the process always sees a clean exit."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sandbox.start()
    try:
        for line in announce(sandbox):
            print(line, flush=True)
        stop.wait()
    finally:
        sandbox.stop()
