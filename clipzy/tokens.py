"""Signed, expiring download tokens: HMAC-SHA256 of the URL path and the expiry time.

A token is ``"<expiry unix seconds>.<hex signature>"``; the key derives from the
configured API keys, so rotating keys revokes outstanding URLs.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode


def _secret(keys: list[str]) -> bytes:
    return hashlib.sha256(("clipzy-url-token\0" + "\0".join(sorted(keys))).encode()).digest()


def sign_path(path: str, *, keys: list[str], ttl_s: int, now: float | None = None) -> str:
    expiry = int((time.time() if now is None else now) + ttl_s)
    sig = hmac.new(_secret(keys), f"{path}|{expiry}".encode(), hashlib.sha256).hexdigest()
    return f"{expiry}.{sig}"


def token_valid(path: str, token: str, *, keys: list[str], now: float | None = None) -> bool:
    try:
        expiry_s, sig = token.split(".", 1)
        expiry = int(expiry_s)
    except ValueError:
        return False
    if expiry < (time.time() if now is None else now):
        return False
    want = hmac.new(_secret(keys), f"{path}|{expiry}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig)


def absolute_url(base: str, path: str, *, keys: list[str], ttl_s: int) -> str:
    """``base`` + ``path``, with a signed ``token`` query when API keys are configured."""
    url = base.rstrip("/") + path
    if keys:
        url += "?" + urlencode({"token": sign_path(path, keys=keys, ttl_s=ttl_s)})
    return url
