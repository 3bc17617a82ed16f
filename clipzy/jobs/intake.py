"""Intake: what the service does with an upload or a job request before it runs anything.

The HTTP views validate the request's shape and call one function here:

* :func:`store_video` checks a streamed upload (storage, name, size, probe, limits),
  moves it into place and records it — fully stored and recorded, or not at all;
* :func:`create_job` resolves a job request (its videos, the upload's template and webhook
  when the request leaves them out, the webhook check, the effective config's key,
  idempotency, the queue limit) and queues the job.

Both raise :class:`Refused` with the API.md code and HTTP status a client gets.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from typing import Any

from ..engine.errors import InvalidMediaError
from ..engine.media import FORMATS, probe
from ..store import DuplicateJob, IdempotencyConflict, JobStatus, new_id
from .webhooks import check_webhook_url

#: Upload extensions API.md accepts (the stored name takes the probed container's).
VIDEO_EXTENSIONS = ("mp4", "mov", "avi", "mkv", "webm")
MAX_IDEMPOTENCY_KEY_CHARS = 255


class Refused(Exception):
    """A request the service refuses: HTTP ``status``, API.md ``code``, a ``message`` for
    people, the technical ``detail``, per-field messages and response headers."""

    def __init__(self, code: str, status: int, message: str, detail: str | None = None,
                 fields: dict | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.detail = detail if detail is not None else message
        self.fields = fields
        self.headers = headers or {}


def sanitise_filename(name: str | None) -> str:
    """A display-safe file name: no path parts, no control characters, NFC, ≤ 200 chars."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lstrip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 190] + dot + ext[:9]) if dot else name[:200]
    return name or "upload"


def video_or_refuse(store, video_id: str, *, field: str = "video_id") -> dict:
    """The videos row of ``video_id``, or 404 VIDEO_NOT_FOUND naming ``field``."""
    row = store.get_video(video_id)
    if row is None:
        raise Refused("VIDEO_NOT_FOUND", 404, "Video not found", f"no video with {field} {video_id!r}")
    return row


def job_or_refuse(store, job_id: str) -> dict:
    """The jobs row of ``job_id``, or 404 JOB_NOT_FOUND."""
    job = store.get_job(job_id)
    if job is None:
        raise Refused("JOB_NOT_FOUND", 404, "Job not found", f"no job with job_id {job_id!r}")
    return job


def checked_webhook_url(url: str | None, config: dict) -> str | None:
    """``url`` when it may be called (http(s), host allowed), else 422 VALIDATION_ERROR."""
    if not url:
        return url
    try:
        check_webhook_url(url, allow_private=bool(config["CLIPZY_WEBHOOK_ALLOW_PRIVATE"]))
    except ValueError as exc:
        raise Refused("VALIDATION_ERROR", 422, "Validation failed", f"webhook_url: {exc}", {"webhook_url": [str(exc)]}) from exc
    return url


# -- uploads -------------------------------------------------------------------------


