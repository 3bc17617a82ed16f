"""Request ids, API keys, signed download URLs, CORS, rate limiting and security headers."""
from __future__ import annotations

import hmac
import logging
import re
import threading
import time
import uuid

from flask import Flask, current_app, g, request

from .. import tokens
from .errors import ApiError

log = logging.getLogger("clipzy.http")

OPEN_PATHS = ("/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs")
TOKEN_PATHS = re.compile(r"^/api/v1/jobs/job_[0-9a-f]{16}/(output|artifacts/[a-z_]+)$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# -- keys and tokens ------------------------------------------------------------


def _keys() -> list[str]:
    return list(current_app.config.get("CLIPZY_API_KEYS") or [])


def key_valid(presented: str) -> bool:
    """Constant-time comparison against every configured key (no early exit)."""
    ok = False
    for key in _keys():
        ok |= hmac.compare_digest(presented.encode(), key.encode())
    return ok


def public_base() -> str:
    """Base of absolute URLs: CLIPZY_PUBLIC_URL, else the request's host (X-Forwarded-* when trusted)."""
    return current_app.config.get("CLIPZY_PUBLIC_URL") or request.host_url


def public_url(path: str) -> str:
    """Absolute URL of ``path`` with a signed ``token`` when API keys are on."""
    return tokens.absolute_url(public_base(), path, keys=_keys(),
                               ttl_s=int(current_app.config["CLIPZY_URL_TOKEN_TTL_SECONDS"]))


# -- rate limiting --------------------------------------------------------------


class RateLimiter:
    """Fixed-window counter per client address: ``"120/minute"`` style limits."""

    UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

    def __init__(self, spec: str) -> None:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour|day)\s*", spec or "")
        if not m:
            raise ValueError(f"CLIPZY_RATE_LIMIT must look like '120/minute', got {spec!r}")
        self.limit = int(m.group(1))
        self.window = self.UNITS[m.group(2)]
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, client: str) -> tuple[bool, int]:
        """Count a request; returns (allowed, seconds until the window resets)."""
        now = time.time()
        window = int(now // self.window)
        with self._lock:
            if len(self._counts) > 10000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            n = self._counts.get((client, window), 0) + 1
            self._counts[(client, window)] = n
        return n <= self.limit, int(self.window - now % self.window) + 1


# -- hooks ------------------------------------------------------------------------


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def before_request() -> None:
    rid = request.headers.get("X-Request-Id", "")
    g.request_id = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
    g.started = time.perf_counter()
    if request.method == "OPTIONS":
        return None
    limiter: RateLimiter | None = current_app.extensions.get("clipzy_rate_limiter")
    if limiter is not None and _is_api(request.path) and request.path not in OPEN_PATHS[:1]:
        allowed, retry = limiter.hit(request.remote_addr or "-")
        if not allowed:
            raise ApiError("RATE_LIMITED", 429, "Too many requests", f"limit {current_app.config['CLIPZY_RATE_LIMIT']}",
                           headers={"Retry-After": str(retry)})
    if not _keys() or not _is_api(request.path) or request.path.startswith(OPEN_PATHS):
        return None
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and key_valid(auth[7:].strip()):
        return None
    token = request.args.get("token")
    if token and request.method in ("GET", "HEAD") and TOKEN_PATHS.match(request.path) and tokens.token_valid(request.path, token, keys=_keys()):
        return None
    raise ApiError("UNAUTHORIZED", 401, "Missing or invalid credentials",
                   "send Authorization: Bearer <key> (or a valid token on a download URL)",
                   headers={"WWW-Authenticate": "Bearer"})


def _cors(resp) -> None:
    origin = request.headers.get("Origin")
    allowed = current_app.config.get("CORS_ORIGINS") or []
    if not origin or not (origin in allowed or "*" in allowed):
        return
    resp.headers["Access-Control-Allow-Origin"] = origin
    resp.headers.add("Vary", "Origin")
    resp.headers["Access-Control-Expose-Headers"] = "X-Request-Id, Content-Range, Accept-Ranges, Content-Length"
    if request.method == "OPTIONS":
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, HEAD, OPTIONS"  # DELETE: /styles/{id}
        resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Range"
        resp.headers["Access-Control-Max-Age"] = "600"


def after_request(resp):
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Request-Id"] = g.get("request_id", "-")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    if not _is_api(request.path) or request.path.startswith("/api/v1/docs"):
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline';"
            " script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
    else:
        resp.headers.setdefault("Cache-Control", "no-store")
    _cors(resp)
    started = g.get("started")
    log.info("request", extra={
        "request_id": g.get("request_id"), "method": request.method, "path": request.path,  # never the query (tokens)
        "status": resp.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
    })
    return resp


def init_app(app: Flask) -> None:
    if app.config.get("CLIPZY_RATE_LIMIT"):
        app.extensions["clipzy_rate_limiter"] = RateLimiter(app.config["CLIPZY_RATE_LIMIT"])
    app.before_request(before_request)
    app.after_request(after_request)
