"""POST /api/v1/videos/upload and GET /api/v1/videos/{video_id}."""
from __future__ import annotations

import os

from flask import current_app, g
from flask.views import MethodView
from marshmallow import ValidationError

from ..engine.errors import InvalidMediaError
from ..engine.media import FORMATS, probe
from ..store import new_id
from .base import Blueprint, say
from .errors import ApiError
from .schemas import UploadSchema, VideoSchema, check_webhook_url

blp = Blueprint("videos", __name__, url_prefix="/api/v1/videos", description="Upload and inspect videos")

EXTENSIONS = {"mp4", "mov", "avi", "mkv", "webm"}


def video_view(row: dict) -> dict:
    """A videos row as API.md's video object."""
    storage = current_app.extensions["clipzy"].storage
    return {
        "video_id": row["id"],
        "filename": row["filename"],
        "file_size_bytes": row["file_size_bytes"],
        "metadata": row["metadata"],
        "uploaded_at": row["uploaded_at"],
        "storage_url": storage.video_path(row["storage_name"]).resolve().as_uri(),
        "template_video_id": row["template_video_id"],
    }


def get_video_or_404(video_id: str, *, field: str = "video_id") -> dict:
    row = current_app.extensions["clipzy"].store.get_video(video_id)
    if row is None:
        raise ApiError("VIDEO_NOT_FOUND", 404, "Video not found", f"no video with {field} {video_id!r}")
    return row


def _check_limits(meta: dict) -> None:
    cfg = current_app.config
    if meta["duration_seconds"] > float(cfg["MAX_VIDEO_DURATION_SECONDS"]):
        raise ApiError("MEDIA_LIMIT_EXCEEDED", 422, "Video is too long",
                       f"duration {meta['duration_seconds']:.1f} s exceeds MAX_VIDEO_DURATION_SECONDS={cfg['MAX_VIDEO_DURATION_SECONDS']:g}")
    pixels = meta["width"] * meta["height"]
    if pixels > int(cfg["MAX_VIDEO_PIXELS"]):
        raise ApiError("MEDIA_LIMIT_EXCEEDED", 422, "Video frame is too large",
                       f"{meta['width']}x{meta['height']} = {pixels} pixels exceeds MAX_VIDEO_PIXELS={cfg['MAX_VIDEO_PIXELS']}")


@blp.route("/upload")
class VideoUpload(MethodView):
    @blp.arguments(UploadSchema, location="multipart")
    @blp.response(200, VideoSchema)
    @blp.fails(413, "FILE_TOO_LARGE")
    @blp.fails(422, "MISSING_FIELD, UNSUPPORTED_FORMAT, MEDIA_LIMIT_EXCEEDED, VALIDATION_ERROR")
    @blp.fails(404, "VIDEO_NOT_FOUND (template_video_id)")
    @blp.fails(503, "SERVICE_UNAVAILABLE (storage or database full)")
    def post(self, form):
        """Upload a video (multipart/form-data, field `file`); it is streamed to disk and probed."""
        from .uploads import sanitise_filename

        services = current_app.extensions["clipzy"]
        if g.get("upload_storage_full"):
            raise ApiError("SERVICE_UNAVAILABLE", 503, "Storage is full",
                           "storage is full: no space left on device for the upload; nothing was kept",
                           headers={"Retry-After": "60"})
        upload = form.get("file")
        if upload is None or not hasattr(upload, "stream"):
            raise ApiError("MISSING_FIELD", 422, "No file uploaded", "the multipart field 'file' is required",
                           {"file": ["Missing data for required field."]})
        filename = sanitise_filename(upload.filename)
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if ext not in EXTENSIONS:
            raise ApiError("UNSUPPORTED_FORMAT", 422, "Unsupported file type",
                           f"extension {ext or '(none)'!r} is not one of {sorted(EXTENSIONS)}")
        if form["webhook_url"]:
            try:
                check_webhook_url(form["webhook_url"], allow_private=current_app.config["CLIPZY_WEBHOOK_ALLOW_PRIVATE"])
            except ValidationError as exc:
                raise ApiError("VALIDATION_ERROR", 422, "Validation failed", f"webhook_url: {exc.messages[0]}",
                               {"webhook_url": exc.messages}) from exc
        if form["template_video_id"]:
            get_video_or_404(form["template_video_id"], field="template_video_id")

        stream = upload.stream
        temp_path = getattr(stream, "name", None)
        if not isinstance(temp_path, str) or not os.path.isfile(temp_path):
            raise ApiError("INTERNAL_ERROR", 500, "Upload could not be stored", "the upload was not streamed to disk")
        stream.flush()
        size = os.path.getsize(temp_path)
        limit = int(float(current_app.config["MAX_FILE_SIZE_MB"]) * 1024 * 1024)
        if size > limit:
            raise ApiError("FILE_TOO_LARGE", 413, "The upload is larger than the limit",
                           f"{size} bytes exceeds MAX_FILE_SIZE_MB={current_app.config['MAX_FILE_SIZE_MB']:g}")
        if size == 0:
            raise ApiError("UNSUPPORTED_FORMAT", 422, "Unsupported file", "the file is empty")
        try:
            info = probe(temp_path)
        except InvalidMediaError as exc:
            raise ApiError("UNSUPPORTED_FORMAT", 422, "Unsupported file", f"not a decodable video: {exc}") from exc
        meta = info.metadata()
        _check_limits(meta)
        if info.media_duration_seconds > float(current_app.config["MAX_VIDEO_DURATION_SECONDS"]):  # e.g. hours of audio
            raise ApiError("MEDIA_LIMIT_EXCEEDED", 422, "The media is too long",
                           f"a stream lasts {info.media_duration_seconds:.1f} s, over MAX_VIDEO_DURATION_SECONDS="
                           f"{current_app.config['MAX_VIDEO_DURATION_SECONDS']:g}")
        fmt = meta["format"] if meta["format"] in FORMATS else ext

        video_id = new_id("vid")
        storage_name = f"{video_id}.{fmt}"
        final = services.storage.video_path(storage_name)
        stream.close()
        os.replace(temp_path, final)
        try:
            row = services.store.insert_video(video_id=video_id, filename=filename, file_size_bytes=size, metadata=meta,
                                              storage_name=storage_name, template_video_id=form["template_video_id"],
                                              webhook_url=form["webhook_url"])
        except Exception:
            final.unlink(missing_ok=True)
            raise
        say("Video uploaded successfully")
        return video_view(row)


@blp.route("/<string:video_id>")
class VideoById(MethodView):
    @blp.response(200, VideoSchema)
    @blp.fails(404, "VIDEO_NOT_FOUND")
    def get(self, video_id: str):
        """A stored video and its probed metadata."""
        say("Video retrieved")
        return video_view(get_video_or_404(video_id))
