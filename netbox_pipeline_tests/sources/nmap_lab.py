"""A throw-away network of Linux network namespaces for real nmap scans.

Layout: a scanner namespace owns bridge `br0` (10.77.0.1/24); each host namespace hangs off the
bridge with a veth pair whose host end carries a MAC from a known vendor's OUI, and runs small
TCP listeners. Every link is created inside the lab's own namespaces (never in the root one),
and scans run inside the scanner namespace, so no packet reaches the machine's real interfaces.
Names carry the process id so parallel runs do not collide. Needs root (CAP_SYS_ADMIN).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.77.0.0/24"
SCANNER_IP = "10.77.0.1"

# A tiny banner server: one line on connect (ssh, smtp), then hold the connection briefly.
_BANNER_SERVER = r"""
import socket, sys, threading
bind, port, banner = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\r\n"
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((bind, port))
server.listen(16)
def serve(conn):
    with conn:
        try:
            conn.sendall(banner)
            conn.settimeout(5)
            while conn.recv(1024):
                conn.sendall(b"250 ok\r\n" if banner.startswith(b"220") else b"")
        except OSError:
            pass
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

SSH_BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
SMTP_BANNER = "220 mail.lab.test ESMTP Postfix (Debian/GNU)"


@dataclass(frozen=True)
class LabHost:
    index: int
    ip: str
    mac: str
    vendor: str  # what nmap's nmap-mac-prefixes says for the OUI
    listeners: tuple[tuple[str, int], ...]  # (kind, port): kind "http", "ssh" or "smtp"

    @property
    def ports(self) -> list[int]:
        return sorted(port for _, port in self.listeners)


HOSTS = (
    LabHost(1, "10.77.0.11", "52:54:00:77:00:11", "QEMU virtual NIC", (("ssh", 22), ("http", 80))),
    LabHost(2, "10.77.0.12", "00:50:56:77:00:12", "VMware", (("smtp", 25), ("http", 8080))),
    LabHost(3, "10.77.0.13", "B8:27:EB:77:00:13", "Raspberry Pi Foundation", (("ssh", 22), ("http", 8123))),
)
SCAN_PORTS = "22,25,80,443,8080,8123"


def lab_available() -> tuple[bool, str]:
    """Whether this process can build the lab, and why not."""
    if not sys.platform.startswith("linux"):
        return False, "network namespaces need Linux"
    if os.geteuid() != 0:
        return False, "building network namespaces needs root"
    for tool in ("ip", "nmap", "setpriv"):
        if shutil.which(tool) is None:
            return False, f"{tool} not on PATH"
    return True, ""