def store_video(services, config: dict, *, temp_path: str, filename: str | None, template_video_id: str | None,
                webhook_url: str | None) -> dict:
    """Check, probe, move into place and record an upload streamed to ``temp_path``.

    Returns the videos row. Nothing is kept when it raises (the caller's request teardown
    removes ``temp_path``); a failed database insert removes the moved file.
    """
    name = sanitise_filename(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in VIDEO_EXTENSIONS:
        raise Refused("UNSUPPORTED_FORMAT", 422, "Unsupported file type",
                      f"extension {ext or '(none)'!r} is not one of {sorted(VIDEO_EXTENSIONS)}")
    checked_webhook_url(webhook_url, config)
    if template_video_id:
        video_or_refuse(services.store, template_video_id, field="template_video_id")
    size = os.path.getsize(temp_path)
    limit = int(float(config["MAX_FILE_SIZE_MB"]) * 1024 * 1024)
    if size > limit:
        raise Refused("FILE_TOO_LARGE", 413, "The upload is larger than the limit",
                      f"{size} bytes exceeds MAX_FILE_SIZE_MB={config['MAX_FILE_SIZE_MB']:g}")
    if size == 0:
        raise Refused("UNSUPPORTED_FORMAT", 422, "Unsupported file", "the file is empty")
    try:
        info = probe(temp_path)
    except InvalidMediaError as exc:
        raise Refused("UNSUPPORTED_FORMAT", 422, "Unsupported file", f"not a decodable video: {exc}") from exc
    meta = info.metadata()
    _check_limits(meta, info.media_duration_seconds, config)
    video_id = new_id("vid")
    storage_name = f"{video_id}.{meta['format'] if meta['format'] in FORMATS else ext}"
    final = services.storage.video_path(storage_name)
    os.replace(temp_path, final)
    try:
        return services.store.insert_video(video_id=video_id, filename=name, file_size_bytes=size, metadata=meta,
                                           storage_name=storage_name, template_video_id=template_video_id,
                                           webhook_url=webhook_url)
    except Exception:
        final.unlink(missing_ok=True)
        raise


def _check_limits(meta: dict, media_duration_s: float, config: dict) -> None:
    """MEDIA_LIMIT_EXCEEDED for a video (or any of its streams) too long, or a frame too large."""
    limit_s = float(config["MAX_VIDEO_DURATION_SECONDS"])
    if meta["duration_seconds"] > limit_s:
        raise Refused("MEDIA_LIMIT_EXCEEDED", 422, "Video is too long",
                      f"duration {meta['duration_seconds']:.1f} s exceeds MAX_VIDEO_DURATION_SECONDS={limit_s:g}")
    pixels = meta["width"] * meta["height"]
    if pixels > int(config["MAX_VIDEO_PIXELS"]):
        raise Refused("MEDIA_LIMIT_EXCEEDED", 422, "Video frame is too large",
                      f"{meta['width']}x{meta['height']} = {pixels} pixels exceeds MAX_VIDEO_PIXELS={config['MAX_VIDEO_PIXELS']}")
    if media_duration_s > limit_s:  # e.g. hours of audio behind a short video
        raise Refused("MEDIA_LIMIT_EXCEEDED", 422, "The media is too long",
                      f"a stream lasts {media_duration_s:.1f} s, over MAX_VIDEO_DURATION_SECONDS={limit_s:g}")


# -- jobs ----------------------------------------------------------------------------


def _key_of(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def create_job(services, config: dict, body: dict, *, raw_body: Any, idempotency_key: str | None,
               base_url: str | None) -> dict:
    """Queue the job ``body`` asks for (validated by the API schema) and return its row.

    ``raw_body``: the request's JSON as sent (the idempotency key's fingerprint);
    ``base_url``: the base of absolute URLs for its webhook payload.
    """
    store = services.store
    video = video_or_refuse(store, body["video_id"])
    template_id = body["template_video_id"] if "template_video_id" in body else video["template_video_id"]
    if template_id is not None:
        video_or_refuse(store, template_id, field="template_video_id")
    webhook_url = checked_webhook_url(body["webhook_url"] if "webhook_url" in body else video["webhook_url"], config)
    job_config = body["config"]
    idem = None
    if idempotency_key:
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_CHARS:
            raise Refused("VALIDATION_ERROR", 422, "Validation failed",
                          f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters",
                          {"Idempotency-Key": [f"Longer than maximum length {MAX_IDEMPOTENCY_KEY_CHARS}."]})
        idem = (idempotency_key, _key_of(raw_body), float(config["CLIPZY_IDEMPOTENCY_TTL_SECONDS"]))
    if store.count_jobs(JobStatus.QUEUED) >= int(config["CLIPZY_MAX_QUEUED_JOBS"]):
        raise Refused("SERVICE_UNAVAILABLE", 503, "The job queue is full",
                      f"{config['CLIPZY_MAX_QUEUED_JOBS']} jobs are already queued; try again later",
                      headers={"Retry-After": "30"})
    try:
        job, created = store.create_job(
            video_id=video["id"], template_video_id=template_id, mode="apply" if template_id else "extract",
            config=job_config, config_key=hashlib.sha256(json.dumps(job_config, sort_keys=True).encode()).hexdigest(),
            webhook_url=webhook_url, idempotency=idem, base_url=base_url)
    except DuplicateJob as exc:
        raise Refused("JOB_ALREADY_PROCESSING", 409, "A job for this video is already in progress",
                      f"job {exc.job_id} has the same video_id, template_video_id and config") from exc
    except IdempotencyConflict as exc:
        raise Refused("IDEMPOTENCY_KEY_REUSED", 409, "Idempotency-Key reused with a different body",
                      f"key {idempotency_key!r} was first used with another request body") from exc
    if created and services.runner is not None:
        services.runner.notify()
    return job


def cancel_job(services, job_id: str) -> dict:
    """Cancel a queued or processing job (409 JOB_NOT_CANCELLABLE once terminal); returns its row."""
    store = services.store
    job_or_refuse(store, job_id)
    job = store.request_cancel(job_id)
    if job is None:
        current = store.get_job(job_id)
        raise Refused("JOB_NOT_CANCELLABLE", 409, "The job can no longer be cancelled",
                      f"job status is {current['status'] if current else 'unknown'}")
    if services.runner is not None:
        services.runner.job_cancelled(job)
    return job
