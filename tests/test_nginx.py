"""The README's nginx block, run for real: Debian's nginx on loopback in front of gunicorn.

The site config is the fenced ``nginx`` block of README.md's deployment section with only
the upstream address, the listen addresses (plain and TLS) and the size limit changed
(``tests/nginx.py``), so the README cannot say one thing while another is tested. nginx
runs as a private, non-daemon child (its own prefix, config, pid, logs and temp folders in
the test's folder); gunicorn runs the production config with ``tests/slow_wsgi.py`` (the real
app, stage functions that finish at once and write a real output file) and
``CLIPZY_TRUST_PROXY=true``, ``CLIPZY_API_KEYS`` set and a small ``MAX_FILE_SIZE_MB`` so
uploads at the limit stay quick.

What is asserted: an upload exactly at the limit passes, streamed through (the app holds
most of it while the client is still sending, nginx buffers none of it on disk); every body
over the limit answers 413 ``FILE_TOO_LARGE`` in the app's error envelope — the app's exact
check, Werkzeug's ``Content-Length`` check and nginx's ``client_max_body_size`` refusal (the
app's bytes exactly, without reading the body); nginx answers 503 ``SERVICE_UNAVAILABLE``
when gunicorn is gone; absolute result URLs and signed download links carry the scheme, host
and port the client used (and not headers the client forged); Range downloads of a job's
output pass through; status polls stay under 250 ms while uploads stream at full speed; the
worker's request threads keep a higher CPU priority than its job pool (gunicorn.conf.py).
"""
from __future__ import annotations

import difflib
import http.client
import json
import socket
import ssl
import statistics
import struct
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import need
from nginx import nginx_binary, readme_block, site_config, start_in_front
from procs import Client, Server, upload_bytes, upload_file, wait_for

pytestmark = pytest.mark.slow

LIMIT_MB = 16
LIMIT = LIMIT_MB * 1024 * 1024  # bytes: MAX_FILE_SIZE_MB is in MiB (clipzy/jobs/intake.py)
KEY = "nginx-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
HOST = "media.example.test"  # the host name a client asks nginx for
RENDER_BYTES = 3 * 1024 * 1024 + 12345  # bytes of the test output file (slow_wsgi pads the footage to this)
POLL_LIMIT_S = 0.25  # a status poll while uploads stream must answer within this


# -- media ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A tiny valid MP4 (64x48, 10 frames)."""
    from synth.video import noise_clip

    return Path(noise_clip(tmp_path_factory.mktemp("nginxclip") / "clip.mp4", 11))


def padded_mp4(clip: Path, size: int, dest: Path) -> Path:
    """``clip`` followed by one ISO BMFF ``free`` box, ``size`` bytes in all: still a valid MP4 to a probe.

    The box's bytes are pseudo-random (not zeros), so a body that arrives altered is caught."""
    src = clip.read_bytes()
    pad = size - len(src)
    assert pad >= 8, "the clip is larger than the requested size"
    block = bytes(range(256)) * 4096 + b"\x00"  # 1 MiB + 1: runs never line up with the MiB offsets
    with open(dest, "wb") as fh:
        fh.write(src)
        fh.write(struct.pack(">I4s", pad, b"free"))
        left = pad - 8
        while left:
            n = min(left, len(block))
            fh.write(block[:n])
            left -= n
    return dest


# -- the stack ------------------------------------------------------------------------

def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate and key for nginx's TLS listener (openssl), or skip."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        f"/CN={HOST}", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        need(False, f"openssl could not make a test certificate: {exc}")
    return cert, key


