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
        "footage_video_ids": list(job["footage_video_ids"]),
        "style_id": job.get("style_id"),
        "music_audio_id": job.get("music_audio_id"),
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


def style_payload(row: dict, *, with_dna: bool = True) -> dict:
    """A styles row as API.md's Style object (``with_dna`` False: the list's brief form)."""
    dna = row["style_json"]
    primary = dna.get("primary_transition")
    palette = [p["hex"] for p in ((dna.get("color_profile") or {}).get("palette") or []) if p.get("hex")]
    out = {"style_id": row["id"], "name": row["name"], "source_job_id": row["source_job_id"],
           "created_at": row["created_at"],
           "summary": {"cut_frequency": dna.get("cut_frequency"), "tempo_bpm": dna.get("tempo_bpm"),
                       "primary_transition": primary, "aspect_ratio": dna.get("aspect_ratio"), "palette": palette}}
    if with_dna:
        out["style_json"] = dna
    return out


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
