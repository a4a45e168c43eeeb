"""python -m netbox_pipeline.sandbox.home_assistant [--port 8123] [--tls] [--newer]"""

import argparse

from netbox_pipeline.sandbox.loopback import LOOPBACK_HOSTS, serve_until_stopped

from . import DEFAULT_TOKEN, HA_VERSION, NEWER_HA_VERSION, HomeAssistantSandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m netbox_pipeline.sandbox.home_assistant",
                                     description="Serve a Home Assistant look-alike on loopback.")
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--tls", action="store_true", help="https/wss with a throw-away CA")
    parser.add_argument("--newer", action="store_true", help=f"answer like HA {NEWER_HA_VERSION} (floors) "
                        f"instead of {HA_VERSION}")
    args = parser.parse_args(argv)
    sandbox = HomeAssistantSandbox(args.token, host=args.host, port=args.port, tls=args.tls,
                                   version=NEWER_HA_VERSION if args.newer else HA_VERSION)
    serve_until_stopped(sandbox, lambda ha: [
        f"Home Assistant sandbox on {ha.url} (WebSocket {ha.websocket_url})",
        f"  token: {args.token}" + (f"; CA certificate: {ha.ca_cert_path}" if args.tls else ""),
    ])


if __name__ == "__main__":
    main()
