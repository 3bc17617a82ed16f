"""POST /api/v1/videos/upload and GET /api/v1/videos/{video_id}."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..jobs import intake
from .base import Blueprint, require_file_part, say, streamed_upload
from .schemas import UploadSchema, VideoSchema

blp = Blueprint("videos", __name__, url_prefix="/api/v1/videos", description="Upload and inspect videos")


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


@blp.before_request
def file_part_first():
    """API.md: an upload without a ``file`` part is MISSING_FIELD, whatever else it carries
    (unknown fields included: a file sent under another name is a missing ``file``)."""
    require_file_part("videos.VideoUpload")


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
        upload = form.get("file")
        temp_path = streamed_upload(upload)
        row = intake.store_video(current_app.extensions["clipzy"], current_app.config, temp_path=temp_path,
                                 filename=upload.filename, template_video_id=form["template_video_id"],
                                 webhook_url=form["webhook_url"])
        say("Video uploaded successfully")
        return video_view(row)


@blp.route("/<string:video_id>")
class VideoById(MethodView):
    @blp.response(200, VideoSchema)
    @blp.fails(404, "VIDEO_NOT_FOUND")
    def get(self, video_id: str):
        """A stored video and its probed metadata."""
        say("Video retrieved")
        return video_view(intake.video_or_refuse(current_app.extensions["clipzy"].store, video_id))
