"""One error path: ``ApiError`` and the handlers that shape every failure into the error envelope.

Werkzeug's HTTP errors, webargs/marshmallow validation errors, bad JSON and uncaught
exceptions all leave as ``{"success": false, "message", "error": {"detail", "code"}}``
with the codes and statuses of API.md. Uncaught exceptions are logged with the request
id, and only the id reaches the client (no stack traces, no paths).
"""
from __future__ import annotations

import errno
import logging
import sqlite3

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..jobs.intake import Refused

log = logging.getLogger("clipzy.api")


class ApiError(Refused):
    """An error the API answers with: HTTP ``status``, machine ``code``, human ``message``.

    The service layer's :class:`~clipzy.jobs.intake.Refused` is answered the same way."""


# Werkzeug status → (code, message) when the error is not ours.
HTTP_CODES = {
    400: ("INVALID_JSON", "The request body is not valid JSON"),
    401: ("UNAUTHORIZED", "Missing or invalid credentials"),
    404: ("NOT_FOUND", "The requested URL was not found"),
    405: ("METHOD_NOT_ALLOWED", "The method is not allowed for this URL"),
    409: ("CONFLICT", "The request conflicts with the current state"),
    413: ("FILE_TOO_LARGE", "The upload is larger than the limit"),
    415: ("INVALID_JSON", "Unsupported content type"),
    422: ("VALIDATION_ERROR", "The request failed validation"),
    429: ("RATE_LIMITED", "Too many requests"),
    503: ("SERVICE_UNAVAILABLE", "The service is unavailable"),
}


def error_body(code: str, message: str, detail: str, fields: dict | None = None) -> dict:
    err: dict = {"detail": detail, "code": code}
    if fields is not None:
        err["fields"] = fields
    return {"success": False, "message": message, "error": err}


def _flatten_fields(messages: dict) -> dict:
    """webargs gives {location: {field: [msgs]}}; API.md wants {field: [msgs]}."""
    out: dict = {}
    for location, per_field in (messages or {}).items():
        if isinstance(per_field, dict):
            for name, msgs in per_field.items():
                out[name] = msgs if isinstance(msgs, (list, dict)) else [str(msgs)]
        else:
            out[location] = per_field if isinstance(per_field, list) else [str(per_field)]
    return out


def api_error_response(err: Refused):
    resp = jsonify(error_body(err.code, err.message, err.detail, err.fields))
    resp.status_code = err.status
    for k, v in err.headers.items():
        resp.headers[k] = v
    return resp


def http_error_response(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if status == 422 and messages is not None:
        fields = _flatten_fields(messages)
        detail = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in fields.items())
        return api_error_response(ApiError("VALIDATION_ERROR", 422, "Validation failed", detail or "invalid input", fields))
    if status == 400 and messages is not None:  # webargs: unparsable JSON body
        return api_error_response(ApiError("INVALID_JSON", 400, "The request body is not valid JSON", "invalid JSON body"))
    if status == 400 and request.mimetype == "multipart/form-data":  # a truncated or malformed upload body
        return api_error_response(ApiError("VALIDATION_ERROR", 422, "The upload could not be read",
                                           "the multipart/form-data body is malformed or incomplete"))
    code, message = HTTP_CODES.get(status, ("INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST", exc.name))
    detail = exc.description or message
    if status == 413:
        detail = "the request body exceeds MAX_FILE_SIZE_MB"
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 416 and getattr(exc, "length", None) is not None:  # RFC 9110 14.4: the size a client may ask for
        headers["Content-Range"] = f"{exc.units} */{exc.length}"
    return api_error_response(ApiError(code, status, message, detail, headers=headers))


def storage_full(exc: BaseException | None) -> bool:
    """True when ``exc`` or its cause is a full disk (ENOSPC/EDQUOT) or SQLite's "database or disk is full"."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.OperationalError) and (
                getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)):  # SQLITE_FULL
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def unexpected_error_response(exc: Exception):
    request_id = g.get("request_id", "-")
    if storage_full(exc):  # API.md: SERVICE_UNAVAILABLE is "storage or database unusable"
        log.error("storage full", extra={"request_id": request_id, "error": str(exc)})
        return api_error_response(ApiError("SERVICE_UNAVAILABLE", 503, "Storage is full",
                                           f"storage is full: {exc}; nothing was kept (request id {request_id})",
                                           headers={"Retry-After": "60"}))
    log.error("unhandled exception", exc_info=exc, extra={"request_id": request_id})
    return api_error_response(ApiError("INTERNAL_ERROR", 500, "Internal server error", f"request id {request_id}"))


def init_app(app: Flask) -> None:
    app.register_error_handler(Refused, api_error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, unexpected_error_response)
