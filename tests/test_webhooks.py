"""Webhooks to a real loopback receiver: signature, headers, retries after 500s, SSRF guard."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clipzy.jobs import webhooks
from dataclasses import replace
from pathlib import Path

from clipzy.engine.pipeline import STAGES
from clipzy.store import new_id
from conftest import make_app


class Receiver:
    """A loopback HTTP server that records POSTs and answers with scripted statuses."""

    def __init__(self, statuses=(200,), delay_s=0.0):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        self.delay_s = delay_s
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rec.requests.append({"headers": dict(self.headers), "body": body, "at": time.monotonic()})
                time.sleep(rec.delay_s)
                status = rec.statuses.pop(0) if len(rec.statuses) > 1 else rec.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(**kw):
        r = Receiver(**kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def quick(state, control):
    Path(state.artifacts.style_dna).write_text('{"version": "1.0"}')


def failing(state, control):
    raise RuntimeError("nope")


def run_job(tmp_path, url, stage=quick, **cfg):
    app = make_app(tmp_path / "inst", CLIPZY_START_RUNNER=True,
                   CLIPZY_STAGES_FOR=lambda state: [replace(STAGES[0], run=stage)], **cfg)
    svc = app.extensions["clipzy"]
    vid = svc.store.insert_video(video_id=new_id("vid"), filename="a.mp4", file_size_bytes=1, metadata={},
                                 storage_name="a.mp4", template_video_id=None, webhook_url=None)["id"]
    job, _ = svc.store.create_job(video_id=vid, template_video_id=None, mode="extract", config={}, config_key="k",
                                  webhook_url=url, base_url="http://clipzy.test/")
    svc.runner.notify()
    return app, svc, job["id"]


@pytest.fixture
def apps():
    made = []
    yield made.append
    from clipzy import stop_workers

    for a in made:
        stop_workers(a)


def test_completed_webhook_signed_with_headers(tmp_path, receiver, apps):
    rec = receiver()
    app, svc, job_id = run_job(tmp_path, rec.url, CLIPZY_WEBHOOK_ALLOW_PRIVATE=True, CLIPZY_WEBHOOK_SECRET="s3cret")
    apps(app)
    wait_for(lambda: rec.requests)
    req = rec.requests[0]
    h = {k.lower(): v for k, v in req["headers"].items()}
    assert h["x-clipzy-event"] == "job.completed"
    assert h["x-clipzy-delivery"].startswith("dlv_")
    ts = int(h["x-clipzy-timestamp"])
    assert abs(ts - time.time()) < 30
    want = "sha256=" + hmac.new(b"s3cret", f"{ts}.".encode() + req["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(h["x-clipzy-signature"], want)
    body = json.loads(req["body"])
    assert body["success"] is True and body["message"] == "Job completed"
    assert body["data"]["job_id"] == job_id and body["data"]["status"] == "completed"
    assert body["data"]["style_json"] == {"version": "1.0"}
    assert body["data"]["artifacts"]["style_dna"].startswith("http://clipzy.test/api/v1/jobs/")
    wait_for(lambda: svc.store.deliveries_for(job_id)[0]["status"] == "delivered")


def test_failed_webhook_and_retries_after_500s_keep_delivery_id(tmp_path, receiver, apps):
    rec = receiver(statuses=(500, 503, 200))
    app, svc, job_id = run_job(tmp_path, rec.url, stage=failing, CLIPZY_WEBHOOK_ALLOW_PRIVATE=True,
                               CLIPZY_WEBHOOK_RETRY_BASE_SECONDS=0.2)
    apps(app)
    wait_for(lambda: len(rec.requests) >= 3, timeout=15)
    ids = {r["headers"]["X-Clipzy-Delivery"] for r in rec.requests}
    assert len(ids) == 1
    assert json.loads(rec.requests[0]["body"])["message"] == "Job failed"
    assert rec.requests[0]["body"] == rec.requests[2]["body"]
    gap1 = rec.requests[1]["at"] - rec.requests[0]["at"]
    gap2 = rec.requests[2]["at"] - rec.requests[1]["at"]
    assert gap1 >= 0.15 and gap2 >= 0.35  # exponential backoff: 0.2 s, then 0.4 s
    wait_for(lambda: svc.store.deliveries_for(job_id)[0]["status"] == "delivered")
    d = svc.store.deliveries_for(job_id)[0]
    assert d["attempts"] == 3


def test_gives_up_after_max_attempts(tmp_path, receiver, apps):
    rec = receiver(statuses=(500,))
    app, svc, job_id = run_job(tmp_path, rec.url, CLIPZY_WEBHOOK_ALLOW_PRIVATE=True,
                               CLIPZY_WEBHOOK_RETRY_BASE_SECONDS=0.05, CLIPZY_WEBHOOK_MAX_ATTEMPTS=3)
    apps(app)
    wait_for(lambda: svc.store.deliveries_for(job_id) and svc.store.deliveries_for(job_id)[0]["status"] == "failed")
    assert len(rec.requests) == 3


def test_ssrf_guard_refuses_loopback_unless_allowed(tmp_path, receiver, apps):
    rec = receiver()
    app, svc, job_id = run_job(tmp_path, rec.url)  # private addresses not allowed
    apps(app)
    wait_for(lambda: svc.store.deliveries_for(job_id) and svc.store.deliveries_for(job_id)[0]["status"] == "failed")
    d = svc.store.deliveries_for(job_id)[0]
    assert d["attempts"] == 1 and "refused" in d["last_error"]
    assert rec.requests == []


@pytest.mark.parametrize("addr,ok", [
    ("8.8.8.8", True), ("2606:4700:4700::1111", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("::ffff:127.0.0.1", False), ("0.0.0.0", False), ("100.64.0.1", False), ("224.0.0.1", False),
])
def test_address_classification(addr, ok):
    assert webhooks.address_allowed(ipaddress.ip_address(addr)) is ok


def test_resolution_is_checked_and_pinned(monkeypatch):
    """A name that resolves to a private address is refused; the connection goes to the checked address."""
    import socket

    def fake_getaddrinfo(host, port, type=0):
        table = {"evil.test": "127.0.0.1", "good.test": "93.184.216.34"}
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(webhooks.WebhookRefused):
        webhooks.resolve_checked("evil.test", 80, allow_private=False)
    assert webhooks.resolve_checked("good.test", 80, allow_private=False) == "93.184.216.34"
    connected = []

    def fake_create_connection(addr, timeout=None):
        connected.append(addr)
        raise ConnectionRefusedError("test stops here")

    monkeypatch.setattr(socket, "create_connection", fake_create_connection)
    with pytest.raises(ConnectionRefusedError):
        webhooks.post_json("http://good.test:8080/h", b"{}", {}, timeout_s=1, allow_private=False)
    assert connected == [("93.184.216.34", 8080)]


def test_slow_receiver_does_not_block_jobs(tmp_path, receiver, apps):
    rec = receiver(delay_s=3.0)
    app, svc, first = run_job(tmp_path, rec.url, CLIPZY_WEBHOOK_ALLOW_PRIVATE=True)
    apps(app)
    wait_for(lambda: rec.requests)  # the first delivery is now hanging
    vid = svc.store.get_job(first)["video_id"]
    job, _ = svc.store.create_job(video_id=vid, template_video_id=None, mode="extract", config={"n": 2}, config_key="k2",
                                  webhook_url=None)
    svc.runner.notify()
    t0 = time.monotonic()
    wait_for(lambda: svc.store.get_job(job["id"])["status"] == "completed", timeout=5)
    assert time.monotonic() - t0 < 2.5


def test_pending_delivery_survives_restart(tmp_path, receiver, apps):
    rec = receiver()
    inst = tmp_path / "inst"
    app = make_app(inst)
    svc = app.extensions["clipzy"]
    vid = svc.store.insert_video(video_id=new_id("vid"), filename="a", file_size_bytes=1, metadata={}, storage_name="a.mp4",
                                 template_video_id=None, webhook_url=None)["id"]
    job, _ = svc.store.create_job(video_id=vid, template_video_id=None, mode="extract", config={}, config_key="k",
                                  webhook_url=rec.url)
    job = svc.store.request_cancel(job["id"])
    delivery_id = webhooks.enqueue_for_job(svc.store, job, None)  # recorded, never sent: the process "dies"
    app2 = make_app(inst, CLIPZY_START_RUNNER=True, CLIPZY_WEBHOOK_ALLOW_PRIVATE=True)
    apps(app2)
    wait_for(lambda: rec.requests)
    assert rec.requests[0]["headers"]["X-Clipzy-Delivery"] == delivery_id
    assert rec.requests[0]["headers"]["X-Clipzy-Event"] == "job.cancelled"
