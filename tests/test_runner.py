"""The job runner with tiny stage functions of the tests' own: progress, cancel, timeout, failures, recovery."""
from __future__ import annotations

import threading
import time

import pytest

from clipzy.engine.errors import InvalidMediaError
from dataclasses import replace
from pathlib import Path

from clipzy.engine.pipeline import STAGES
from clipzy.jobs.runner import Runner
from clipzy.storage import Storage
from clipzy.store import JobStatus, Store
from conftest import make_app


def wait_for(pred, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("condition not met in time")


# -- tiny stages ------------------------------------------------------------------------

def steady(state, control):
    for i in range(10):
        control.check()
        control.progress((i + 1) / 10)
        time.sleep(0.03)


def write_dna(state, control):
    Path(state.artifacts.style_dna).write_text('{"version": "1.0"}')


def forever(state, control):
    while True:
        control.check()
        time.sleep(0.01)


def bad_media(state, control):
    raise InvalidMediaError("the video stream cannot be decoded")


def crash(state, control):
    raise ZeroDivisionError("boom")


def stuck_without_checks(state, control):
    time.sleep(3)  # ignores its control: only the watchdog can fail it


def stages_of(*fns):
    return lambda state: [replace(STAGES[i], run=fn) for i, fn in enumerate(fns)]


def job_id_of(state) -> str:
    """The job a stand-in stage runs for: the name of its artifacts' folder."""
    return Path(state.artifacts.style_dna).parent.name


def setup(tmp_path, stages, **cfg):
    app = make_app(tmp_path / "inst", CLIPZY_START_RUNNER=True, CLIPZY_STAGES_FOR=stages, **cfg)
    return app, app.extensions["clipzy"]


def new_job(svc, config=None, template=False):
    import json

    from clipzy.store import new_id

    vid = svc.store.insert_video(video_id=new_id("vid"), filename="a.mp4", file_size_bytes=1,
                                 metadata={}, storage_name="x.mp4", template_video_id=None, webhook_url=None)["id"]
    cfg = config or {"n": time.time_ns()}
    job, _ = svc.store.create_job(video_id=vid, template_video_id=None, mode="extract", config=cfg,
                                  config_key=json.dumps(cfg), webhook_url=None)
    svc.runner.notify()
    return job["id"]


@pytest.fixture
def stop_after():
    apps = []
    yield apps.append
    from clipzy import stop_workers

    for app in apps:
        stop_workers(app)


def test_job_completes_with_monotonic_progress_through_bands(tmp_path, stop_after):
    app, svc = setup(tmp_path, stages_of(steady, steady, steady, write_dna))
    stop_after(app)
    job_id = new_job(svc)
    job = wait_for(lambda: (j := svc.store.get_job(job_id))["status"] == "completed" and j)
    assert job["progress"] == 100 and job["current_stage"] is None and job["error"] is None
    events = svc.store.job_events(job_id)
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    stages = [e["stage"] for e in events if e["stage"]]
    assert stages[0] == "video_analysis" and "style_extraction" in stages
    inside = [e["progress"] for e in events if e["stage"] == "video_analysis"]
    assert any(1 < p < 20 for p in inside)  # progress moves inside the band, not only at its edges
    assert job["result"]["processing_time_seconds"] > 0


def test_failures_map_to_codes_and_stage(tmp_path, stop_after):
    app, svc = setup(tmp_path, stages_of(steady, bad_media))
    stop_after(app)
    job_id = new_job(svc)
    job = wait_for(lambda: (j := svc.store.get_job(job_id))["status"] == "failed" and j)
    assert job["error"] == {"code": "INVALID_MEDIA", "stage": "audio_analysis", "message": "the video stream cannot be decoded"}
    assert not svc.storage.job_dir(job_id).exists()  # no partial artifacts
    app2, svc2 = setup(tmp_path / "b", stages_of(crash))
    stop_after(app2)
    job_id = new_job(svc2)
    job = wait_for(lambda: (j := svc2.store.get_job(job_id))["status"] == "failed" and j)
    assert job["error"]["code"] == "PROCESSING_ERROR" and job["error"]["stage"] == "video_analysis"
    assert "ZeroDivisionError" in job["error"]["message"]


def test_cancel_running_job_stops_promptly(tmp_path, stop_after):
    app, svc = setup(tmp_path, stages_of(steady, forever))
    stop_after(app)
    job_id = new_job(svc)
    wait_for(lambda: svc.store.get_job(job_id)["current_stage"] == "audio_analysis")
    (svc.storage.job_dir(job_id, create=True) / "output.mp4.part").write_bytes(b"x")
    t0 = time.monotonic()
    job = svc.store.request_cancel(job_id)
    svc.runner.job_cancelled(job)
    wait_for(lambda: svc.runner.busy == 0, timeout=5)
    assert time.monotonic() - t0 < 1.5
    assert svc.store.get_job(job_id)["status"] == "cancelled"
    assert not svc.storage.job_dir(job_id).exists()


def test_cancel_seen_through_database_from_another_process(tmp_path, stop_after):
    """Another process cancels by writing the row; the runner notices within its poll interval."""
    app, svc = setup(tmp_path, stages_of(forever))
    stop_after(app)
    job_id = new_job(svc)
    wait_for(lambda: svc.runner.busy == 1)
    other = Store(svc.store.path)
    other.request_cancel(job_id)
    wait_for(lambda: svc.runner.busy == 0, timeout=3)
    assert svc.store.get_job(job_id)["status"] == "cancelled"


def test_timeout_fails_with_job_timeout(tmp_path, stop_after):
    app, svc = setup(tmp_path, stages_of(forever), PROCESSING_TIMEOUT_SECONDS=0.5)
    stop_after(app)
    job_id = new_job(svc)
    job = wait_for(lambda: (j := svc.store.get_job(job_id))["status"] == "failed" and j, timeout=10)
    assert job["error"]["code"] == "JOB_TIMEOUT"


def test_watchdog_fails_job_stuck_between_checks(tmp_path, stop_after):
    app, svc = setup(tmp_path, stages_of(stuck_without_checks), PROCESSING_TIMEOUT_SECONDS=0.3)
    stop_after(app)
    svc.runner.WATCHDOG_GRACE_SECONDS = 0.2
    t0 = time.monotonic()
    job_id = new_job(svc)
    job = wait_for(lambda: (j := svc.store.get_job(job_id))["status"] == "failed" and j, timeout=12)
    assert job["error"]["code"] == "JOB_TIMEOUT" and job["error"]["stage"] == "video_analysis"
    assert time.monotonic() - t0 < 2.5  # failed while the stage was still asleep


def test_pool_size_limits_concurrency(tmp_path, stop_after):
    app, svc = setup(tmp_path, stages_of(forever), MAX_CONCURRENT_JOBS=2)
    stop_after(app)
    ids = [new_job(svc) for _ in range(3)]
    wait_for(lambda: svc.runner.busy == 2)
    time.sleep(0.3)
    statuses = sorted(svc.store.get_job(i)["status"] for i in ids)
    assert statuses == ["processing", "processing", "queued"]
    for i in ids:
        svc.runner.job_cancelled(svc.store.request_cancel(i))


def test_restart_recovery(tmp_path, stop_after):
    """Jobs left queued run after a restart; processing ones are re-run once, then INTERRUPTED."""
    inst = tmp_path / "inst"
    app = make_app(inst)  # no runner: make the state by hand
    svc = app.extensions["clipzy"]
    runner_less = Runner(svc.store, svc.storage, svc.models, stages=stages_of(steady), max_workers=1, timeout_s=60)
    svc.runner = runner_less  # new_job notifies the runner; this one is never started
    import socket

    again = new_job(svc)
    dead = new_job(svc)
    gone = f"{socket.gethostname()}:999999:x"  # a worker process of this host that no longer exists
    assert svc.store.claim_next_job(gone)["id"] == again
    assert svc.store.claim_next_job(gone)["id"] == dead
    with svc.store.tx() as c:  # the "dead" job had already been re-run once before
        c.execute("UPDATE jobs SET attempts = 2 WHERE id = ?", (dead,))
    queued = new_job(svc)
    app2, svc2 = setup(tmp_path, stages_of(steady))
    stop_after(app2)
    done = wait_for(lambda: all(svc2.store.get_job(j)["status"] in ("completed", "failed") for j in (queued, again, dead))
                    and True, timeout=15)
    assert done
    assert svc2.store.get_job(queued)["status"] == "completed"
    assert svc2.store.get_job(again)["status"] == "completed"
    failed = svc2.store.get_job(dead)
    assert failed["status"] == "failed" and failed["error"]["code"] == "INTERRUPTED"


def test_two_runners_on_one_database_never_run_a_job_twice(tmp_path, stop_after):
    runs: dict[str, int] = {}
    lock = threading.Lock()

    def count(state, control):
        with lock:
            runs[job_id_of(state)] = runs.get(job_id_of(state), 0) + 1
        time.sleep(0.01)

    inst = tmp_path / "inst"
    app1 = make_app(inst, CLIPZY_START_RUNNER=True, CLIPZY_STAGES_FOR=stages_of(count), MAX_CONCURRENT_JOBS=2)
    app2 = make_app(inst, CLIPZY_START_RUNNER=True, CLIPZY_STAGES_FOR=stages_of(count), MAX_CONCURRENT_JOBS=2)
    stop_after(app1)
    stop_after(app2)
    svc1, svc2 = app1.extensions["clipzy"], app2.extensions["clipzy"]
    ids = [new_job(svc1 if i % 2 else svc2) for i in range(40)]
    svc1.runner.notify()
    svc2.runner.notify()
    wait_for(lambda: all(svc1.store.get_job(j)["status"] == "completed" for j in ids), timeout=30)
    assert sorted(runs) == sorted(ids) and set(runs.values()) == {1}
    claimed = {svc1.store.get_job(j)["claimed_by"] for j in ids}
    assert len(claimed) == 2  # both runners took part


def test_store_migrations_are_idempotent(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    v = s.migrate()
    assert v >= 1 and s.migrate() == v and s.schema_version() == v
    assert s.integrity_check() == "ok"
    assert s.connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.connect().execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_storage_cleans_leftovers(tmp_path):
    st = Storage(tmp_path)
    (st.tmp / "upload-x.part").write_bytes(b"x")
    (st.uploads / "vid_0000000000000001.mp4").write_bytes(b"x")
    (st.uploads / "vid_0000000000000002.mp4").write_bytes(b"x")
    d = st.job_dir("job_0000000000000001", create=True)
    (d / "output.mp4.part").write_bytes(b"x")
    (d / "style_dna.json").write_text("{}")
    removed = st.clean_leftovers({"vid_0000000000000001.mp4"})
    assert removed == {"tmp": 1, "uploads": 1, "partial": 1}
    assert sorted(p.name for p in st.uploads.iterdir()) == ["vid_0000000000000001.mp4"]
    assert [p.name for p in d.iterdir()] == ["style_dna.json"]


def test_finish_only_from_processing(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    s.migrate()
    s.insert_video(video_id="vid_0000000000000001", filename="a", file_size_bytes=1, metadata={}, storage_name="a.mp4",
                   template_video_id=None, webhook_url=None)
    job, _ = s.create_job(video_id="vid_0000000000000001", template_video_id=None, mode="extract", config={},
                          config_key="k", webhook_url=None)
    assert s.finish_job(job["id"], status=JobStatus.COMPLETED) is None  # still queued
    s.claim_next_job("w")
    s.request_cancel(job["id"])
    assert s.finish_job(job["id"], status=JobStatus.COMPLETED) is None  # cancelled wins
    assert s.get_job(job["id"])["status"] == "cancelled"
