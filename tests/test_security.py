"""Security: file names and path parameters, oversized and malformed bodies, content types,
API keys (constant-time, never logged), webhook SSRF literals, CORS, security headers, and
error bodies without stack traces or file system paths.
"""
from __future__ import annotations

import inspect
import io
import json
import logging
import os
from pathlib import Path

import pytest

from conftest import make_app

KEY = "k3y-Secret-0123456789abcdef"
OTHER_KEY = "second-key-fedcba9876543210"


def _env(resp) -> dict:
    body = resp.get_json()
    assert body is not None, f"not JSON: {resp.status_code} {resp.get_data(as_text=True)[:200]}"
    return body


def assert_error(resp, status: int, code: str | tuple[str, ...]) -> dict:
    codes = (code,) if isinstance(code, str) else code
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    body = _env(resp)
    assert body["success"] is False and body["error"]["code"] in codes, body
    assert body["message"] and isinstance(body["error"]["detail"], str)
    return body


def assert_no_leak(app, resp) -> None:
    """No stack trace, no instance or package path in an error body."""
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    assert app.instance_path not in text
    assert os.path.dirname(os.path.dirname(os.path.abspath(__file__))) not in text  # the checkout
    assert "site-packages" not in text


@pytest.fixture
def video_file(small_clips):
    return small_clips["mp4"]


def upload(client, path, name, headers=None, **form):
    with open(path, "rb") as fh:
        data = {"file": (io.BytesIO(fh.read()), name), **form}
    return client.post("/api/v1/videos/upload", data=data, content_type="multipart/form-data", headers=headers or {})


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# -- file names ---------------------------------------------------------------------------

HOSTILE_NAMES = [
    ("../../../../etc/passwd.mp4", "passwd.mp4"),
    ("..\\..\\windows\\system32\\evil.mp4", None),  # Werkzeug drops the backslashes as quoting
    ("/abs/path/clip.mp4", "clip.mp4"),
    ("....//....//clip.mp4", "clip.mp4"),
    (".hidden.mp4", "hidden.mp4"),
    ("clip\u202egnp.mp4", "clipgnp.mp4"),  # RIGHT-TO-LEFT OVERRIDE (format char) is removed
    ("a\x00b\x1f\x7fc.mp4", "abc.mp4"),  # NUL and other control characters
    ("cafe\u0301 \t\n clip.mp4", "café clip.mp4"),  # NFC, whitespace runs collapsed
    ("ｆｕｌｌｗｉｄｔｈ.mp4", "ｆｕｌｌｗｉｄｔｈ.mp4"),
    ("😀🎬.mp4", "😀🎬.mp4"),
    ("x" * 5000 + ".mp4", None),
]


@pytest.mark.parametrize("raw,expected", HOSTILE_NAMES)
def test_upload_filename_is_sanitised_and_storage_path_is_ours(tmp_path, video_file, raw, expected):
    app = make_app(tmp_path / "instance")
    client = app.test_client()
    before = _files_under(tmp_path)
    data = upload(client, video_file, raw).get_json()["data"]
    name = data["filename"]
    if expected is not None:
        assert name == expected
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert all(ord(ch) >= 0x20 and ch not in "\u202e\u200b\x7f" for ch in name)
    assert 1 <= len(name) <= 200 and name.endswith(".mp4")
    # the stored file is named by its id, inside uploads/, and nothing else appeared anywhere
    new = _files_under(tmp_path) - before
    stored = {p for p in new if p.startswith("instance/uploads/")}
    assert stored == {f"instance/uploads/{data['video_id']}.mp4"}
    assert all(p.startswith("instance/") for p in new), new
    assert data["storage_url"] == (Path(app.instance_path) / "uploads" / f"{data['video_id']}.mp4").as_uri()


def test_filename_extension_after_sanitising_decides(tmp_path, video_file):
    client = make_app(tmp_path / "i").test_client()
    for raw in ("clip.mp4/../x.exe", "clip.mp4\x00.php", "clip.php", "clip", "clip.mp4 .sh"):
        body = assert_error(upload(client, video_file, raw), 422, "UNSUPPORTED_FORMAT")
        assert "extension" in body["error"]["detail"]
    assert os.listdir(Path(client.application.instance_path) / "uploads") == []
    assert os.listdir(Path(client.application.instance_path) / "tmp") == []


