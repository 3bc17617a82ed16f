"""Intake: what the service does with an upload or a job request before it runs anything.

The HTTP views validate the request's shape and call one function here:

* :func:`store_video` checks a streamed upload (storage, name, size, probe, limits),
  moves it into place and records it — fully stored and recorded, or not at all;
* :func:`store_audio` does the same for a song (any container with a decodable audio
  stream: mp3, m4a/aac, wav, flac, ogg/opus, or a video whose first audio track is the song);
* :func:`save_style` keeps a Style DNA under a name (a completed job's, or one a client gives);
* :func:`create_job` resolves a job request (its clips, template or saved style and song,
  the upload's template and webhook when the request leaves them out, the webhook check,
  the combinations API.md refuses, the key of its inputs, idempotency, the queue limit) and
  queues the job.

Both raise :class:`Refused` with the API.md code and HTTP status a client gets.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..engine.errors import InvalidMediaError
from ..engine.media import FORMATS, probe, probe_audio
from ..store import DuplicateJob, IdempotencyConflict, JobStatus, new_id
from .webhooks import check_webhook_url

#: Upload extensions API.md accepts (the stored name takes the probed container's).
VIDEO_EXTENSIONS = ("mp4", "mov", "avi", "mkv", "webm")
#: Song extensions: audio files, and videos whose first audio track is the song.
AUDIO_EXTENSIONS = ("mp3", "m4a", "aac", "wav", "flac", "ogg", "opus", "oga", *VIDEO_EXTENSIONS)
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


def _row_or_refuse(row: dict | None, what: str, field: str, key: str) -> dict:
    """``row``, or 404 ``<WHAT>_NOT_FOUND`` saying which ``field`` named the missing ``key``."""
    if row is None:
        raise Refused(f"{what.upper()}_NOT_FOUND", 404, f"{what.capitalize()} not found",
                      f"no {what} with {field} {key!r}")
    return row


def video_or_refuse(store, video_id: str, *, field: str = "video_id") -> dict:
    """The videos row of ``video_id``, or 404 VIDEO_NOT_FOUND naming ``field``."""
    return _row_or_refuse(store.get_video(video_id), "video", field, video_id)


def job_or_refuse(store, job_id: str) -> dict:
    """The jobs row of ``job_id``, or 404 JOB_NOT_FOUND."""
    return _row_or_refuse(store.get_job(job_id), "job", "job_id", job_id)


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


def _checked_name(filename: str | None, extensions: tuple[str, ...]) -> tuple[str, str]:
    """(sanitised name, extension) of an upload, or UNSUPPORTED_FORMAT for another extension."""
    name = sanitise_filename(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in extensions:
        raise Refused("UNSUPPORTED_FORMAT", 422, "Unsupported file type",
                      f"extension {ext or '(none)'!r} is not one of {sorted(extensions)}")
    return name, ext


def _checked_size(config: dict, temp_path: str) -> int:
    """The upload's size in bytes, or FILE_TOO_LARGE (over MAX_FILE_SIZE_MB) / UNSUPPORTED_FORMAT (empty)."""
    size = os.path.getsize(temp_path)
    limit = int(float(config["MAX_FILE_SIZE_MB"]) * 1024 * 1024)
    if size > limit:
        raise Refused("FILE_TOO_LARGE", 413, "The upload is larger than the limit",
                      f"{size} bytes exceeds MAX_FILE_SIZE_MB={config['MAX_FILE_SIZE_MB']:g}")
    if size == 0:
        raise Refused("UNSUPPORTED_FORMAT", 422, "Unsupported file", "the file is empty")
    return size


def _moved_and_recorded(services, temp_path: str, storage_name: str, insert) -> dict:
    """Move the upload into place and record it; a failed insert removes the moved file."""
    final = services.storage.video_path(storage_name)
    os.replace(temp_path, final)
    try:
        return insert()
    except Exception:
        final.unlink(missing_ok=True)
        raise


def store_video(services, config: dict, *, temp_path: str, filename: str | None, template_video_id: str | None,
                webhook_url: str | None) -> dict:
    """Check, probe, move into place and record a video upload streamed to ``temp_path``.

    Returns the videos row. Nothing is kept when it raises (the caller's request teardown
    removes ``temp_path``); a failed database insert removes the moved file.
    """
    name, ext = _checked_name(filename, VIDEO_EXTENSIONS)
    checked_webhook_url(webhook_url, config)
    if template_video_id:
        video_or_refuse(services.store, template_video_id, field="template_video_id")
    size = _checked_size(config, temp_path)
    try:
        info = probe(temp_path)
    except InvalidMediaError as exc:
        raise Refused("UNSUPPORTED_FORMAT", 422, "Unsupported file", f"not a decodable video: {exc}") from exc
    meta = info.metadata()
    _check_limits(meta, info.media_duration_seconds, config)
    video_id = new_id("vid")
    storage_name = f"{video_id}.{meta['format'] if meta['format'] in FORMATS else ext}"
    return _moved_and_recorded(services, temp_path, storage_name, lambda: services.store.insert_video(
        video_id=video_id, filename=name, file_size_bytes=size, metadata=meta, storage_name=storage_name,
        template_video_id=template_video_id, webhook_url=webhook_url))


