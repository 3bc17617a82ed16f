"""The Job and result objects of API.md, built from store rows (shared by the API and webhooks)."""
from __future__ import annotations

import json
from typing import Callable

from ..storage import Storage


def job_payload(job: dict) -> dict:
    """A jobs row as API.md's Job object."""
    return {
        "job_id": job["id"],
        "video_id": job["video_id"],
        "template_video_id": job["template_video_id"],
        "mode": job["mode"],
        "status": job["status"],
        "progress_percent": int(job["progress"]),
        "current_stage": job["current_stage"] if job["status"] == "processing" else None,
        "config": job["config"],
        "created_at": job["created_at"],
        "updated_at": job["updated_at"],
        "started_at": job["started_at"],
        "completed_at": job["completed_at"],
        "error": job["error"],
    }


def artifact_path_url(job_id: str, name: str) -> str:
    """The API path of an artifact download."""
    return f"/api/v1/jobs/{job_id}/output" if name == "output" else f"/api/v1/jobs/{job_id}/artifacts/{name}"


def result_payload(job: dict, storage: Storage, url_for: Callable[[str], str]) -> dict:
    """The result object of a completed job; ``url_for(path)`` makes absolute (signed) URLs."""
    job_id = job["id"]
    dna_path = storage.artifact_path(job_id, "style_dna")
    style = json.loads(dna_path.read_text()) if dna_path.is_file() else None
    artifacts = {name: url_for(artifact_path_url(job_id, name)) for name in storage.existing_artifacts(job_id)}
    result = job["result"] or {}
    data = job_payload(job)
    data.update({
        "style_json": style,
        "output_video_url": artifacts.get("output"),
        "artifacts": artifacts,
        "processing_time_seconds": result.get("processing_time_seconds"),
        "output_metadata": result.get("output_metadata"),
    })
    return data
