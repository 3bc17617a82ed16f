"""POST /api/v1/audio/upload and GET /api/v1/audio/{audio_id} (v1.1: the song to cut to)."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..jobs import intake
from .base import Blueprint, require_file_part, say, streamed_upload
from .schemas import AudioSchema, AudioUploadSchema

blp = Blueprint("audio", __name__, url_prefix="/api/v1/audio", description="Upload and inspect songs")


def audio_view(row: dict) -> dict:
    """An audio row as API.md's audio object."""
    storage = current_app.extensions["clipzy"].storage
    return {"audio_id": row["id"], "filename": row["filename"], "file_size_bytes": row["file_size_bytes"],
            "metadata": row["metadata"], "uploaded_at": row["uploaded_at"],
            "storage_url": storage.video_path(row["storage_name"]).resolve().as_uri()}


@blp.before_request
def file_part_first():
    """MISSING_FIELD wins over unknown fields, as for video uploads."""
    require_file_part("audio.AudioUpload")


@blp.route("/upload")
class AudioUpload(MethodView):
    @blp.arguments(AudioUploadSchema, location="multipart")
    @blp.response(200, AudioSchema)
    @blp.fails(413, "FILE_TOO_LARGE")
    @blp.fails(422, "MISSING_FIELD, UNSUPPORTED_FORMAT (no decodable audio stream), MEDIA_LIMIT_EXCEEDED, VALIDATION_ERROR")
    @blp.fails(503, "SERVICE_UNAVAILABLE (storage or database full)")
    def post(self, form):
        """Upload a song (multipart/form-data, field `file`): streamed to disk and probed; a video's first audio track is accepted."""
        upload = form["file"]
        temp_path = streamed_upload(upload)
        row = intake.store_audio(current_app.extensions["clipzy"], current_app.config, temp_path=temp_path,
                                 filename=upload.filename)
        say("Audio uploaded successfully")
        return audio_view(row)


@blp.route("/<string:audio_id>")
class AudioById(MethodView):
    @blp.response(200, AudioSchema)
    @blp.fails(404, "AUDIO_NOT_FOUND")
    def get(self, audio_id: str):
        """A stored song and its probed metadata."""
        say("Audio retrieved")
        return audio_view(intake.audio_or_refuse(current_app.extensions["clipzy"].store, audio_id))
