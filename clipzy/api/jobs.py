"""Jobs: create, list, inspect, cancel, result and artifact downloads."""
from __future__ import annotations

import math

from flask import current_app, request, send_file
from flask.views import MethodView

from ..jobs import intake
from ..jobs.payloads import job_payload, result_payload
from ..storage import ARTIFACTS
from ..store import JobStatus
from .base import Blueprint, require_json_object, say
from .errors import ApiError
from .schemas import JobCreateSchema, JobListArgsSchema, JobListSchema, JobResultSchema, JobSchema
from .security import public_base, public_url

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Style extraction and application jobs")

#: Largest JSON request body (bytes); a job request is a few hundred bytes.
JSON_BODY_LIMIT_BYTES = 1024 * 1024

_BINARY = {"schema": {"type": "string", "format": "binary"}}
#: What the downloads really send (ARTIFACTS' mimetypes): the MP4, and the JSON / .cube text artifacts.
OUTPUT_RESPONSE = {"description": "The rendered MP4 (HTTP Range supported)", "content": {"video/mp4": _BINARY}}
ARTIFACT_RESPONSE = {"description": "The artifact (HTTP Range supported): output → video/mp4, style_dna and"
                                    " edit_plan → application/json, lut → text/plain (.cube)",
                     "content": {"video/mp4": _BINARY, "application/json": _BINARY, "text/plain": _BINARY}}


def services():
    return current_app.extensions["clipzy"]


def job_view(job: dict) -> dict:
    return job_payload(job)


def result_view(job: dict) -> dict:
    return result_payload(job, services().storage, public_url)


def get_job_or_404(job_id: str) -> dict:
    return intake.job_or_refuse(services().store, job_id)


@blp.before_request
def require_json_body():
    """POST /jobs bodies must be JSON objects of at most 1 MiB (:func:`.base.require_json_object`)."""
    if request.method == "POST" and request.endpoint == "jobs.Jobs":
        require_json_object(JSON_BODY_LIMIT_BYTES)


@blp.route("")
class Jobs(MethodView):
    @blp.arguments(JobCreateSchema)
    @blp.response(200, JobSchema)
    @blp.fails(400, "INVALID_JSON")
    @blp.fails(404, "VIDEO_NOT_FOUND, STYLE_NOT_FOUND, AUDIO_NOT_FOUND")
    @blp.fails(409, "JOB_ALREADY_PROCESSING, IDEMPOTENCY_KEY_REUSED")
    @blp.fails(422, "VALIDATION_ERROR (also a JSON body over 1 MiB)")
    @blp.fails(503, "SERVICE_UNAVAILABLE (queue full, or storage or database full)")
    def post(self, body):
        """Create a job: extract-only without a template, extract-and-apply with a template or a saved style.

        v1.1: several clips (`footage_video_ids`), a saved style (`style_id`) and a song
        (`music_audio_id`); the combinations API.md refuses answer 422 VALIDATION_ERROR.

        Header `Idempotency-Key` (optional): the same key with the same body within 24 h
        returns the same job; with another body → 409 IDEMPOTENCY_KEY_REUSED.
        """
        job = intake.create_job(services(), current_app.config, body, raw_body=request.get_json(silent=True),
                                idempotency_key=request.headers.get("Idempotency-Key"), base_url=public_base())
        say("Job created")
        return job_view(job)

    @blp.arguments(JobListArgsSchema, location="query")
    @blp.response(200, JobListSchema)
    @blp.fails(422, "VALIDATION_ERROR")
    def get(self, args):
        """List jobs, newest first, with pagination and optional status/video filters."""
        page, size = args["page"], args["page_size"]
        jobs, total = services().store.list_jobs(offset=(page - 1) * size, limit=size,
                                                 status=args["status"], video_id=args["video_id"])
        say("Jobs retrieved")
        return {"jobs": [job_view(j) for j in jobs], "total": total, "page": page, "page_size": size,
                "total_pages": math.ceil(total / size) if total else 0}


@blp.route("/<string:job_id>")
class JobById(MethodView):
    @blp.response(200, JobSchema)
    @blp.fails(404, "JOB_NOT_FOUND")
    def get(self, job_id: str):
        """A job's status, progress and current stage."""
        say("Job retrieved")
        return job_view(get_job_or_404(job_id))


@blp.route("/<string:job_id>/result")
class JobResult(MethodView):
    @blp.response(200, JobResultSchema)
    @blp.fails(404, "JOB_NOT_FOUND")
    @blp.fails(409, "RESULT_NOT_READY")
    def get(self, job_id: str):
        """The Style DNA, artifact URLs and output metadata of a completed job."""
        job = get_job_or_404(job_id)
        if job["status"] != JobStatus.COMPLETED:
            raise ApiError("RESULT_NOT_READY", 409, "The job has no result yet", f"job status is {job['status']}")
        say("Job result retrieved")
        return result_view(job)


@blp.route("/<string:job_id>/cancel")
class JobCancel(MethodView):
    @blp.response(200, JobSchema)
    @blp.fails(404, "JOB_NOT_FOUND")
    @blp.fails(409, "JOB_NOT_CANCELLABLE")
    def post(self, job_id: str):
        """Cancel a queued or processing job (a running job stops within about a second)."""
        job = intake.cancel_job(services(), job_id)
        say("Job cancelled")
        return job_view(job)


def _send_artifact(job_id: str, name: str):
    job = get_job_or_404(job_id)
    storage = services().storage
    done = job["status"] == JobStatus.COMPLETED
    if name not in ARTIFACTS or not done:
        raise ApiError("OUTPUT_NOT_AVAILABLE", 404, "Artifact not available",
                       f"job {job_id} has no artifact {name!r}" + ("" if done else f" (status {job['status']})"))
    path = storage.artifact_path(job_id, name)
    if not path.is_file():
        raise ApiError("OUTPUT_NOT_AVAILABLE", 404, "Artifact not available", f"job {job_id} has no artifact {name!r}")
    filename, mimetype = ARTIFACTS[name]
    return send_file(path, mimetype=mimetype, conditional=True, download_name=f"{job_id}-{filename}", max_age=0)


@blp.route("/<string:job_id>/output")
class JobOutput(MethodView):
    @blp.doc(responses={"200": OUTPUT_RESPONSE, "206": OUTPUT_RESPONSE})
    @blp.fails(404, "JOB_NOT_FOUND, OUTPUT_NOT_AVAILABLE")
    def get(self, job_id: str):
        """The rendered MP4 (video/mp4, HTTP Range supported)."""
        return _send_artifact(job_id, "output")


@blp.route("/<string:job_id>/artifacts/<string:name>")
class JobArtifact(MethodView):
    @blp.doc(responses={"200": ARTIFACT_RESPONSE, "206": ARTIFACT_RESPONSE})
    @blp.fails(404, "JOB_NOT_FOUND, OUTPUT_NOT_AVAILABLE")
    def get(self, job_id: str, name: str):
        """An artifact: `output` (MP4), `style_dna` (JSON), `lut` (.cube text), `edit_plan` (JSON)."""
        return _send_artifact(job_id, name)