# -- path parameters ---------------------------------------------------------------------

TRAVERSALS = [
    "..", "%2e%2e", "..%2f..%2fclipzy.sqlite3", "%2e%2e%2f%2e%2e%2fclipzy.sqlite3", "..%5c..%5cclipzy.sqlite3",
    "%00", "vid_0000000000000000%00.mp4", "%ff%fe", "%c0%ae%c0%ae", "vid_%E2%80%AE", "a" * 3000,
]


@pytest.fixture
def completed_job(tmp_path, video_file):
    """An app with one completed job whose output and style_dna artifacts exist on disk."""
    from clipzy.store import JobStatus

    app = make_app(tmp_path / "instance", TESTING=False, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    vid = upload(client, video_file, "a.mp4").get_json()["data"]["video_id"]
    job = client.post("/api/v1/jobs", json={"video_id": vid}).get_json()["data"]
    svc = app.extensions["clipzy"]
    assert svc.store.claim_next_job("test:1:x")["id"] == job["job_id"]
    d = svc.storage.job_dir(job["job_id"], create=True)
    (d / "output.mp4").write_bytes(Path(video_file).read_bytes())
    (d / "style_dna.json").write_text("{}")
    assert svc.store.finish_job(job["job_id"], status=JobStatus.COMPLETED, result={"processing_time_seconds": 1.0})
    return app, client, job["job_id"], vid


@pytest.mark.parametrize("param", TRAVERSALS)
def test_path_parameters_cannot_escape(completed_job, param):
    app, client, job_id, vid = completed_job
    db = (Path(app.instance_path) / "clipzy.sqlite3").read_bytes()[:16]  # "SQLite format 3\0"
    for url in (f"/api/v1/videos/{param}", f"/api/v1/jobs/{param}", f"/api/v1/jobs/{param}/result",
                f"/api/v1/jobs/{param}/output", f"/api/v1/jobs/{job_id}/artifacts/{param}",
                f"/api/v1/jobs/{param}/artifacts/style_dna"):
        resp = client.get(url)
        assert resp.status_code in (404, 405), (url, resp.status_code)
        body = assert_error(resp, resp.status_code, ("NOT_FOUND", "VIDEO_NOT_FOUND", "JOB_NOT_FOUND",
                                                     "OUTPUT_NOT_AVAILABLE", "METHOD_NOT_ALLOWED"))
        assert db not in resp.data
        assert_no_leak(app, resp)
        assert len(json.dumps(body)) < 8000
        resp.close()
    # the legitimate downloads still work
    ok = client.get(f"/api/v1/jobs/{job_id}/artifacts/style_dna")
    assert ok.status_code == 200 and ok.data == b"{}"
    ok.close()


def test_artifact_names_are_a_closed_set(completed_job):
    app, client, job_id, _ = completed_job
    for name in ("clipzy.sqlite3", "output.mp4", "style_dna.json", "OUTPUT", "lut/../style_dna", "__init__"):
        resp = client.get(f"/api/v1/jobs/{job_id}/artifacts/{name}")
        assert resp.status_code == 404, name
        assert_no_leak(app, resp)


# -- bodies and content types ----------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_oversize_json_body_is_refused_before_parsing(tmp_path):
    import tracemalloc

    app = make_app(tmp_path / "i")
    client = app.test_client()
    big = json.dumps({"video_id": "vid_0000000000000000", "config": {"quality": "high"}, "pad": "x" * (10 * 1024 * 1024)})
    tracemalloc.start()
    try:
        resp = client.post("/api/v1/jobs", data=big, content_type="application/json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert "bytes" in body["error"]["detail"] and "body" in body["error"]["fields"]
    # the body (10 MB) is in the test client's request; the service must not build a second
    # and third copy (decoded text + parsed dict): stay well under 3 copies.
    assert peak < 25 * 1024 * 1024, peak


def test_chunked_oversize_json_is_cut_off(tmp_path):
    app = make_app(tmp_path / "i")
    from werkzeug.test import EnvironBuilder

    chunks = (b'{"video_id": "' + b"x" * 65536 + b'"' if i == 0 else b" " * 65536 for i in range(40))
    environ = EnvironBuilder(path="/api/v1/jobs", method="POST", headers={"Transfer-Encoding": "chunked"},
                             content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BufferedReader(_Gen(chunks))
    environ["wsgi.input_terminated"] = True  # what gunicorn sets for a chunked body
    from werkzeug.test import run_wsgi_app

    app_iter, status, headers = run_wsgi_app(app, environ, buffered=True)
    body = json.loads(b"".join(app_iter))
    assert status.startswith("422") and body["error"]["code"] == "VALIDATION_ERROR", (status, body)
    assert headers["X-Content-Type-Options"] == "nosniff"


class _Gen(io.RawIOBase):
    """A file-like object over a generator of byte chunks (a body without Content-Length)."""

    def __init__(self, chunks) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


@pytest.mark.parametrize("body", [
    "[" * 100000 + "]" * 100000,  # deep nesting: RecursionError in the JSON parser
    '{"a":' * 50000 + "1" + "}" * 50000,
    '{"video_id": 1' + "0" * 5000 + "}",  # an int longer than Python's str→int limit
    "\ufeff{}",
    '{"video_id": "x", "video_id": "y", ',
    "null", "[]", '"x"', "1e999",
])
def test_malformed_json_is_a_clean_4xx(tmp_path, body):
    app = make_app(tmp_path / "i", TESTING=False, PROPAGATE_EXCEPTIONS=False)
    resp = app.test_client().post("/api/v1/jobs", data=body, content_type="application/json")
    assert resp.status_code in (400, 404, 422), resp.get_data(as_text=True)[:300]
    assert_error(resp, resp.status_code, ("INVALID_JSON", "VALIDATION_ERROR", "VIDEO_NOT_FOUND"))
    assert_no_leak(app, resp)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                   "application/xml", "", "application/jsonp", "text/json"])
def test_jobs_need_a_json_content_type(tmp_path, ctype):
    app = make_app(tmp_path / "i")
    headers = {"Content-Type": ctype} if ctype else {}
    resp = app.test_client().post("/api/v1/jobs", data='{"video_id": "vid_0000000000000000"}', headers=headers)
    assert_error(resp, 400, "INVALID_JSON")


def test_upload_with_wrong_content_type(tmp_path):
    client = make_app(tmp_path / "i").test_client()
    for ctype, data in (("application/json", "{}"), ("text/plain", "hello"), ("application/octet-stream", b"\0" * 1000)):
        resp = client.post("/api/v1/videos/upload", data=data, content_type=ctype)
        assert_error(resp, 422, ("MISSING_FIELD", "VALIDATION_ERROR"))
    assert os.listdir(Path(client.application.instance_path) / "tmp") == []


def test_huge_page_number_is_validated_not_a_crash(tmp_path):
    app = make_app(tmp_path / "i", TESTING=False, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    for q in ("page=99999999999999999999999", "page_size=99999999999999999999", "page=-1", "page=1e3", "page=%00"):
        resp = client.get(f"/api/v1/jobs?{q}")
        assert_error(resp, 422, "VALIDATION_ERROR")
    assert client.get("/api/v1/jobs?page=100000").status_code == 200


# -- API keys -------------------------------------------------------------------------


def test_api_keys_are_compared_in_constant_time(tmp_path, monkeypatch):
    import hmac as hmac_mod

    from clipzy.api import security

    calls: list[tuple[bytes, bytes]] = []
    real = hmac_mod.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    app = make_app(tmp_path / "i", CLIPZY_API_KEYS=f"{KEY},{OTHER_KEY}")
    client = app.test_client()
    assert client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    # every configured key is compared, even after the first one matched (no early exit)
    assert sorted(b for _a, b in calls) == sorted([KEY.encode(), OTHER_KEY.encode()])
    assert all(a == KEY.encode() for a, _b in calls)
    calls.clear()
    for wrong in (KEY[:-1], KEY + "x", KEY.upper(), "", " " + KEY + "\x00"):
        assert_error(client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {wrong}"}), 401, "UNAUTHORIZED")
    assert len(calls) >= 2 * 4
    # and no plain comparison of secrets anywhere on the path
    for fn in (security.key_valid, security.before_request):
        src = inspect.getsource(fn)
        assert "presented ==" not in src and "== presented" not in src and "presented in" not in src
        assert "auth[7:].strip() in" not in src and "== auth" not in src
    assert "compare_digest" in inspect.getsource(security.key_valid)
    from clipzy import tokens

    assert "compare_digest" in inspect.getsource(tokens.token_valid)
    assert "==" not in inspect.getsource(tokens.token_valid).split("compare_digest")[0].split("want =")[-1]


def test_keys_and_tokens_never_logged(tmp_path, video_file, caplog, capfd):
    app = make_app(tmp_path / "i", CLIPZY_API_KEYS=KEY, LOG_LEVEL="DEBUG", TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("boom")

    client = app.test_client()
    auth = {"Authorization": f"Bearer {KEY}"}
    caplog.set_level(logging.DEBUG)
    vid = upload(client, video_file, "a.mp4", headers=auth).get_json()["data"]["video_id"]
    job_id = client.post("/api/v1/jobs", json={"video_id": vid}, headers=auth).get_json()["data"]["job_id"]
    from clipzy import tokens

    path = f"/api/v1/jobs/{job_id}/output"
    token = tokens.sign_path(path, keys=[KEY], ttl_s=60)
    client.get(f"{path}?token={token}")  # 404 OUTPUT_NOT_AVAILABLE, but authorised by the token
    client.get(f"/api/v1/jobs/{job_id}/artifacts/lut?token={token}")  # token of another path: 401
    client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {KEY}-wrong"})
    client.get("/api/v1/nope", headers=auth)
    client.post("/api/v1/jobs", data="{bad", content_type="application/json", headers=auth)
    assert client.get("/api/v1/boom", headers=auth).status_code == 500
    out, err = capfd.readouterr()
    logged = caplog.text + out + err + "".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "request" in logged  # the request log really was captured
    sig = token.split(".", 1)[1]
    for secret in (KEY, sig, token):
        assert secret not in logged


# -- webhook SSRF -----------------------------------------------------------------------

SSRF_URLS = [
    "http://127.0.0.1/hook", "http://127.1/", "http://0/", "http://0.0.0.0:8080/", "http://localhost/",
    "http://LOCALHOST./", "http://foo.localhost/", "http://10.0.0.5/", "http://172.16.3.4/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/", "http://[::1]/", "http://[::]/",
    "http://[fe80::1]/", "http://[fe80::1%25eth0]/", "http://[fc00::1]/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:a9fe:a9fe]/", "http://2130706433/", "http://0177.0.0.1/",
    "http://0x7f.0.0.1/", "http://0x7f000001/", "http://017700000001/", "http://127.000.000.001/",
    "http://example.com@127.0.0.1/", "http://user:pass@10.1.2.3:80/", "http://127.0.0.1#@example.com/",
    "http://224.0.0.1/", "http://255.255.255.255/", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "http://127。0。0。1/", "http://１２７.0.0.1/",
    "http://" + "a" * 64 + ".example.com/",
    "file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://example.com/", "javascript:alert(1)", "http:///nohost",
    "//example.com/", "example.com/hook",
]


@pytest.fixture(scope="module")
def ssrf_app(tmp_path_factory, small_clips):
    app = make_app(tmp_path_factory.mktemp("ssrf"))
    vid = upload(app.test_client(), small_clips["mp4"], "a.mp4").get_json()["data"]["video_id"]
    return app, vid


@pytest.mark.parametrize("url", SSRF_URLS)
def test_webhook_ssrf_literals_refused_at_job_creation(ssrf_app, url):
    app, vid = ssrf_app
    client = app.test_client()
    body = assert_error(client.post("/api/v1/jobs", json={"video_id": vid, "webhook_url": url}), 422, "VALIDATION_ERROR")
    assert "webhook_url" in body["error"]["fields"]
    with open(app.extensions["clipzy"].storage.video_path(f"{vid}.mp4"), "rb") as fh:
        data = {"file": (io.BytesIO(fh.read()), "b.mp4"), "webhook_url": url}
    resp = client.post("/api/v1/videos/upload", data=data, content_type="multipart/form-data")
    assert_error(resp, 422, "VALIDATION_ERROR")


PUBLIC_WEBHOOK_URLS = ["https://hooks.example.com/clipzy", "http://8.8.8.8:8080/x", "http://[2001:4860::8888]/",
                       "https://example.com:8443/a?b=c"]


@pytest.mark.parametrize("url", PUBLIC_WEBHOOK_URLS)
def test_public_webhook_urls_accepted(ssrf_app, url):
    app, vid = ssrf_app
    # one config per URL (by its place in the list: str hashes vary per process and could collide)
    strength = (PUBLIC_WEBHOOK_URLS.index(url) + 1) / 10
    resp = app.test_client().post("/api/v1/jobs", json={"video_id": vid, "webhook_url": url,
                                                         "config": {"quality": "low", "color_strength": strength}})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_private_webhooks_allowed_when_configured(tmp_path, video_file):
    app = make_app(tmp_path / "i", CLIPZY_WEBHOOK_ALLOW_PRIVATE=True)
    client = app.test_client()
    vid = upload(client, video_file, "a.mp4").get_json()["data"]["video_id"]
    assert client.post("/api/v1/jobs", json={"video_id": vid, "webhook_url": "http://127.0.0.1:9/"}).status_code == 200
    # the scheme is still checked
    assert_error(client.post("/api/v1/jobs", json={"video_id": vid, "webhook_url": "file:///etc/passwd",
                                                   "config": {"quality": "low"}}), 422, "VALIDATION_ERROR")


# -- CORS ---------------------------------------------------------------------------------


def test_cors_only_for_configured_origins(tmp_path):
    ok = "https://app.example"
    app = make_app(tmp_path / "i", CORS_ORIGINS=f"{ok},https://other.example")
    client = app.test_client()
    r = client.get("/api/v1/health", headers={"Origin": ok})
    assert r.headers["Access-Control-Allow-Origin"] == ok and "Origin" in r.headers.get("Vary", "")
    assert "Access-Control-Allow-Credentials" not in r.headers
    pre = client.options("/api/v1/jobs", headers={"Origin": ok, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert pre.status_code in (200, 204) and pre.headers["Access-Control-Allow-Origin"] == ok
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    for bad in ("https://evil.example", "null", "https://app.example.evil.example", "http://app.example",
                "https://APP.example", f"{ok}/", "https://other.example.", "*"):
        for resp in (client.get("/api/v1/health", headers={"Origin": bad}),
                     client.options("/api/v1/jobs", headers={"Origin": bad, "Access-Control-Request-Method": "POST"}),
                     client.get("/api/v1/nope", headers={"Origin": bad})):
            assert "Access-Control-Allow-Origin" not in resp.headers, (bad, resp.headers)
            assert "Access-Control-Allow-Methods" not in resp.headers


def test_no_cors_by_default(tmp_path):
    client = make_app(tmp_path / "i").test_client()
    for origin in ("https://app.example", "null", "http://localhost"):
        assert "Access-Control-Allow-Origin" not in client.get("/api/v1/health", headers={"Origin": origin}).headers


def test_cors_headers_also_on_errors_for_allowed_origin(tmp_path):
    ok = "https://app.example"
    client = make_app(tmp_path / "i", CORS_ORIGINS=ok, CLIPZY_API_KEYS=KEY).test_client()
    r = client.get("/api/v1/jobs", headers={"Origin": ok})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == ok  # the browser can read the error


# -- headers and error bodies everywhere --------------------------------------------------


def test_security_headers_and_clean_errors_on_every_kind_of_response(completed_job, video_file, monkeypatch):
    app, client, job_id, vid = completed_job
    responses = {
        "health": client.get("/api/v1/health"),
        "openapi": client.get("/api/v1/openapi.json"),
        "docs": client.get("/api/v1/docs"),
        "console": client.get("/"),
        "video": client.get(f"/api/v1/videos/{vid}"),
        "upload": upload(client, video_file, "again.mp4"),
        "jobs": client.get("/api/v1/jobs"),
        "result": client.get(f"/api/v1/jobs/{job_id}/result"),
        "download": client.get(f"/api/v1/jobs/{job_id}/output"),
        "range": client.get(f"/api/v1/jobs/{job_id}/output", headers={"Range": "bytes=0-99"}),
        "bad_range": client.get(f"/api/v1/jobs/{job_id}/output", headers={"Range": "bytes=999999999-"}),
        "artifact": client.get(f"/api/v1/jobs/{job_id}/artifacts/style_dna"),
        "head": client.head(f"/api/v1/jobs/{job_id}/output"),
        "options": client.options("/api/v1/jobs"),
        "404": client.get("/api/v1/nope/../../etc/passwd"),
        "404_static": client.get("/static/../../clipzy.sqlite3"),
        "405": client.delete(f"/api/v1/jobs/{job_id}"),
        "409": client.post(f"/api/v1/jobs/{job_id}/cancel"),
        "400": client.post("/api/v1/jobs", data="{", content_type="application/json"),
        "422": client.post("/api/v1/jobs", json={"video_id": vid, "config": {"quality": "ultra"}}),
        "422_media": upload(client, __file__, "not_a_video.mp4"),
        "422_big_json": client.post("/api/v1/jobs", data="[" + "0," * 600000 + "0]", content_type="application/json"),
    }

    def explode(*_a, **_k):
        raise RuntimeError(f"database at {app.instance_path}/clipzy.sqlite3 is broken")

    monkeypatch.setattr(app.extensions["clipzy"].store, "list_jobs", explode)
    responses["500"] = client.get("/api/v1/jobs")
    expected = {"download": 200, "range": 206, "bad_range": 416, "head": 200, "404": 404, "405": 405, "409": 409,
                "400": 400, "422": 422, "422_media": 422, "422_big_json": 422, "500": 500}
    for name, resp in responses.items():
        if name in expected:
            assert resp.status_code == expected[name], (name, resp.status_code, resp.get_data(as_text=True)[:300])
        h = resp.headers
        assert h.get("X-Content-Type-Options") == "nosniff", name
        assert h.get("Referrer-Policy") == "no-referrer", name
        assert h.get("X-Request-Id"), name
        if name in ("console", "docs"):
            assert "default-src 'self'" in h.get("Content-Security-Policy", ""), name
        if resp.status_code >= 400:
            assert h["Content-Type"].startswith("application/json"), (name, h["Content-Type"])
            assert _env(resp)["success"] is False
            assert_no_leak(app, resp)
            assert "broken" not in resp.get_data(as_text=True)
        resp.close()


def test_oversize_form_fields_on_upload(tmp_path, video_file):
    app = make_app(tmp_path / "i", TESTING=False, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    video = Path(video_file).read_bytes()
    for field in ("webhook_url", "template_video_id"):
        # encoded here, in memory: the test client would spool a big body to a file it never closes
        boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(video), filename="a.mp4"),
                                           field: "https://example.com/" + "a" * (5 * 1024 * 1024)})
        resp = client.post("/api/v1/videos/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")
        assert resp.status_code in (413, 422), (field, resp.status_code)
        assert_error(resp, resp.status_code, ("FILE_TOO_LARGE", "VALIDATION_ERROR"))
        assert_no_leak(app, resp)
    resp = upload(client, video_file, "a.mp4", unknown_field="x")
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert os.listdir(Path(app.instance_path) / "uploads") == []
    assert os.listdir(Path(app.instance_path) / "tmp") == []


def test_download_tokens_are_scoped_to_one_path_and_expire(completed_job):
    from clipzy import tokens

    app, _client, job_id, vid = completed_job
    app.config["CLIPZY_API_KEYS"] = [KEY]
    client = app.test_client()
    out = f"/api/v1/jobs/{job_id}/output"
    good = tokens.sign_path(out, keys=[KEY], ttl_s=60)
    ok = client.get(f"{out}?token={good}")
    assert ok.status_code == 200 and ok.headers["X-Content-Type-Options"] == "nosniff"
    ok.close()
    expired = tokens.sign_path(out, keys=[KEY], ttl_s=-1)
    other_key = tokens.sign_path(out, keys=["not-the-key"], ttl_s=60)
    forged = good.split(".")[0] + "." + "0" * 64
    later = str(int(good.split(".")[0]) + 10_000) + "." + good.split(".")[1]  # extended expiry, old signature
    for url in (f"{out}?token={expired}", f"{out}?token={other_key}", f"{out}?token={forged}", f"{out}?token={later}",
                f"/api/v1/jobs/{job_id}/artifacts/style_dna?token={good}",  # another path
                f"/api/v1/jobs/{job_id}/result?token={good}",  # not a download
                f"/api/v1/videos/{vid}?token={good}", f"{out}?token=", f"{out}?token=..", f"{out}?token=1e9.x"):
        resp = client.get(url)
        assert_error(resp, 401, "UNAUTHORIZED")
        assert resp.headers.get("WWW-Authenticate") == "Bearer"
    # a token never authorises a write
    assert_error(client.post(f"/api/v1/jobs/{job_id}/cancel?token={good}"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("url", ["http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "http://127。0。0。1/", "http://localhost:80/", "http://2130706433/",
                                 "http://0x7f.1/", "http://[::ffff:127.0.0.1]/", "http://[::1]:8080/x"])
def test_webhook_delivery_guard_refuses_what_resolves_private(url):
    """Host names are checked again at delivery, after resolution (IDN and dotless forms included)."""
    from clipzy.jobs.webhooks import WebhookRefused, post_json

    with pytest.raises(WebhookRefused):
        post_json(url, b"{}", {}, timeout_s=1.0, allow_private=False)


def test_job_error_messages_do_not_leak_instance_paths(tmp_path):
    """A stage failing with an OSError naming a stored file: the job's error shows no path."""
    import time

    from dataclasses import replace

    from clipzy import stop_workers
    from clipzy.engine.pipeline import STAGES

    def fails(state, control):
        raise OSError(2, "No such file or directory", os.path.join(os.path.dirname(state.artifacts.style_dna), "part.npy"))

    def invalid(state, control):
        from clipzy.engine.errors import InvalidMediaError

        raise InvalidMediaError(f"cannot read {state.style_source.path}")

    stages = {"PROCESSING_ERROR": fails, "INVALID_MEDIA": invalid}
    app = make_app(tmp_path / "i", CLIPZY_START_RUNNER=True, MAX_CONCURRENT_JOBS=1,
                   CLIPZY_STAGES_FOR=lambda state: [replace(STAGES[0], run=stages[
                       "PROCESSING_ERROR" if state.config["quality"] == "low" else "INVALID_MEDIA"])])
    client = app.test_client()
    try:
        from synth.hostile import frames
        from synth.video import write_video

        clip = write_video(tmp_path / "c.mp4", frames(5), fps=25)
        vid = upload(client, clip, "c.mp4").get_json()["data"]["video_id"]
        ids = [client.post("/api/v1/jobs", json={"video_id": vid, "config": {"quality": q}}).get_json()["data"]["job_id"]
               for q in ("low", "high")]
        deadline = time.monotonic() + 30
        jobs = []
        while len(jobs) < 2:
            assert time.monotonic() < deadline
            jobs = [j for j in (client.get(f"/api/v1/jobs/{i}").get_json()["data"] for i in ids) if j["status"] == "failed"]
            time.sleep(0.1)
    finally:
        stop_workers(app)
    assert {j["error"]["code"] for j in jobs} == {"PROCESSING_ERROR", "INVALID_MEDIA"}
    for j in jobs:
        text = json.dumps(j)
        assert app.instance_path not in text and str(tmp_path) not in text, j["error"]
        assert "<instance>" in j["error"]["message"], j["error"]


@pytest.mark.parametrize("range_header", ["bytes=-0", "bytes=0-", "bytes=99999999999999999999-", "bytes=1-0",
                                          "bytes=0-1,2-3", "items=0-1", "bytes=--1", "bytes=0-0",
                                          "bytes=0-1" + ",0-1" * 500, "bytes=\x00"])
def test_range_headers_never_break_downloads(completed_job, range_header):
    app, client, job_id, _ = completed_job
    size = len((Path(app.instance_path) / "jobs" / job_id / "output.mp4").read_bytes())
    resp = client.get(f"/api/v1/jobs/{job_id}/output", headers={"Range": range_header})
    assert resp.status_code in (200, 206, 416), resp.status_code
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    if resp.status_code == 206:
        first, last = map(int, resp.headers["Content-Range"].split()[1].split("/")[0].split("-"))
        assert len(resp.data) == last - first + 1 and last < size
    elif resp.status_code == 416:
        assert _env(resp)["success"] is False
        assert_no_leak(app, resp)
    resp.close()
