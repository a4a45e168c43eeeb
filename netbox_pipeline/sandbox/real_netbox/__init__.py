"""A real NetBox from PyPI, run under gunicorn on loopback against the local PostgreSQL and Redis.

The end-to-end truth for tests and a demo target: `netbox-pipeline sandbox real-netbox` or
`RealNetBox(version="4.7.3")`. The stand-in (`sandbox.netbox`) stays for fast tests and fault injection.
"""

from .install import DEFAULT_VERSION, RealNetBoxError, cache_root, ensure_installed, find_python312
from .server import RealNetBox, serve_forever

__all__ = ["DEFAULT_VERSION", "RealNetBox", "RealNetBoxError", "cache_root", "ensure_installed", "find_python312",
           "serve_forever"]
