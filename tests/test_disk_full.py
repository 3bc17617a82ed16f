"""A full disk: the instance folder on a small tmpfs (8 MiB), served by real gunicorn.

Needs root to mount the tmpfs (the dev and CI machines run as root); when the mount is
refused it skips locally with the reason, and fails with CI=true. What API.md's table allows for a full disk is
``503 SERVICE_UNAVAILABLE`` ("storage or database unusable"): uploads that do not fit
and database writes that fail with "database or disk is full" answer that, with a detail
saying storage is full, and leave nothing on disk. A render that runs out of space fails
its job (``PROCESSING_ERROR``, "No space left on device") and frees its partial file. When
space returns, the same process serves uploads, runs jobs and reports healthy again.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import need
from procs import Server, files_under, integrity_check, query, upload_bytes, wait_for

pytestmark = pytest.mark.slow

DISK_MB = 8
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture
def small_disk(tmp_path):
    """A fresh DISK_MB tmpfs mounted on a temp folder; always unmounted afterwards."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    need(r.returncode == 0, f"cannot mount a {DISK_MB} MiB tmpfs (needs root / CAP_SYS_ADMIN): "
                            f"{(r.stderr or r.stdout).strip() or 'mount exit ' + str(r.returncode)}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from synth.video import noise_clip

    return Path(noise_clip(tmp_path_factory.mktemp("diskclip") / "clip.mp4", 3))


@pytest.fixture
def server(small_disk, tmp_path):
    s = Server(small_disk / "inst", log_path=tmp_path / "gunicorn.log",
               env={"CLIPZY_TEST_SLOW_S": "3", "CLIPZY_TEST_RENDER_BYTES": str(512 * 1024),
                    "CLIPZY_TEST_BIG_RENDER_BYTES": str(3 * DISK_MB * 1024 * 1024),
                    "CLIPZY_MODELS_PATH": str(tmp_path / "models")})
    s.start()
    yield s
    s.kill9() if s.proc.poll() is None else None


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path) -> Path:
    """Write a filler file until the disk refuses more; returns its path."""
    filler = path / "filler.bin"
    block = b"\xa5" * (64 * 1024)
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(block)
        except OSError:
            pass
        small = b"\xa5" * 512
        try:
            while True:
                fh.write(small)
        except OSError:
            pass
    assert free_bytes(path) < 64 * 1024
    return filler


def assert_storage_full(status: int, body: dict) -> None:
    assert status == 503, (status, body)
    assert body["success"] is False and body["error"]["code"] == "SERVICE_UNAVAILABLE", body
    assert "storage" in body["error"]["detail"].lower() and "full" in body["error"]["detail"].lower(), body


def upload_ok(server: Server, clip: Path, name: str) -> str:
    status, body = server.upload(clip, filename=name)
    assert status == 200, body
    return body["data"]["video_id"]


def test_upload_that_does_not_fit_is_refused_and_leaves_nothing(server, clip):
    inst = server.instance
    free0 = free_bytes(inst)
    assert free0 < DISK_MB * 1024 * 1024
    total = DISK_MB * 1024 * 1024 + 3 * 1024 * 1024  # more than the whole disk

    block = os.urandom(256 * 1024)
    chunks = (block[: min(len(block), total - i)] for i in range(0, total, len(block)))
    status, body = upload_bytes(server.port, chunks, total, filename="huge.mp4", timeout=60)
    assert_storage_full(status, body)

    assert files_under(inst / "tmp") == [] and files_under(inst / "uploads") == []
    assert query(inst / "clipzy.sqlite3", "SELECT COUNT(*) FROM videos") == [(0,)]
    assert free_bytes(inst) >= free0 - 1024 * 1024  # the partial upload's space is back

    # The same process takes the next upload that fits, and is healthy.
    video_id = upload_ok(server, clip, "small.mp4")
    status, body = server.get(f"/api/v1/videos/{video_id}")
    assert status == 200 and body["data"]["file_size_bytes"] == clip.stat().st_size
    status, body = server.get("/api/v1/health")
    assert status == 200 and body["data"]["status"] == "ok"


