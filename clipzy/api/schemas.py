"""Marshmallow schemas for requests, responses and both envelopes (documented in OpenAPI)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import RAISE, fields, validate

from .. import engine  # the engine's public face: stage names, the Style DNA schema, config vocabulary
from ..store import JobStatus

STATUSES = tuple(s.value for s in JobStatus)
_DEFAULTS = engine.DEFAULT_CONFIG


class StrictSchema(ma.Schema):
    class Meta:
        unknown = RAISE
        ordered = True


# -- envelopes ----------------------------------------------------------------


class ErrorObjectSchema(ma.Schema):
    detail = fields.String(required=True, metadata={"description": "Technical details"})
    code = fields.String(required=True, metadata={"description": "Machine-readable error code (API.md table)"})
    fields = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={"description": "Validation messages per field"})


class ErrorEnvelopeSchema(ma.Schema):
    success = fields.Boolean(required=True, metadata={"example": False})
    message = fields.String(required=True)
    error = fields.Nested(ErrorObjectSchema, required=True)


class SuccessEnvelopeBase(ma.Schema):
    success = fields.Boolean(required=True, metadata={"example": True})
    message = fields.String(required=True)


# -- videos -------------------------------------------------------------------


class VideoMetadataSchema(ma.Schema):
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    duration_seconds = fields.Float(required=True)
    frame_rate = fields.Float(required=True)
    codec = fields.String(required=True)
    bitrate_kbps = fields.Integer(allow_none=True, required=True)
    format = fields.String(required=True)
    has_audio = fields.Boolean(required=True)
    audio_codec = fields.String(allow_none=True, required=True)
    audio_sample_rate = fields.Integer(allow_none=True, required=True)
    rotation = fields.Integer(required=True, validate=validate.OneOf([0, 90, 180, 270]))


class VideoSchema(ma.Schema):
    video_id = fields.String(required=True, metadata={"pattern": "^vid_[0-9a-f]{16}$"})
    filename = fields.String(required=True)
    file_size_bytes = fields.Integer(required=True)
    metadata = fields.Nested(VideoMetadataSchema, required=True)
    uploaded_at = fields.String(required=True, metadata={"format": "date-time"})
    storage_url = fields.String(required=True)
    template_video_id = fields.String(allow_none=True, required=True)


class UploadSchema(StrictSchema):
    """The multipart/form-data body of an upload (``file`` is checked by the view: MISSING_FIELD)."""

    file = fields.Raw(metadata={"type": "string", "format": "binary", "description": "The video file (mp4/mov/avi/mkv/webm)"})
    template_video_id = fields.String(load_default=None, validate=validate.Length(max=64))
    webhook_url = fields.String(load_default=None, validate=validate.Length(max=2048))


# -- jobs ---------------------------------------------------------------------


class JobConfigSchema(StrictSchema):
    """The apply config; choices and defaults come from the engine (one home)."""

    quality = fields.String(validate=validate.OneOf(list(engine.QUALITY)), load_default=_DEFAULTS["quality"])
    aspect_ratio = fields.String(validate=validate.OneOf(list(engine.OUTPUT_ASPECTS)),
                                 load_default=_DEFAULTS["aspect_ratio"])
    resolution = fields.Integer(validate=validate.Range(*engine.RESOLUTION_RANGE), allow_none=True,
                                load_default=_DEFAULTS["resolution"],
                                metadata={"description": "Output short side in pixels; null = footage short side capped at 1080"})
    duration_seconds = fields.Float(validate=validate.Range(min=0, min_inclusive=False, max=engine.MAX_DURATION_S),
                                    allow_none=True, load_default=_DEFAULTS["duration_seconds"],
                                    metadata={"description": "Output length; null = template duration capped by usable footage"})
    audio_source = fields.String(validate=validate.OneOf(list(engine.AUDIO_SOURCES)), load_default=_DEFAULTS["audio_source"])
    color_strength = fields.Float(validate=validate.Range(0.0, 1.0), load_default=_DEFAULTS["color_strength"])
    transitions = fields.Boolean(load_default=_DEFAULTS["transitions"])
    beat_sync = fields.Boolean(load_default=_DEFAULTS["beat_sync"])
    footage_order = fields.String(validate=validate.OneOf(list(engine.FOOTAGE_ORDERS)), load_default=_DEFAULTS["footage_order"],
                                  metadata={"description": "keep: the clips in the given order; any: the order that fits best"})
    music_start_seconds = fields.Float(validate=validate.Range(min=0), allow_none=True,
                                       load_default=_DEFAULTS["music_start_seconds"],
                                       metadata={"description": "where in the song the edit starts; null: the engine picks "
                                                                "the downbeat that opens the most energetic stretch"})


class JobCreateSchema(StrictSchema):
    video_id = fields.String(validate=validate.Length(max=64),
                             metadata={"description": "The footage (the first clip); may be left out with footage_video_ids"})
    footage_video_ids = fields.List(fields.String(validate=validate.Length(max=64)), validate=validate.Length(1, 50),
                                    metadata={"description": "v1.1: the footage clips in the user's order"})
    style_id = fields.String(validate=validate.Length(max=64), allow_none=True,
                             metadata={"description": "v1.1: apply a saved style (null: none, as the Job shows it)"})
    music_audio_id = fields.String(validate=validate.Length(max=64), allow_none=True,
                                   metadata={"description": "v1.1: the song to cut to (null: none)"})
    template_video_id = fields.String(allow_none=True, validate=validate.Length(max=64),
                                      metadata={"description": "Absent: the upload's template; null: extract-only"})
    config = fields.Nested(JobConfigSchema, load_default=lambda: JobConfigSchema().load({}))
    webhook_url = fields.String(allow_none=True, validate=validate.Length(max=2048))


class JobErrorSchema(ma.Schema):
    code = fields.String(required=True)
    stage = fields.String(allow_none=True, required=True)
    message = fields.String(required=True)


class JobSchema(ma.Schema):
    job_id = fields.String(required=True, metadata={"pattern": "^job_[0-9a-f]{16}$"})
    video_id = fields.String(required=True)
    template_video_id = fields.String(allow_none=True, required=True)
    footage_video_ids = fields.List(fields.String(), required=True)
    style_id = fields.String(allow_none=True, required=True)
    music_audio_id = fields.String(allow_none=True, required=True)
    mode = fields.String(required=True, validate=validate.OneOf(["extract", "apply"]))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    progress_percent = fields.Integer(required=True, validate=validate.Range(0, 100))
    current_stage = fields.String(allow_none=True, required=True, validate=validate.OneOf(engine.STAGE_NAMES))
    config = fields.Dict(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    started_at = fields.String(allow_none=True, required=True)
    completed_at = fields.String(allow_none=True, required=True)
    error = fields.Nested(JobErrorSchema, allow_none=True, required=True)


class ArtifactsSchema(ma.Schema):
    """Download URL of each artifact a job has (API.md; the timelines and ``project``: v1.1)."""

    output = fields.String()
    style_dna = fields.String()
    lut = fields.String()
    edit_plan = fields.String()
    timeline_otio = fields.String()
    timeline_fcpxml = fields.String()
    timeline_xml = fields.String()
    timeline_edl = fields.String()
    timeline_mlt = fields.String()
    project = fields.String()


class JobResultSchema(JobSchema):
    style_json = fields.Nested(engine.StyleDnaSchema, required=True)
    output_video_url = fields.String(allow_none=True, required=True)
    artifacts = fields.Nested(ArtifactsSchema, required=True)
    processing_time_seconds = fields.Float(allow_none=True, required=True)
    output_metadata = fields.Nested(VideoMetadataSchema, allow_none=True, required=True)


class JobListArgsSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000_000))
    page_size = fields.Integer(load_default=10, validate=validate.Range(1, 100))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    video_id = fields.String(load_default=None, validate=validate.Length(max=64))


class JobListSchema(ma.Schema):
    jobs = fields.List(fields.Nested(JobSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total_pages = fields.Integer(required=True)


# -- songs --------------------------------------------------------------------


class AudioMetadataSchema(ma.Schema):
    duration_seconds = fields.Float(required=True)
    sample_rate = fields.Integer(required=True)
    channels = fields.Integer(required=True)
    codec = fields.String(required=True)
    format = fields.String(required=True)
    bitrate_kbps = fields.Integer(allow_none=True, required=True)


class AudioSchema(ma.Schema):
    audio_id = fields.String(required=True, metadata={"pattern": "^aud_[0-9a-f]{16}$"})
    filename = fields.String(required=True)
    file_size_bytes = fields.Integer(required=True)
    metadata = fields.Nested(AudioMetadataSchema, required=True)
    uploaded_at = fields.String(required=True, metadata={"format": "date-time"})
    storage_url = fields.String(required=True)


class AudioUploadSchema(StrictSchema):
    """The multipart/form-data body of a song upload (``file`` is checked by the view: MISSING_FIELD)."""

    file = fields.Raw(metadata={"type": "string", "format": "binary",
                                "description": "The song (mp3, m4a/aac, wav, flac, ogg/opus, or a video)"})


# -- saved styles -----------------------------------------------------------


class StyleCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    job_id = fields.String(validate=validate.Length(max=64), metadata={"description": "save this completed job's Style DNA"})
    style_json = fields.Nested(engine.StyleDnaSchema, metadata={"description": "or save this Style DNA"})


class StyleSummarySchema(ma.Schema):
    cut_frequency = fields.Float(allow_none=True, required=True)
    tempo_bpm = fields.Float(allow_none=True, required=True)
    primary_transition = fields.Dict(allow_none=True, required=True)
    aspect_ratio = fields.String(allow_none=True, required=True)
    palette = fields.List(fields.String(), required=True)


class StyleBriefSchema(ma.Schema):
    style_id = fields.String(required=True, metadata={"pattern": "^sty_[0-9a-f]{16}$"})
    name = fields.String(required=True)
    source_job_id = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True)
    summary = fields.Nested(StyleSummarySchema, required=True)


class StyleSchema(StyleBriefSchema):
    style_json = fields.Nested(engine.StyleDnaSchema, required=True)


class StyleListArgsSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000_000))
    page_size = fields.Integer(load_default=10, validate=validate.Range(1, 100))


class StyleListSchema(ma.Schema):
    styles = fields.List(fields.Nested(StyleBriefSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total_pages = fields.Integer(required=True)


# -- health -------------------------------------------------------------------


class StorageSchema(ma.Schema):
    path = fields.String(required=True)
    free_bytes = fields.Integer(required=True)


class WorkersSchema(ma.Schema):
    max = fields.Integer(required=True)
    busy = fields.Integer(required=True)
    queued = fields.Integer(required=True)


class ModelStatusSchema(ma.Schema):
    available = fields.Boolean(required=True)
    file = fields.String()
    source = fields.String()
    fallback = fields.String(required=True)


class HealthSchema(ma.Schema):
    status = fields.String(required=True)
    version = fields.String(required=True)
    uptime_seconds = fields.Float(required=True)
    database = fields.String(required=True)
    storage = fields.Nested(StorageSchema, required=True)
    workers = fields.Nested(WorkersSchema, required=True)
    onnx_providers = fields.List(fields.String(), required=True)
    models = fields.Dict(keys=fields.String(), values=fields.Nested(ModelStatusSchema), required=True)