def store_audio(services, config: dict, *, temp_path: str, filename: str | None) -> dict:
    """Check, probe, move into place and record a song upload; returns the audio row."""
    name, _ = _checked_name(filename, AUDIO_EXTENSIONS)
    size = _checked_size(config, temp_path)
    try:
        info = probe_audio(temp_path)
    except InvalidMediaError as exc:
        raise Refused("UNSUPPORTED_FORMAT", 422, "Unsupported file", f"not a decodable audio stream: {exc}") from exc
    limit_s = float(config["MAX_VIDEO_DURATION_SECONDS"])
    if info.duration_seconds > limit_s:
        raise Refused("MEDIA_LIMIT_EXCEEDED", 422, "The song is too long",
                      f"duration {info.duration_seconds:.1f} s exceeds MAX_VIDEO_DURATION_SECONDS={limit_s:g}")
    audio_id = new_id("aud")
    storage_name = f"{audio_id}.{info.format}"  # the probed format, never the upload's extension
    return _moved_and_recorded(services, temp_path, storage_name, lambda: services.store.insert_audio(
        audio_id=audio_id, filename=name, file_size_bytes=size, metadata=info.metadata(), storage_name=storage_name))


def audio_or_refuse(store, audio_id: str, *, field: str = "audio_id") -> dict:
    """The audio row of ``audio_id``, or 404 AUDIO_NOT_FOUND naming ``field``."""
    return _row_or_refuse(store.get_audio(audio_id), "audio", field, audio_id)


def style_or_refuse(store, style_id: str) -> dict:
    """The saved style ``style_id``, or 404 STYLE_NOT_FOUND."""
    return _row_or_refuse(store.get_style(style_id), "style", "style_id", style_id)


def save_style(services, *, name: str, job_id: str | None, style_json: dict | None) -> dict:
    """Keep a Style DNA under ``name``: a completed job's (an extract job: its video's; an apply
    job: its template's) or the ``style_json`` given (already validated by the API schema)."""
    if (job_id is None) == (style_json is None):
        raise Refused("VALIDATION_ERROR", 422, "Validation failed", "give exactly one of job_id and style_json",
                      {"job_id": ["Exactly one of job_id and style_json is required."]})
    if job_id is not None:
        job = job_or_refuse(services.store, job_id)
        if job["status"] != JobStatus.COMPLETED:
            raise Refused("RESULT_NOT_READY", 409, "The job has no result yet", f"job status is {job['status']}")
        path = services.storage.artifact_path(job_id, "style_dna")
        if not path.is_file():
            raise Refused("RESULT_NOT_READY", 409, "The job has no Style DNA", f"job {job_id} kept no style_dna artifact")
        style_json = json.loads(path.read_text())
    return services.store.insert_style(name=name, style_json=style_json, source_job_id=job_id)


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


def _invalid(field: str, message: str) -> Refused:
    return Refused("VALIDATION_ERROR", 422, "Validation failed", f"{field}: {message}", {field: [message]})


@dataclass(frozen=True)
class JobInputs:
    """What a job request resolves to: its clips (first = ``video_id``), template or saved
    style, song and webhook."""

    clips: list[dict]
    template_id: str | None
    style: dict | None
    music_id: str | None
    webhook_url: str | None

    @property
    def mode(self) -> str:
        return "apply" if self.template_id or self.style else "extract"


def _clips(store, body: dict) -> list[dict]:
    """The job's footage rows in order (API.md: ``footage_video_ids``, or ``video_id`` alone)."""
    ids = body.get("footage_video_ids")
    if ids is None:
        if not body.get("video_id"):
            raise _invalid("video_id", "give video_id or footage_video_ids")
        return [video_or_refuse(store, body["video_id"])]
    if "video_id" in body and body["video_id"] != ids[0]:
        raise _invalid("video_id", "must be the first element of footage_video_ids")
    repeated = sorted({v for v in ids if ids.count(v) > 1})
    if repeated:
        raise _invalid("footage_video_ids", f"repeated id {repeated[0]}")
    return [video_or_refuse(store, v, field=f"footage_video_ids[{i}]") for i, v in enumerate(ids)]


