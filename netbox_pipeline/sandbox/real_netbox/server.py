"""A real NetBox (the PyPI wheel) under gunicorn on loopback, on its own clone of a migrated database.

    with RealNetBox(version="4.7.3") as nb:      # install (once), template (once), clone, seed, serve
        nb.url, nb.token, nb.read_only_token, nb.v1_token
        nb.reset()                               # a fresh database with the same users and tokens, in seconds

The instance database is seeded (admin, tokens) and then copied once more as its own template,
so `reset()` is DROP + CREATE … TEMPLATE under the running workers (which reconnect thanks to
CONN_HEALTH_CHECKS) and the tokens stay the same for the whole session.
"""

import json
import logging
import os
import secrets
import socket
import string
import subprocess
import time
import uuid
from pathlib import Path
from typing import IO

import requests

from . import database
from .configuration import ENV_DB_NAME, ENV_REDIS_CACHING, ENV_REDIS_TASKS, write_configuration
from .install import DEFAULT_VERSION, RealNetBoxError, cache_root, ensure_installed, run_logged
from .locking import claim_redis_pair

log = logging.getLogger("netbox_pipeline.real_netbox")

ALPHANUMERIC = string.ascii_letters + string.digits


def _alnum(length: int) -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RealNetBox:
    def __init__(self, version: str = DEFAULT_VERSION, port: int = 0, workers: int = 2, threads: int = 3,
                 redis_dbs: tuple[int, int] | None = None, credentials: dict | None = None,
                 extra_tokens: tuple[tuple[str, bool, bool], ...] = ()) -> None:
        """`credentials` fixes token / read_only_token / v1_token / admin_password (the recorder replays
        exchanges made with known values); `extra_tokens` adds (value, write_enabled, enabled) tokens.
        `redis_dbs` (tasks, caching): by default `start()` claims a pair no other running instance holds."""
        self.version, self.workers, self.threads = version, workers, threads
        self.port = port or free_port()
        self.redis_dbs = redis_dbs
        self._redis_claim: IO | None = None
        self.db_name = database.instance_name(os.getpid(), uuid.uuid4().hex[:10])
        self.seed_db = self.db_name + database.SEED_SUFFIX
        self.home: Path | None = None
        self.process: subprocess.Popen | None = None
        # Tokens: v2 write, v2 read-only, v1 write (v1 is deprecated but still served by 4.5–4.7).
        self.token = f"nbt_{_alnum(12)}.{_alnum(40)}"
        self.read_only_token = f"nbt_{_alnum(12)}.{_alnum(40)}"
        self.v1_token = secrets.token_hex(20)
        self.admin_password = _alnum(24)
        for name, value in (credentials or {}).items():
            setattr(self, name, value)
        self.extra_tokens = extra_tokens

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    # --- the NetBox commands, with this instance's environment ---
    def _env(self, db_name: str) -> dict[str, str]:
        assert self.home is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NETBOX_ROOT"))}
        env.update({"NETBOX_ROOT": str(self.home / "root"), ENV_DB_NAME: db_name,
                    ENV_REDIS_TASKS: str(self.redis_dbs[0]), ENV_REDIS_CACHING: str(self.redis_dbs[1])})
        return env

    def _bin(self, name: str) -> str:
        assert self.home is not None
        return str(self.home / "venv" / "bin" / name)

    def _migrate(self, db_name: str) -> None:
        run_logged(f"netbox migrate ({db_name})", [self._bin("netbox"), "migrate", "--no-input"],
                   env=self._env(db_name), log_file=self.home / "migrate.log")

    def _seed(self, db_name: str) -> None:
        def v2(value: str, write: bool, description: str, enabled: bool = True) -> dict:
            key, secret = value[4:].split(".", 1)
            return {"version": 2, "key": key, "secret": secret, "write_enabled": write, "description": description,
                    "enabled": enabled}

        wanted = {"username": "admin", "password": self.admin_password, "tokens": [
            v2(self.token, True, "netbox_pipeline sandbox: write"),
            v2(self.read_only_token, False, "netbox_pipeline sandbox: read-only"),
            {"version": 1, "secret": self.v1_token, "write_enabled": True, "description": "netbox_pipeline sandbox: v1"},
            *(v2(value, write, "extra", enabled) for value, write, enabled in self.extra_tokens),
        ]}
        done = subprocess.run([self._bin("python"), str(Path(__file__).with_name("seed.py"))], input=json.dumps(wanted),
                              env=self._env(db_name), capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RealNetBoxError(f"creating the admin user and tokens failed:\n{done.stderr[-3000:]}")

    # --- lifecycle ---
    def start(self, timeout_s: float = 180) -> "RealNetBox":
        self.home = ensure_installed(self.version)
        write_configuration(self.home / "root", database.PG_HOST, database.PG_PORT, database.PG_USER)
        if self.redis_dbs is None:
            self.redis_dbs, self._redis_claim = claim_redis_pair(cache_root())
        try:
            template = database.ensure_template(self.version, self._migrate)
            database.sweep_leftovers()
            database.clone_database(template, self.db_name)
            self._seed(self.db_name)
            database.clone_database(self.db_name, self.seed_db)
            self._serve(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self, timeout_s: float) -> None:
        assert self.home is not None
        command = [self._bin("gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                   "--threads", str(self.threads), "--timeout", "300", "--graceful-timeout", "5", "--no-control-socket",
                   "--access-logfile", "-", "netbox.wsgi"]
        log_path = self.home / f"gunicorn-{self.port}.log"
        log.info("starting gunicorn for NetBox %s on %s (log: %s)", self.version, self.url, log_path)
        with open(log_path, "ab") as out:
            self.process = subprocess.Popen(command, env=self._env(self.db_name), stdout=out, stderr=subprocess.STDOUT,
                                            cwd=self.home / "root", start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RealNetBoxError(f"gunicorn exited with {self.process.returncode}; see {log_path}")
            try:
                reply = requests.get(self.api_url + "/status/", headers=self.headers(), timeout=5)
                if reply.status_code == 200:
                    log.info("NetBox %s is up", reply.json().get("netbox-version"))
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RealNetBoxError(f"NetBox did not answer /api/status/ within {timeout_s:.0f} s; see {log_path}")

    def headers(self, token: str | None = None) -> dict[str, str]:
        value = token or self.token
        return {"Authorization": f"Bearer {value}" if value.startswith("nbt_") else f"Token {value}"}

    def reset(self) -> None:
        """A fresh database (only the admin and the tokens) under the running server, in seconds."""
        database.drop_database(self.db_name)
        database.clone_database(self.seed_db, self.db_name)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # gunicorn's graceful shutdown of its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        for name in (self.db_name, self.seed_db):
            try:
                database.drop_database(name)
            except Exception as exc:  # stopping must not hide the error that made us stop
                log.warning("could not drop database %s: %s", name, exc)
        if self._redis_claim is not None:
            self._redis_claim.close()  # releases the Redis pair for the next instance
            self._redis_claim = None

    def __enter__(self) -> "RealNetBox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_forever(version: str, port: int) -> None:
    """The `netbox-pipeline sandbox real-netbox` command: start, print URL and tokens, serve until Ctrl-C."""
    import signal
    import threading

    nb = RealNetBox(version=version, port=port)
    try:
        nb.start()  # Ctrl-C while starting raises KeyboardInterrupt; start() cleans up after itself
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        print(f"NetBox {version} (real, gunicorn) listening on {nb.url}", flush=True)
        print(f"  write token (v2):      {nb.token}")
        print(f"  read-only token (v2):  {nb.read_only_token}")
        print(f"  write token (v1):      {nb.v1_token}")
        print(f"  admin password:        {nb.admin_password}   (user admin; the web UI has no static files)")
        print(f"  database:              {nb.db_name} (a clone of {database.template_name(version)}; dropped on exit)")
        print(f"  Redis databases:       {nb.redis_dbs[0]} (tasks), {nb.redis_dbs[1]} (caching)")
        print(f"  try: NETBOX_TOKEN={nb.token} netbox-pipeline sync   (with netbox.url: {nb.url})", flush=True)
        while not stop.wait(1):
            if nb.process is None or nb.process.poll() is not None:
                raise RealNetBoxError("gunicorn stopped unexpectedly")
    finally:
        print("stopping NetBox and dropping its database", flush=True)
        nb.stop()