@dataclass
class NmapLab:
    suffix: str = field(default_factory=lambda: str(os.getpid()))
    hosts: tuple[LabHost, ...] = HOSTS
    namespaces: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    workdir: Path | None = None

    @property
    def scanner(self) -> str:
        return f"nbp-scan-{self.suffix}"

    def host_namespace(self, host: LabHost) -> str:
        return f"nbp-h{host.index}-{self.suffix}"

    @property
    def subnet(self) -> str:
        return SUBNET

    @property
    def nmap_wrapper(self) -> str:
        """An executable that runs nmap inside the scanner namespace (as the calling user)."""
        assert self.workdir is not None
        return str(self.workdir / "nmap-in-lab")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "NmapLab":
        self.workdir = Path(tempfile.mkdtemp(prefix=f"nbp-nmap-lab-{self.suffix}-"))
        try:
            self._build()
            self._start_listeners()
            self._write_wrapper()
            self._wait_for_listeners()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the listeners by PID, then anything left inside, then delete the namespaces."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()
        for namespace in reversed(self.namespaces):
            for pid in _run(["ip", "netns", "pids", namespace], check=False).split():
                try:
                    os.kill(int(pid), 15)
                except (ProcessLookupError, ValueError):
                    pass
        for namespace in reversed(self.namespaces):
            _run(["ip", "netns", "del", namespace], check=False)
        self.namespaces.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def stop_listener(self, host: LabHost, port: int) -> None:
        process = self.processes.pop(f"{host.index}:{port}")
        process.terminate()
        process.wait(timeout=5)

    def start_listener(self, host: LabHost, port: int) -> None:
        kind = dict((p, k) for k, p in host.listeners)[port]
        self._start_listener(host, kind, port)
        self._wait_for_listeners()

    # -- building ----------------------------------------------------------------------------

    def _add_namespace(self, name: str) -> None:
        _run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        _run(["ip", "-n", name, "link", "set", "lo", "up"])

    def _build(self) -> None:
        scanner = self.scanner
        self._add_namespace(scanner)
        _run(["ip", "-n", scanner, "link", "add", "br0", "type", "bridge"])
        _run(["ip", "-n", scanner, "addr", "add", f"{SCANNER_IP}/24", "dev", "br0"])
        _run(["ip", "-n", scanner, "link", "set", "br0", "up"])
        for host in self.hosts:
            namespace = self.host_namespace(host)
            self._add_namespace(namespace)
            port = f"vb-h{host.index}"
            # Both ends are created inside lab namespaces: the root namespace never sees them.
            _run(["ip", "-n", scanner, "link", "add", port, "type", "veth",
                  "peer", "name", "eth0", "netns", namespace])
            _run(["ip", "-n", namespace, "link", "set", "eth0", "address", host.mac.lower()])
            _run(["ip", "-n", namespace, "addr", "add", f"{host.ip}/24", "dev", "eth0"])
            _run(["ip", "-n", namespace, "link", "set", "eth0", "up"])
            _run(["ip", "-n", scanner, "link", "set", port, "master", "br0"])
            _run(["ip", "-n", scanner, "link", "set", port, "up"])

    def _start_listeners(self) -> None:
        assert self.workdir is not None
        banner_script = self.workdir / "banner_server.py"
        banner_script.write_text(_BANNER_SERVER)
        (self.workdir / "www").mkdir()
        (self.workdir / "www" / "index.html").write_text("<html><body>lab</body></html>\n")
        for host in self.hosts:
            for kind, port in host.listeners:
                self._start_listener(host, kind, port)

    def _start_listener(self, host: LabHost, kind: str, port: int) -> None:
        assert self.workdir is not None
        if kind == "http":
            command = [sys.executable, "-m", "http.server", str(port), "--bind", host.ip,
                       "--directory", str(self.workdir / "www")]
        else:
            banner = SSH_BANNER if kind == "ssh" else SMTP_BANNER
            command = [sys.executable, str(self.workdir / "banner_server.py"), host.ip, str(port), banner]
        # `ip netns exec` execs the command, so the PID is the listener's own.
        self.processes[f"{host.index}:{port}"] = subprocess.Popen(
            ["ip", "netns", "exec", self.host_namespace(host), *command],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def _write_wrapper(self) -> None:
        wrapper = Path(self.nmap_wrapper)
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {self.scanner} nmap "$@"\n')
        wrapper.chmod(0o755)

    def _wait_for_listeners(self, timeout_s: float = 15.0) -> None:
        """Until every listener accepts a connection (probed from inside its own namespace)."""
        deadline = time.monotonic() + timeout_s
        probe = "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()"
        pending = [(h, port) for h in self.hosts for _, port in h.listeners
                   if f"{h.index}:{port}" in self.processes]
        while pending:
            host, port = pending[0]
            process = self.processes[f"{host.index}:{port}"]
            if process.poll() is not None:
                raise RuntimeError(f"lab listener {host.ip}:{port} exited with {process.returncode}")
            ok = subprocess.run(["ip", "netns", "exec", self.host_namespace(host), sys.executable,
                                 "-c", probe, host.ip, str(port)], capture_output=True).returncode == 0
            if ok:
                pending.pop(0)
            elif time.monotonic() > deadline:
                raise RuntimeError(f"lab listener {host.ip}:{port} did not start in {timeout_s:.0f} s")
            else:
                time.sleep(0.1)


def _run(command: list[str], *, check: bool = True) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout
