"""Webhook deliveries: persistent, signed, retried with backoff, SSRF-guarded, never blocking jobs.

When a job ends, ``enqueue_for_job`` writes one row to ``webhook_deliveries`` (the body
is frozen then, so retries send the same bytes and delivery id). The ``Sender`` thread
picks due rows and posts them from a small pool of its own, so a receiver that hangs
(10 s timeout) delays only its own delivery, never the job pool.

SSRF guard: the URL's host is resolved once; if any resolved address is private,
loopback, link-local, multicast, reserved or unspecified (IPv4 and IPv6, IPv4-mapped
included) the delivery is refused unless CLIPZY_WEBHOOK_ALLOW_PRIVATE. The connection
then goes to the very address that was checked (no second lookup), with the original
Host header and TLS server name. Redirects are not followed: a 3xx counts as a failed
attempt, so a redirect can never lead to an unchecked address.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable
from urllib.parse import urlsplit

from ..storage import Storage
from ..store import Store
from .payloads import job_payload, result_payload

log = logging.getLogger("clipzy.webhooks")

EVENTS = {"completed": ("job.completed", "Job completed"), "failed": ("job.failed", "Job failed"),
          "cancelled": ("job.cancelled", "Job cancelled")}


class WebhookRefused(Exception):
    """The URL may not be called (scheme, or an address the SSRF guard refuses)."""


def address_allowed(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for public unicast addresses only."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not (addr.is_multicast or addr.is_reserved or addr.is_unspecified
                                   or addr.is_loopback or addr.is_link_local or addr.is_private)


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Raise ValueError unless ``url`` is http(s) with a host that may be called.

    At intake, host names are not resolved (they are, and checked again, at every
    delivery); a literal private/loopback/link-local address, or a name that is one
    (``localhost``, IDNA forms, the numeric IPv4 spellings the resolver accepts), is
    refused unless ``allow_private``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if allow_private:
        return
    try:  # the name the resolver will look up: IDNA maps ⓛⓞⓒⓐⓛⓗⓞⓢⓣ to localhost, 127。0。0。1 to 127.0.0.1
        host = parts.hostname.rstrip(".").encode("idna").decode("ascii").rstrip(".")
    except UnicodeError as exc:
        raise ValueError("the host is not a valid domain name") from exc
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        raise ValueError("private and loopback hosts are not allowed")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        # The resolver also reads 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 as IPv4 literals.
        try:
            addr = ipaddress.ip_address(socket.inet_aton(host)) if host and host[-1].isalnum() else None
        except OSError:
            addr = None
        if addr is None:
            return
    if not addr.is_global or addr.is_multicast:
        raise ValueError("private, loopback and link-local addresses are not allowed")


def resolve_checked(host: str, port: int, *, allow_private: bool) -> str:
    """Resolve ``host`` and return the one address to connect to, or raise WebhookRefused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc}") from exc
    addrs = [info[4][0] for info in infos]
    if not addrs:
        raise ConnectionError(f"no address for {host}")
    if not allow_private:
        for a in addrs:
            if not address_allowed(ipaddress.ip_address(a.split("%", 1)[0])):
                raise WebhookRefused(f"{host} resolves to a non-public address ({a})")
    return addrs[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, allow_private: bool) -> int:
    """POST ``body`` to ``url`` through the SSRF guard; returns the HTTP status."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("webhook URL must be http(s)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_checked(parts.hostname, port, allow_private=allow_private)
    cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = cls(parts.hostname, port, address, timeout_s)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
        resp = conn.getresponse()
        resp.read(65536)
        return resp.status
    finally:
        conn.close()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def enqueue_for_job(store: Store, job: dict, sender: "Sender | None") -> str | None:
    """Record the webhook of a job that reached a terminal status; returns the delivery id."""
    url = job.get("webhook_url")
    if not url or job["status"] not in EVENTS:
        return None
    event, message = EVENTS[job["status"]]
    if sender is not None and job["status"] == "completed":
        data = result_payload(job, sender.storage, sender.url_for(job))
    else:
        data = job_payload(job)
    body = json.dumps({"success": True, "message": message, "data": data}, separators=(",", ":"))
    delivery_id = store.add_delivery(job_id=job["id"], url=url, event=event, body=body)
    if sender is not None:
        sender.wake()
    return delivery_id


class Sender:
    """Background delivery of pending webhooks (survives restarts: the table is the queue)."""

    POOL = 4

    def __init__(self, store: Store, storage: Storage, config: dict,
                 poster: Callable[..., int] = post_json) -> None:
        self.store = store
        self.storage = storage
        self.config = config
        self.poster = poster
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def url_for(self, job: dict) -> Callable[[str], str]:
        from ..tokens import absolute_url

        base = self.config.get("CLIPZY_PUBLIC_URL") or job.get("base_url") or "http://localhost/"
        keys = list(self.config.get("CLIPZY_API_KEYS") or [])
        ttl = int(self.config.get("CLIPZY_URL_TOKEN_TTL_SECONDS", 3600))
        return lambda path: absolute_url(base, path, keys=keys, ttl_s=ttl)

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.POOL, thread_name_prefix="clipzy-webhook")
        self._thread = threading.Thread(target=self._loop, name="clipzy-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for d in self.store.due_deliveries(time.time()):
                    with self._lock:
                        if d["id"] in self._inflight:
                            continue
                        self._inflight.add(d["id"])
                    assert self._pool is not None
                    self._pool.submit(self._deliver, d)
                nxt = self.store.next_delivery_due()
                wait = 1.0 if nxt is None else max(0.05, min(1.0, nxt - time.time()))
            except Exception:  # noqa: BLE001 - keep delivering after a database hiccup
                log.exception("webhook loop error")
                wait = 1.0
            self._wake.wait(wait)
            self._wake.clear()
        self.store.close()

    def _deliver(self, d: dict) -> None:
        cfg = self.config
        body = d["body"].encode()
        ts = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "Clipzy-Webhooks/1",
                   "X-Clipzy-Event": d["event"], "X-Clipzy-Delivery": d["id"], "X-Clipzy-Timestamp": str(ts)}
        if cfg.get("CLIPZY_WEBHOOK_SECRET"):
            headers["X-Clipzy-Signature"] = signature(cfg["CLIPZY_WEBHOOK_SECRET"], ts, body)
        error: str | None = None
        delivered = False
        refused = False
        try:
            status = self.poster(d["url"], body, headers, timeout_s=float(cfg.get("CLIPZY_WEBHOOK_TIMEOUT_SECONDS", 10)),
                                 allow_private=bool(cfg.get("CLIPZY_WEBHOOK_ALLOW_PRIVATE")))
            delivered = 200 <= status < 300
            if not delivered:
                error = f"HTTP {status}"
        except WebhookRefused as exc:
            refused, error = True, f"refused: {exc}"
        except Exception as exc:  # noqa: BLE001 - timeouts, resets, TLS errors: retry
            error = f"{type(exc).__name__}: {exc}"[:300]
        attempts = d["attempts"] + 1
        next_at = None
        if not delivered and not refused and attempts < int(cfg.get("CLIPZY_WEBHOOK_MAX_ATTEMPTS", 8)):
            next_at = time.time() + float(cfg.get("CLIPZY_WEBHOOK_RETRY_BASE_SECONDS", 5)) * (2 ** (attempts - 1))
        try:
            self.store.record_delivery_attempt(d["id"], delivered=delivered, error=error, next_attempt_epoch=next_at)
        finally:
            with self._lock:
                self._inflight.discard(d["id"])
            self.store.close()
            self._wake.set()
        log.info(json.dumps({"event": "webhook_attempt", "delivery_id": d["id"], "job_id": d["job_id"],
                             "attempt": attempts, "delivered": delivered, "error": error,
                             "next_attempt_in_s": round(next_at - time.time(), 1) if next_at else None}))
