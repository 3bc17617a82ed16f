"""Configuration: defaults, then ``instance/config.py``, then environment variables.

Every variable of CLI.md's table is read here and nowhere else. Values keep the
environment's names as Flask config keys.
"""
from __future__ import annotations

import os
from typing import Any, Callable


def _bool(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


def _list(v: str) -> list[str]:
    return [p.strip() for p in v.split(",") if p.strip()]


def default_concurrency() -> int:
    """CPU cores ÷ 2, at least 1 (API.md)."""
    return max(1, (os.cpu_count() or 2) // 2)


DEFAULTS: dict[str, Any] = {
    "MAX_FILE_SIZE_MB": 1000,
    "MAX_CONCURRENT_JOBS": default_concurrency(),
    "PROCESSING_TIMEOUT_SECONDS": 3600,
    "MAX_VIDEO_DURATION_SECONDS": 3600,
    "MAX_VIDEO_PIXELS": 3840 * 2160,
    "CLIPZY_API_KEYS": [],
    "CLIPZY_WEBHOOK_SECRET": None,
    "CLIPZY_WEBHOOK_ALLOW_PRIVATE": False,
    "CLIPZY_WEBHOOK_MAX_ATTEMPTS": 8,
    "CLIPZY_WEBHOOK_RETRY_BASE_SECONDS": 5.0,
    "CLIPZY_WEBHOOK_TIMEOUT_SECONDS": 10.0,
    "CLIPZY_PUBLIC_URL": None,
    "CLIPZY_TRUST_PROXY": False,
    "CLIPZY_URL_TOKEN_TTL_SECONDS": 3600,
    "CLIPZY_RATE_LIMIT": None,
    "CORS_ORIGINS": [],
    "CLIPZY_ONNX_PROVIDERS": None,
    "CLIPZY_MODELS_PATH": None,
    "LOG_LEVEL": "INFO",
    "CLIPZY_START_RUNNER": True,  # tests may build an app without the job pool
    "CLIPZY_WARM_UP": True,  # compile librosa kernels and open model sessions when the pool starts
    "CLIPZY_IDEMPOTENCY_TTL_SECONDS": 24 * 3600,
    "CLIPZY_MAX_QUEUED_JOBS": 1000,
}

PARSERS: dict[str, Callable[[str], Any]] = {
    "MAX_FILE_SIZE_MB": float,
    "MAX_CONCURRENT_JOBS": int,
    "PROCESSING_TIMEOUT_SECONDS": float,
    "MAX_VIDEO_DURATION_SECONDS": float,
    "MAX_VIDEO_PIXELS": int,
    "CLIPZY_API_KEYS": _list,
    "CLIPZY_WEBHOOK_SECRET": str,
    "CLIPZY_WEBHOOK_ALLOW_PRIVATE": _bool,
    "CLIPZY_WEBHOOK_MAX_ATTEMPTS": int,
    "CLIPZY_WEBHOOK_RETRY_BASE_SECONDS": float,
    "CLIPZY_WEBHOOK_TIMEOUT_SECONDS": float,
    "CLIPZY_PUBLIC_URL": str,
    "CLIPZY_TRUST_PROXY": _bool,
    "CLIPZY_URL_TOKEN_TTL_SECONDS": int,
    "CLIPZY_RATE_LIMIT": str,
    "CORS_ORIGINS": _list,
    "CLIPZY_ONNX_PROVIDERS": str,
    "CLIPZY_MODELS_PATH": str,
    "LOG_LEVEL": str,
    "CLIPZY_MAX_QUEUED_JOBS": int,
}


def from_environ(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The configuration keys set in the environment, parsed."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for key, parse in PARSERS.items():
        raw = environ.get(key)
        if raw is None or raw == "":
            continue
        try:
            out[key] = parse(raw)
        except ValueError as exc:
            raise ValueError(f"invalid value for {key}: {raw!r}") from exc
    return out


def normalise(cfg: dict[str, Any]) -> None:
    """Accept comma-separated strings for list keys (instance config may use either)."""
    for key in ("CLIPZY_API_KEYS", "CORS_ORIGINS"):
        if isinstance(cfg.get(key), str):
            cfg[key] = _list(cfg[key])
    for key, lo in (("MAX_CONCURRENT_JOBS", 1), ("CLIPZY_WEBHOOK_MAX_ATTEMPTS", 1)):
        if int(cfg[key]) < lo:
            raise ValueError(f"{key} must be >= {lo}, got {cfg[key]}")