def test_render_out_of_space_fails_cleanly_then_jobs_work(server, clip):
    inst = server.instance
    template = upload_ok(server, clip, "template.mp4")
    big = upload_ok(server, clip, "bigrender.mp4")
    free0 = free_bytes(inst)
    status, body = server.post("/api/v1/jobs", {"video_id": big, "template_video_id": template})
    assert status == 200, body
    job = server.wait_job(body["data"]["job_id"], lambda j: j["status"] in TERMINAL, timeout=30)
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "PROCESSING_ERROR" and job["error"]["stage"] == "rendering", job
    assert "no space left on device" in job["error"]["message"].lower(), job
    assert not (inst / "jobs" / job["job_id"]).exists()  # the partial render (and the rest) freed
    assert free_bytes(inst) >= free0 - 1024 * 1024
    status, body = server.get(f"/api/v1/jobs/{job['job_id']}/output")
    assert status == 404 and body["error"]["code"] == "OUTPUT_NOT_AVAILABLE"

    fits = upload_ok(server, clip, "fits.mp4")
    status, body = server.post("/api/v1/jobs", {"video_id": fits, "template_video_id": template})
    assert status == 200, body
    job = server.wait_job(body["data"]["job_id"], lambda j: j["status"] in TERMINAL, timeout=30)
    assert job["status"] == "completed", job
    status, out = server.get(f"/api/v1/jobs/{job['job_id']}/output")
    assert status == 200 and len(out) == 512 * 1024


def test_full_disk_answers_503_and_recovers_when_space_returns(server, clip):
    inst = server.instance
    db = inst / "clipzy.sqlite3"
    video = upload_ok(server, clip, "slowanalysis.mp4")
    status, body = server.post("/api/v1/jobs", {"video_id": video})
    assert status == 200, body
    running = body["data"]["job_id"]
    server.wait_job(running, lambda j: j["current_stage"] == "video_analysis")

    filler = fill(inst)  # while a job runs and writes its progress
    status, body = server.upload(clip, filename="nospace.mp4")
    assert_storage_full(status, body)
    assert files_under(inst / "tmp") == []
    status, body = server.get("/api/v1/health")
    assert status == 503 and body["error"]["code"] == "SERVICE_UNAVAILABLE", body
    answers = []
    for n in range(20):  # database writes: each either works or is refused cleanly
        status, body = server.post("/api/v1/jobs", {"video_id": video, "config": {"duration_seconds": n + 1}})
        answers.append(status)
        if status != 200:
            assert_storage_full(status, body)
    assert 503 in answers, answers
    time.sleep(1.0)

    filler.unlink()  # space returns
    # The running job's progress write hit the full disk: it failed, and that is recorded once space is back.
    job = server.wait_job(running, lambda j: j["status"] in TERMINAL, timeout=30)  # never stuck in processing
    assert job["status"] == "failed" and job["error"]["code"] == "PROCESSING_ERROR", job
    assert "disk is full" in job["error"]["message"], job
    status, body = server.get("/api/v1/health")
    assert status == 200 and body["data"]["status"] == "ok", body
    again = upload_ok(server, clip, "again.mp4")
    status, body = server.post("/api/v1/jobs", {"video_id": again})
    assert status == 200, body
    job = server.wait_job(body["data"]["job_id"], lambda j: j["status"] in TERMINAL, timeout=30)
    assert job["status"] == "completed", job
    states = {r[0] for r in query(db, "SELECT status FROM jobs")}
    wait_for(lambda: {r[0] for r in query(db, "SELECT status FROM jobs")} <= TERMINAL, timeout=30,
             what=f"every job terminal (now {states})")
    server.stop()
    assert integrity_check(db) == "ok"
    assert files_under(inst / "tmp") == []
