"""Real gunicorn servers on loopback for crash, disk and load tests, and small HTTP clients for them.

``Server`` starts ``gunicorn -c gunicorn.conf.py <module>:app`` (the production config;
the bind address comes from ``CLIPZY_BIND``) in its own process group, waits for
``/api/v1/health``, and stops it gracefully (SIGTERM) or kills the master and its worker
at once (SIGKILL to the group, like a power cut for the service). Clients use
``http.client`` only, with a fresh connection per request unless told otherwise.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout: float = 10.0, step: float = 0.05, what: str = "condition"):
    """Poll ``pred()`` until it returns something truthy (returned) or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"{what} not met within {timeout:g} s")
        time.sleep(step)


class Client:
    """JSON requests to one HTTP port on 127.0.0.1 (gunicorn itself, or nginx in front of it).

    ``headers`` go with every request (e.g. ``Authorization``); a request's own override them.
    """

    def __init__(self, port: int, *, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = dict(headers or {})

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                timeout: float = 10.0) -> tuple[int, Any]:
        """One request on a fresh connection; returns (status, parsed JSON or raw bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = {**self.headers, **(headers or {})}
            if body is not None and not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, _json_or_raw(raw, resp.getheader("Content-Type"))
        finally:
            conn.close()

    def get(self, path: str, **kw) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> tuple[int, Any]:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def upload(self, path: str | os.PathLike[str], *, filename: str | None = None, fields: dict[str, str] | None = None,
               timeout: float = 60.0) -> tuple[int, Any]:
        """POST a file to /videos/upload as multipart with a Content-Length, streamed from disk."""
        return upload_file(self.port, path, filename=filename, fields=fields, timeout=timeout, headers=self.headers)

    def job(self, job_id: str) -> dict:
        status, body = self.get(f"/api/v1/jobs/{job_id}")
        assert status == 200, (status, body)
        return body["data"]

    def wait_job(self, job_id: str, pred, timeout: float = 30.0, what: str = "job state") -> dict:
        return wait_for(lambda: j if pred(j := self.job(job_id)) else None, timeout=timeout, step=0.1,
                        what=f"{what} of {job_id}")


class Server(Client):
    """One gunicorn master + worker on 127.0.0.1:<free port>, serving ``module`` (e.g. ``slow_wsgi:app``).

    ``env`` adds to (and overrides) the inherited environment; ``CLIPZY_INSTANCE_PATH``
    and ``CLIPZY_BIND`` are always set here. The server's stdout/stderr go to ``log_path``.
    """

    def __init__(self, instance: str | os.PathLike[str], *, module: str = "slow_wsgi:app",
                 env: dict[str, str] | None = None, log_path: str | os.PathLike[str] | None = None,
                 port: int | None = None) -> None:
        self.instance = Path(instance)
        self.module = module
        self.env = dict(env or {})
        super().__init__(port or free_port())
        self.log_path = Path(log_path) if log_path else self.instance.parent / f"gunicorn-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    # -- lifecycle --------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "Server":
        """Start gunicorn and wait until /health answers (200 or 503); returns self."""
        env = {**os.environ, "CLIPZY_INSTANCE_PATH": str(self.instance), "CLIPZY_BIND": f"127.0.0.1:{self.port}",
               "PYTHONUNBUFFERED": "1", **self.env}
        env.setdefault("CLIPZY_MODELS_PATH", str(self.instance.parent / "models"))
        cmd = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(ROOT),
               "--pythonpath", f"{ROOT},{TESTS}", self.module]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                status, _ = self.request("GET", "/api/v1/health", timeout=2)
                if status in (200, 503):
                    return self
            except OSError:
                pass
            if time.monotonic() > end:
                self.kill9()
                raise RuntimeError(f"gunicorn did not answer within {timeout:g} s; log:\n{self.log_tail()}")
            time.sleep(0.1)

    def pids(self) -> list[int]:
        """The master's pid followed by its children's (the worker)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        out = [self.proc.pid]
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            out += [int(k) for k in kids]
        except OSError:
            pass
        return out

    def kill9(self) -> None:
        """SIGKILL the whole process group (master and worker at once) and reap the master."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        # the worker is re-parented when the master dies; wait until it is really gone
        wait_for(lambda: not _group_alive(self.proc.pid), timeout=10, what="process group gone")
        self.log.close()

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful stop (SIGTERM to the master), SIGKILL to the group after ``timeout`` s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        if _group_alive(self.proc.pid):
            self.kill9()
        else:
            self.log.close()

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # zombies count as gone
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _json_or_raw(raw: bytes, content_type: str | None) -> Any:
    if content_type and "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw


# -- multipart ------------------------------------------------------------------------

def multipart_parts(filename: str, fields: dict[str, str] | None = None, *,
                    content_type: str = "application/octet-stream") -> tuple[str, bytes, bytes]:
    """(boundary, bytes before the file content, bytes after it) of a one-file multipart body."""
    boundary = "clipzy" + uuid.uuid4().hex
    head = b""
    for k, v in (fields or {}).items():
        head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").encode()
    head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
             f"Content-Type: {content_type}\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return boundary, head, tail


def upload_file(port: int, path: str | os.PathLike[str], *, filename: str | None = None,
                fields: dict[str, str] | None = None, timeout: float = 60.0,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Stream ``path`` as the ``file`` part of a multipart upload with a Content-Length.

    The file goes out with ``socket.sendfile`` (no copy through Python), so a load client
    costs the machine little beside the server it measures.
    """
    path = Path(path)
    boundary, head, tail = multipart_parts(filename or path.name, fields)
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest("POST", "/api/v1/videos/upload")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(head)
        with open(path, "rb") as fh:
            conn.sock.sendfile(fh)
        conn.send(tail)
        resp = conn.getresponse()
        return resp.status, _json_or_raw(resp.read(), resp.getheader("Content-Type"))
    finally:
        conn.close()


