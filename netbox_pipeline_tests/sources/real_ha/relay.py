"""A TCP relay run inside Home Assistant's network namespace.

It accepts on a listening socket inherited from the test process (bound on the host's loopback
before the namespace was entered: a socket keeps the namespace it was made in) and connects each
client to 127.0.0.1:<port> inside the namespace. So HA has no route anywhere, and the tests still
reach it on the host's loopback.

    ip netns exec <ns> python relay.py <inherited fd> <target port>
"""

import socket
import sys
import threading


def pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listener: socket.socket, port: int) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()  # HA not listening yet: the client sees a closed connection and retries
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), int(sys.argv[2]))