class Stack:
    """gunicorn (slow_wsgi, production config) with the README's nginx in front of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server = Server(folder / "instance", env={
            "CLIPZY_TRUST_PROXY": "true", "CLIPZY_API_KEYS": KEY, "MAX_FILE_SIZE_MB": str(LIMIT_MB),
            "MAX_CONCURRENT_JOBS": "2", "CLIPZY_TEST_RENDER_BYTES": str(RENDER_BYTES)})
        self.nginx = None
        self.tls_port: int | None = None

    def start(self) -> "Stack":
        # slow_wsgi's stages use no model: no warm-up thread (librosa's numba compile) competing with the test
        self.server.instance.mkdir(parents=True, exist_ok=True)
        (self.server.instance / "config.py").write_text("CLIPZY_WARM_UP = False\n")
        self.server.start()
        self.nginx, self.tls_port = start_in_front(self.folder / "nginx", self.server.port, max_body_mb=LIMIT_MB,
                                                   tls=self_signed(self.folder))
        return self

    @property
    def port(self) -> int:
        return self.nginx.port

    def api(self) -> Client:
        """A client of nginx's plain listener, with the API key."""
        return Client(self.port, headers=AUTH)

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        self.server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    need(nginx_binary() is not None, "nginx is not installed (Debian: apt-get install nginx)")
    s = Stack(tmp_path_factory.mktemp("nginx")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def completed_job(stack, clip) -> dict:
    """A completed apply job (slow_wsgi: its output is the footage padded to RENDER_BYTES)."""
    api = stack.api()
    ids = []
    for name in ("template.mp4", "footage.mp4"):
        status, body = api.upload(clip, filename=name)
        assert status == 200, body
        ids.append(body["data"]["video_id"])
    status, body = api.post("/api/v1/jobs", {"video_id": ids[1], "template_video_id": ids[0]})
    assert status == 200, body
    job = api.wait_job(body["data"]["job_id"], lambda j: j["status"] in ("completed", "failed", "cancelled"),
                       timeout=60)
    assert job["status"] == "completed", job
    out = stack.server.instance / "jobs" / job["job_id"] / "output.mp4"
    assert out.stat().st_size == RENDER_BYTES
    return {**job, "output_bytes": out.read_bytes()}


def raw_request(port: int, head: bytes, *, timeout: float = 10.0) -> tuple[int, dict, bytes, float]:
    """Send ``head`` (request line and headers, no body) and read the response.

    Returns (status, lower-case headers, body, seconds until the whole response had arrived);
    the response must have a Content-Length (the server may keep the connection open after it)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
        top, _, body = data.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        while len(body) < int(headers["content-length"]) and (chunk := sock.recv(65536)):
            body += chunk
        took = time.monotonic() - start
    return int(lines[0].split()[1]), headers, body, took


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def get(port: int, path: str, headers: dict[str, str], *, tls: bool = False) -> tuple[int, dict, bytes]:
    """GET ``path`` on nginx (plain or TLS listener); (status, lower-case headers, body bytes)."""
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=_insecure())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# -- the config is the README's -------------------------------------------------------

def test_site_config_is_the_readme_block_with_only_addresses_and_limit_changed():
    block = readme_block()
    site = site_config(upstream_port=9999, listen=["127.0.0.1:7777"], max_body_mb=LIMIT_MB)
    changed = [line for line in difflib.unified_diff(block.splitlines(), site.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert sorted(changed) == sorted([
        "-    server 127.0.0.1:8000;              # CLIPZY_BIND",
        "+    server 127.0.0.1:9999;",
        "-    listen 80;                          # TLS: listen 443 ssl; ssl_certificate …; ssl_certificate_key …;",
        "+    listen 127.0.0.1:7777;",
        "-    client_max_body_size 1001m;         # MAX_FILE_SIZE_MB + 1: the app's exact check answers at the limit",
        f"+    client_max_body_size {(LIMIT_MB + 1) * 1024}k;",
    ]), changed
    for directive in ("proxy_request_buffering off;", "proxy_http_version 1.1;", "error_page 413 @too_large;",
                      "proxy_set_header X-Forwarded-Port $server_port;"):
        assert directive in site


# -- uploads --------------------------------------------------------------------------

def test_upload_at_the_limit_streams_through(stack, clip, tmp_path):
    """Exactly MAX_FILE_SIZE_MB: stored whole and byte for byte, and streamed: while the client still
    holds back the last quarter, the app's temp file has most of the rest and nginx buffered nothing to disk."""
    video = padded_mp4(clip, LIMIT, tmp_path / "atlimit.mp4")
    data = video.read_bytes()
    app_tmp = stack.server.instance / "tmp"
    nginx_tmp = stack.nginx.folder / "temp" / "client_body"
    held_back = LIMIT // 4
    seen: dict[str, int] = {}

    def chunks():
        for off in range(0, LIMIT - held_back, 256 * 1024):
            yield data[off:min(off + 256 * 1024, LIMIT - held_back)]

        def app_has_it():
            parts = list(app_tmp.glob("upload-*.part"))
            got = sum(p.stat().st_size for p in parts)
            # up to ~3 MiB may sit in socket buffers, nginx's 1 MiB body buffer and gunicorn's read-ahead
            return got if got >= LIMIT - held_back - 4 * 1024 * 1024 else None

        seen["app_tmp"] = wait_for(app_has_it, timeout=15, what="the app streaming the upload to its temp file")
        seen["nginx_tmp_files"] = sum(1 for p in nginx_tmp.rglob("*") if p.is_file())
        yield data[LIMIT - held_back:]

    status, body = upload_bytes(stack.port, chunks(), LIMIT, filename="atlimit.mp4", timeout=60,
                                headers=AUTH)
    assert status == 200, body
    assert body["data"]["file_size_bytes"] == LIMIT
    assert seen["nginx_tmp_files"] == 0, "nginx buffered the request body to disk (proxy_request_buffering?)"
    stored = list((stack.server.instance / "uploads").glob(f"{body['data']['video_id']}*"))
    assert len(stored) == 1 and stored[0].read_bytes() == data


def test_chunked_upload_streams_through(stack, clip, tmp_path):
    """A body without Content-Length (Transfer-Encoding: chunked) reaches the app whole (proxy_http_version 1.1)."""
    video = padded_mp4(clip, 3 * 1024 * 1024, tmp_path / "chunked.mp4")
    data = video.read_bytes()
    status, body = upload_bytes(stack.port, (data[i:i + 100_000] for i in range(0, len(data), 100_000)), len(data),
                                filename="chunked.mp4", chunked=True, headers=AUTH)
    assert status == 200, body
    assert body["data"]["file_size_bytes"] == len(data)


def _is_too_large(status: int, headers: dict, body: bytes) -> dict:
    assert status == 413, (status, body[:300])
    assert headers["content-type"].startswith("application/json")
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
    assert headers.get("x-request-id")
    doc = json.loads(body)
    assert doc["success"] is False and doc["error"]["code"] == "FILE_TOO_LARGE" and doc["message"]
    return doc


@pytest.mark.parametrize("over, who", [
    (1, "the app's exact check after the whole body"),
    (64 * 1024 + 1, "Werkzeug's Content-Length check (MAX_CONTENT_LENGTH = limit + 64 KiB)"),
    (1024 * 1024 + 1, "nginx's client_max_body_size (limit + 1 MiB)"),
    (8 * 1024 * 1024, "nginx's client_max_body_size"),
])
def test_upload_over_the_limit_413_envelope(stack, clip, tmp_path, over, who):
    """Every body over the limit answers 413 FILE_TOO_LARGE as a JSON envelope, whoever refuses it; nothing is kept."""
    before = {p.name for p in (stack.server.instance / "uploads").iterdir()}
    video = padded_mp4(clip, LIMIT + over, tmp_path / "over.mp4")
    status, resp = upload_file(stack.port, video, timeout=30, headers=AUTH)
    assert status == 413 and resp["success"] is False and resp["error"]["code"] == "FILE_TOO_LARGE", (who, resp)
    assert {p.name for p in (stack.server.instance / "uploads").iterdir()} == before
    assert not list((stack.server.instance / "tmp").glob("upload-*"))


def test_nginx_413_is_the_apps_envelope_and_needs_no_body(stack):
    """Over client_max_body_size nginx answers from the headers alone, with the same JSON the app sends for an
    oversized Content-Length (Werkzeug's 413 through the app's error handler)."""
    def head(length: int) -> bytes:
        return (f"POST /api/v1/videos/upload HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {KEY}\r\n"
                f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n"
                "Connection: close\r\n\r\n").encode()

    status, headers, nginx_body, took = raw_request(stack.port, head(LIMIT + 2 * 1024 * 1024))
    nginx_doc = _is_too_large(status, headers, nginx_body)
    assert took < 2, f"nginx answered after {took:.1f} s: it waited for a body it was never sent"
    assert "gunicorn" not in headers.get("server", "") and "nginx" in headers.get("server", "")
    # the app itself, asked directly with a Content-Length between its limit and nginx's
    status, headers, app_body, _ = raw_request(stack.server.port, head(LIMIT + 512 * 1024))
    app_doc = _is_too_large(status, headers, app_body)
    assert nginx_doc == app_doc
    assert nginx_body == app_body  # byte for byte: Flask's compact, sorted JSON and its final newline


# -- forwarded headers, signed links, ranges -----------------------------------------

@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_result_urls_and_signed_links_use_the_clients_scheme_host_and_port(stack, completed_job, tls):
    """Absolute URLs say what the client asked nginx for (X-Forwarded-Proto/Host/Port), not what the client
    forged in its own X-Forwarded-* headers nor gunicorn's address; the signed links work without the key."""
    port = stack.tls_port if tls else stack.port
    forged = {"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "evil.example", "X-Forwarded-Port": "1"}
    status, _, body = get(port, f"/api/v1/jobs/{completed_job['job_id']}/result",
                          {"Host": f"{HOST}:{port}", **AUTH, **forged}, tls=tls)
    assert status == 200, body
    data = json.loads(body)["data"]
    urls = [data["output_video_url"], *data["artifacts"].values()]
    assert set(data["artifacts"]) >= {"output", "style_dna", "edit_plan"}
    for url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname, parts.port) == ("https" if tls else "http", HOST, port), url
        assert parts.path.startswith(f"/api/v1/jobs/{completed_job['job_id']}/")
        assert "token=" in parts.query, url
    # a signed link, as a browser would follow it: no Authorization header
    out = urlsplit(data["output_video_url"])
    status, headers, body = get(port, f"{out.path}?{out.query}", {"Host": f"{HOST}:{port}"}, tls=tls)
    assert status == 200 and headers["content-type"] == "video/mp4"
    assert body == completed_job["output_bytes"]
    status, _, body = get(port, out.path, {"Host": f"{HOST}:{port}"}, tls=tls)
    assert status == 401 and json.loads(body)["error"]["code"] == "UNAUTHORIZED"
    tampered = out.query.replace("token=", "token=x")
    status, _, body = get(port, f"{out.path}?{tampered}", {"Host": f"{HOST}:{port}"}, tls=tls)
    assert status == 401


def test_range_downloads_of_the_output_through_nginx(stack, completed_job):
    """Single ranges (bounded, open-ended, suffix) come back 206 with the right bytes; past the end is 416."""
    api = stack.api()
    status, body = api.get(f"/api/v1/jobs/{completed_job['job_id']}/result")
    assert status == 200, body
    out = urlsplit(body["data"]["output_video_url"])
    link = f"{out.path}?{out.query}"
    whole = completed_job["output_bytes"]
    n = len(whole)
    status, headers, _ = get(stack.port, link, {})
    assert status == 200 and headers["accept-ranges"] == "bytes" and int(headers["content-length"]) == n
    for rng, (a, b) in {"bytes=0-0": (0, 0), "bytes=1000-1999999": (1000, 1999999),
                        f"bytes={n - 5000}-": (n - 5000, n - 1), "bytes=-777": (n - 777, n - 1),
                        f"bytes={n - 10}-{n + 10**6}": (n - 10, n - 1)}.items():
        status, headers, body = get(stack.port, link, {"Range": rng})
        assert status == 206, (rng, status)
        assert headers["content-range"] == f"bytes {a}-{b}/{n}", rng
        assert body == whole[a:b + 1], rng
    # the same with the bearer key instead of the token
    status, _, body = get(stack.port, out.path, {"Range": "bytes=10-19", **AUTH})
    assert status == 206 and body == whole[10:20]
    status, headers, body = get(stack.port, link, {"Range": f"bytes={n}-"})
    assert status == 416, status
    assert headers.get("content-range") == f"bytes */{n}"


# -- load and failure -----------------------------------------------------------------

def test_polls_stay_fast_while_uploads_stream(stack, clip, completed_job, tmp_path):
    """4 clients upload limit-sized files back to back at full speed; status polls through nginx each answer
    within POLL_LIMIT_S."""
    video = padded_mp4(clip, LIMIT, tmp_path / "load.mp4")
    stop = threading.Event()
    done: list[int] = []
    errors: list[str] = []

    def uploader() -> None:
        while not stop.is_set():
            try:
                status, body = upload_file(stack.port, video, timeout=60, headers=AUTH)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                return
            if status != 200:
                errors.append(f"{status} {body}")
                return
            done.append(body["data"]["file_size_bytes"])
            for f in (stack.server.instance / "uploads").glob(f"{body['data']['video_id']}.*"):
                f.unlink()  # no DELETE /videos: keep the disk use of this test to the uploads in flight

    threads = [threading.Thread(target=uploader, daemon=True) for _ in range(4)]
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    path = f"/api/v1/jobs/{completed_job['job_id']}"
    latencies: list[float] = []
    for t in threads:
        t.start()
    try:
        wait_for(lambda: list((stack.server.instance / "tmp").glob("upload-*.part")), timeout=10,
                 what="an upload in flight")
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            start = time.monotonic()
            conn.request("GET", path, headers=AUTH)
            resp = conn.getresponse()
            body = resp.read()
            latencies.append(time.monotonic() - start)
            assert resp.status == 200, body
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        conn.close()
    assert not errors, errors
    assert len(done) >= 4 and set(done) == {LIMIT}, done  # the uploads really ran beside the polls
    worst = max(latencies)
    assert worst < POLL_LIMIT_S, (f"slowest poll {worst * 1000:.0f} ms, median "
                                  f"{statistics.median(latencies) * 1000:.0f} ms over {len(latencies)} polls")


def test_request_threads_outrank_the_job_pool(stack, completed_job):
    """gunicorn.conf.py's post_worker_init: the job pool's threads (and the native threads they start) run at
    JOB_THREADS_NICE, the threads that answer requests at 0."""
    import runpy

    nice = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))["JOB_THREADS_NICE"]
    assert nice > 0
    for _ in range(5):  # the request threads exist once requests came
        assert stack.api().get(f"/api/v1/jobs/{completed_job['job_id']}")[0] == 200
    worker = stack.server.pids()[1]
    values: dict[int, int] = {}
    for task in Path(f"/proc/{worker}/task").iterdir():
        try:
            values[int(task.name)] = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
        except (OSError, IndexError):
            pass
    assert values[worker] == 0, "the main thread (gunicorn's event loop) must keep nice 0"
    assert list(values.values()).count(nice) >= 3, values  # dispatcher, job thread, webhook sender, ...
    assert list(values.values()).count(0) >= 2, values  # the main thread and the request threads


def test_nginx_answers_503_envelope_when_gunicorn_is_gone(stack, tmp_path):
    """Last (it stops gunicorn): nginx's 502/504 become 503 SERVICE_UNAVAILABLE with Retry-After, as JSON."""
    stack.server.kill9()
    for _ in range(2):  # once on a pooled keep-alive connection, once on a fresh one
        status, headers, body = get(stack.port, "/api/v1/jobs", AUTH)
        assert status == 503, (status, body)
        assert headers["content-type"].startswith("application/json") and headers["retry-after"] == "5"
        doc = json.loads(body)
        assert doc["success"] is False and doc["error"]["code"] == "SERVICE_UNAVAILABLE"
