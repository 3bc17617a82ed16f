"""A private nginx on loopback, configured from the README's nginx block, for the proxy tests and bench/load.py.

``readme_block()`` is the fenced ``nginx`` block of README.md's "Deployment: gunicorn behind
nginx" section: the one copy of the settings, so the README cannot drift from what is tested.
``site_config()`` changes only what must differ on a test machine (the upstream address, the
listen address, the size limit), and fails if a line it changes is no longer in the block.
``Nginx`` runs Debian's ``nginx`` binary as a private instance: its own prefix, config, pid,
logs and temp folders under one folder, ``daemon off`` in its own process group, listening on
a free 127.0.0.1 port; as root its workers run as root too (so they can use the private temp
folders), otherwise as the calling user.
"""
from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from procs import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = "## Deployment: gunicorn behind nginx"


def nginx_binary() -> str | None:
    """The nginx executable (PATH, then Debian's /usr/sbin/nginx), or None."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def readme_block(readme: Path = README) -> str:
    """The text of the first ```nginx fenced block after the README's deployment heading."""
    text = readme.read_text(encoding="utf-8")
    start = text.index(SECTION)
    m = re.compile(r"^```nginx\n(.*?)^```$", re.M | re.S).search(text, start)
    if m is None:
        raise ValueError(f"no ```nginx block after {SECTION!r} in {readme}")
    return m.group(1)


def _replace_once(text: str, pattern: str, new: str) -> str:
    """``text`` with the single line matching ``pattern`` (a regex) replaced by ``new``."""
    out, n = re.subn(pattern, lambda _m: new, text, flags=re.M)
    if n != 1:
        raise ValueError(f"the README's nginx block must have exactly one line matching {pattern!r}, found {n}")
    return out


def site_config(*, upstream_port: int, listen: list[str], max_body_mb: float | None = None,
                extra: str = "") -> str:
    """The README block with the upstream on 127.0.0.1:``upstream_port`` and ``listen`` lines.

    ``listen``: the arguments of each ``listen`` directive (e.g. ``"127.0.0.1:8080"``,
    ``"127.0.0.1:8443 ssl"``). ``max_body_mb`` sets ``client_max_body_size`` to that limit
    plus 1 MiB, as the README says. ``extra`` goes inside the server block (e.g. TLS files).
    """
    block = readme_block()
    block = _replace_once(block, r"^(\s*)server 127\.0\.0\.1:8000;.*$", f"    server 127.0.0.1:{upstream_port};")
    block = _replace_once(block, r"^\s*listen 80;.*$",
                          "".join(f"    listen {arg};\n" for arg in listen).rstrip("\n") + ("\n" + extra if extra else ""))
    if max_body_mb is not None:
        block = _replace_once(block, r"^\s*client_max_body_size \d+m;.*$",
                              f"    client_max_body_size {int(max_body_mb * 1024 + 1024)}k;")
    return block


def main_config(folder: Path, site: str, *, workers: int = 1) -> str:
    """A whole nginx.conf: process settings, private paths under ``folder``, and ``site`` inside ``http``."""
    user = ""
    if os.geteuid() == 0:  # the master drops workers to `user`; keep them able to use the private folders
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
    temp = "\n".join(f"    {kind}_temp_path {folder / 'temp' / kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}daemon off;\nworker_processes {workers};\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {folder / 'access.log'};\n"
            "    default_type application/octet-stream;\n"
            f"{temp}\n"
            f"{site}\n}}\n")


class Nginx:
    """One private nginx serving ``site`` (from :func:`site_config`) from ``folder``.

    ``port`` is the first listen port (give the same ports to :func:`site_config`).
    """

    def __init__(self, folder: str | os.PathLike[str], site: str, *, port: int, workers: int = 1) -> None:
        self.folder = Path(folder)
        self.site = site
        self.port = port
        self.workers = workers
        self.binary = nginx_binary()
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> "Nginx":
        """Write the config, start nginx and wait until the port accepts connections; returns self."""
        if self.binary is None:
            raise RuntimeError("nginx is not installed")
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / "temp" / kind).mkdir(parents=True, exist_ok=True)
        conf = self.folder / "nginx.conf"
        conf.write_text(main_config(self.folder, self.site, workers=self.workers))
        log = open(self.folder / "nginx.out", "ab")
        self.proc = subprocess.Popen([self.binary, "-p", str(self.folder), "-c", str(conf),
                                      "-e", str(self.folder / "error.log")],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > end:
                    self.stop()
                    raise RuntimeError(f"nginx did not listen within {timeout:g} s:\n{self.log_tail()}")
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGQUIT to the master), then SIGKILL to its process group after ``timeout`` s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def log_tail(self, n: int = 4000) -> str:
        """The end of nginx's error log and console output."""
        parts = []
        for name in ("nginx.out", "error.log"):
            try:
                parts.append((self.folder / name).read_bytes()[-n:].decode(errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)


def start_in_front(folder: Path, upstream_port: int, *, max_body_mb: float | None = None,
                   tls: tuple[Path, Path] | None = None, workers: int = 1) -> tuple[Nginx, int | None]:
    """nginx from the README block in front of 127.0.0.1:``upstream_port``; returns (nginx, TLS port or None).

    ``tls``: (certificate, key) files for a second, ``ssl`` listener.
    """
    port = free_port()
    listen, extra, tls_port = [f"127.0.0.1:{port}"], "", None
    if tls:
        tls_port = free_port()
        listen.append(f"127.0.0.1:{tls_port} ssl")
        extra = f"    ssl_certificate {tls[0]};\n    ssl_certificate_key {tls[1]};"
    site = site_config(upstream_port=upstream_port, listen=listen, max_body_mb=max_body_mb, extra=extra)
    return Nginx(folder, site, port=port, workers=workers).start(), tls_port