def _inputs(store, config: dict, body: dict) -> JobInputs:
    """Resolve and check a job request's inputs (the combinations API.md refuses answer 422)."""
    clips = _clips(store, body)
    first = clips[0]
    style_id = body.get("style_id")
    if style_id is not None and body.get("template_video_id") is not None:
        raise _invalid("style_id", "give style_id or template_video_id, not both")
    style = style_or_refuse(store, style_id) if style_id is not None else None
    if "template_video_id" in body or style is not None:
        template_id = body.get("template_video_id")
    else:
        template_id = first["template_video_id"]  # the template given at upload
    if template_id is not None:
        video_or_refuse(store, template_id, field="template_video_id")
    if "footage_video_ids" in body and template_id is None and style is None:
        raise _invalid("footage_video_ids", "footage clips need a template_video_id or a style_id (an apply job)")
    music_id = body.get("music_audio_id")
    if music_id is not None:
        audio_or_refuse(store, music_id, field="music_audio_id")
    source = body["config"].get("audio_source")
    if style is not None and source == "template":
        raise _invalid("config.audio_source", "a saved style has no template soundtrack")
    if source == "music" and music_id is None:
        raise _invalid("config.audio_source", "'music' needs a music_audio_id")
    webhook_url = checked_webhook_url(body["webhook_url"] if "webhook_url" in body else first["webhook_url"], config)
    return JobInputs(clips, template_id, style, music_id, webhook_url)


def _inputs_key(job_config: dict, inputs: JobInputs) -> str:
    """The key that makes two active jobs the same (with ``video_id`` and the template/style):
    the effective config, and the clips after the first and the song when there are any."""
    keyed: dict[str, Any] = job_config
    if len(inputs.clips) > 1 or inputs.music_id:
        keyed = {"config": job_config, "footage_video_ids": [c["id"] for c in inputs.clips], "music": inputs.music_id}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()


def _key_reused(key: str | None) -> Refused:
    return Refused("IDEMPOTENCY_KEY_REUSED", 409, "Idempotency-Key reused with a different body",
                   f"key {key!r} was first used with another request body")


def create_job(services, config: dict, body: dict, *, raw_body: Any, idempotency_key: str | None,
               base_url: str | None) -> dict:
    """Queue the job ``body`` asks for (validated by the API schema) and return its row.

    A live ``idempotency_key`` sent again with the same body returns its job before the
    inputs are resolved again (a style deleted since does not turn a retry into a 404).
    ``raw_body``: the request's JSON as sent (the idempotency key's fingerprint);
    ``base_url``: the base of absolute URLs for its webhook payload.
    """
    store = services.store
    idem = None
    if idempotency_key:
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_CHARS:
            raise Refused("VALIDATION_ERROR", 422, "Validation failed",
                          f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters",
                          {"Idempotency-Key": [f"Longer than maximum length {MAX_IDEMPOTENCY_KEY_CHARS}."]})
        idem = (idempotency_key, _key_of(raw_body), float(config["CLIPZY_IDEMPOTENCY_TTL_SECONDS"]))
        try:
            replayed = store.idempotent_job(*idem)
        except IdempotencyConflict as exc:
            raise _key_reused(idempotency_key) from exc
        if replayed is not None:  # the same request again: its job, whatever changed since (a deleted style)
            return replayed
    inputs = _inputs(store, config, body)
    job_config = body["config"]
    if store.count_jobs(JobStatus.QUEUED) >= int(config["CLIPZY_MAX_QUEUED_JOBS"]):
        raise Refused("SERVICE_UNAVAILABLE", 503, "The job queue is full",
                      f"{config['CLIPZY_MAX_QUEUED_JOBS']} jobs are already queued; try again later",
                      headers={"Retry-After": "30"})
    style = inputs.style
    try:
        job, created = store.create_job(
            video_id=inputs.clips[0]["id"], template_video_id=inputs.template_id, mode=inputs.mode, config=job_config,
            config_key=_inputs_key(job_config, inputs), webhook_url=inputs.webhook_url, idempotency=idem,
            base_url=base_url, footage_video_ids=[c["id"] for c in inputs.clips],
            style_id=style["id"] if style else None, style_json=style["style_json"] if style else None,
            music_audio_id=inputs.music_id)
    except DuplicateJob as exc:
        raise Refused("JOB_ALREADY_PROCESSING", 409, "A job for this video is already in progress",
                      f"job {exc.job_id} has the same video_id, template_video_id and config") from exc
    except IdempotencyConflict as exc:
        raise _key_reused(idempotency_key) from exc
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
