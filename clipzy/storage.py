"""Files under the instance folder. Storage paths derive from ids only, never from user names.

Layout::

    instance/
      clipzy.sqlite3        the database (store.py)
      uploads/<video_id>.<ext>
      jobs/<job_id>/        artifacts: output.mp4, style_dna.json, grade.cube, edit_plan.json
      tmp/                  uploads and renders in progress (cleaned on start)
      models/               prepared learned models (engine/models/)
      cache/numba/          librosa's numba cache, paid once

A file becomes visible only by ``os.replace`` from ``tmp/`` (or a ``.part`` name) once
complete, so a crash never leaves a half file where the API can see it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ARTIFACTS = {
    "output": ("output.mp4", "video/mp4"),
    "style_dna": ("style_dna.json", "application/json"),
    "lut": ("grade.cube", "text/plain; charset=utf-8"),
    "edit_plan": ("edit_plan.json", "application/json"),
    # v1.1: the editor timelines (engine.editing.timelines) and the project bundle holding them
    "timeline_otio": ("timeline.otio", "application/json"),
    "timeline_fcpxml": ("timeline.fcpxml", "application/xml"),
    "timeline_xml": ("timeline.xml", "application/xml"),
    "timeline_edl": ("timeline.edl", "text/plain; charset=utf-8"),
    "timeline_mlt": ("timeline.mlt", "application/xml"),
    "project": ("project.zip", "application/zip"),
}
#: The timeline formats of engine.editing.timelines.FORMATS → their artifact names.
TIMELINE_ARTIFACTS = {"otio": "timeline_otio", "fcpxml": "timeline_fcpxml", "xml": "timeline_xml",
                      "edl": "timeline_edl", "mlt": "timeline_mlt"}


class Storage:
    """Paths and housekeeping for one instance folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uploads = self.root / "uploads"
        self.jobs = self.root / "jobs"
        self.tmp = self.root / "tmp"
        for d in (self.uploads, self.jobs, self.tmp):
            d.mkdir(parents=True, exist_ok=True)

    def video_path(self, storage_name: str) -> Path:
        if "/" in storage_name or storage_name.startswith("."):
            raise ValueError(f"bad storage name {storage_name!r}")
        return self.uploads / storage_name

    def new_temp_path(self, prefix: str, suffix: str = "") -> Path:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=self.tmp)
        os.close(fd)
        return Path(name)

    def job_dir(self, job_id: str, *, create: bool = False) -> Path:
        d = self.jobs / job_id
        if create:
            d.mkdir(parents=True, exist_ok=True)
        return d

    def artifact_path(self, job_id: str, name: str) -> Path:
        return self.job_dir(job_id) / ARTIFACTS[name][0]

    def existing_artifacts(self, job_id: str) -> list[str]:
        return [n for n in ARTIFACTS if self.artifact_path(job_id, n).is_file()]

    def remove_job_files(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def writable(self) -> bool:
        """Whether a byte can be written under ``tmp/`` (False on a full disk too)."""
        try:
            p = self.new_temp_path("probe-")
            try:
                with open(p, "wb") as fh:
                    fh.write(b"\0")
            finally:
                p.unlink(missing_ok=True)
            return True
        except OSError:
            return False

    def clean_leftovers(self, known_uploads: set[str]) -> dict[str, int]:
        """On start: remove temp files, uploads no row refers to, and partial artifacts."""
        removed = {"tmp": 0, "uploads": 0, "partial": 0}
        for p in self.tmp.iterdir():
            (shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True))
            removed["tmp"] += 1
        for p in self.uploads.iterdir():
            if p.name not in known_uploads:
                p.unlink(missing_ok=True)
                removed["uploads"] += 1
        for p in self.jobs.glob("*/*.part*"):
            p.unlink(missing_ok=True)
            removed["partial"] += 1
        return removed