def upload_bytes(port: int, chunks: Iterable[bytes], total: int, *, filename: str,
                 fields: dict[str, str] | None = None, timeout: float = 60.0, chunked: bool = False,
                 headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Upload ``total`` bytes given as ``chunks`` (a generator may pace them).

    With a Content-Length, or with ``chunked`` as ``Transfer-Encoding: chunked`` (no length);
    ``headers`` are added to the request (e.g. ``Authorization``).
    """
    boundary, head, tail = multipart_parts(filename, fields)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def send(data: bytes) -> None:
        if not data:
            return  # an empty chunk would end a chunked body
        if chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        conn.send(data)

    try:
        conn.putrequest("POST", "/api/v1/videos/upload")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", str(len(head) + total + len(tail)))
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        send(head)
        for data in chunks:
            send(data)
        send(tail)
        if chunked:
            conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        return resp.status, _json_or_raw(resp.read(), resp.getheader("Content-Type"))
    finally:
        conn.close()


class SlowUpload(threading.Thread):
    """Streams ``total`` bytes of random data slowly (``chunk`` bytes every ``pause`` s) until done or cut off.

    ``chunked`` sends it with ``Transfer-Encoding: chunked`` instead of a Content-Length.

    ``outcome`` ends as ("response", status, body) or ("error", exception).
    """

    def __init__(self, port: int, *, total: int, filename: str = "dropped.mp4", chunk: int = 64 * 1024,
                 pause: float = 0.02, chunked: bool = False) -> None:
        super().__init__(daemon=True)
        self.port, self.total, self.filename, self.chunk, self.pause = port, total, filename, chunk, pause
        self.chunked = chunked
        self.sent = 0
        self.outcome: tuple | None = None

    def _chunks(self):
        block = os.urandom(self.chunk)
        while self.sent < self.total:
            n = min(self.chunk, self.total - self.sent)
            yield block[:n]
            self.sent += n
            time.sleep(self.pause)

    def run(self) -> None:
        try:
            status, body = upload_bytes(self.port, self._chunks(), self.total, filename=self.filename, timeout=30,
                                        chunked=self.chunked)
            self.outcome = ("response", status, body)
        except Exception as exc:  # noqa: BLE001 - a cut-off connection is the expected outcome
            self.outcome = ("error", exc)


# -- inspection -----------------------------------------------------------------------

def integrity_check(db_path: str | os.PathLike[str]) -> str:
    """``PRAGMA integrity_check`` of the database file (opened read-write, so the WAL is replayed)."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def query(db_path: str | os.PathLike[str], sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in KiB, from /proc; (0, 0) if it is gone."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def files_under(root: str | os.PathLike[str]) -> list[str]:
    """Every file below ``root``, as paths relative to it, sorted."""
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- webhook receivers ----------------------------------------------------------------

class Receiver:
    """A loopback webhook receiver whose behaviour ``mode`` can change at any time.

    Modes: an integer HTTP status to answer with (200, 500, ...); ``"hang"`` (read the
    request, then never answer until ``release()`` or 60 s); ``"close"`` (read the
    request, then close the connection without a response). Every request is recorded
    in ``requests`` as a dict: ``delivery``, ``event``, ``body`` (parsed JSON), ``at``
    (monotonic seconds) and ``answer`` (the status sent, or the mode name).
    """

    def __init__(self, mode: int | str = 200) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.mode: int | str = mode
        self.requests: list[dict] = []
        self._release = threading.Event()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = rec.mode
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                rec.requests.append({"delivery": self.headers.get("X-Clipzy-Delivery"),
                                     "event": self.headers.get("X-Clipzy-Event"), "body": body,
                                     "at": time.monotonic(), "answer": mode})
                if mode == "hang":
                    rec._release.wait(60)
                    self.close_connection = True
                    return
                if mode == "close":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.send_response(int(mode))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_delivery(self, delivery_id: str) -> list[dict]:
        return [r for r in list(self.requests) if r["delivery"] == delivery_id]

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
