"""The job runner: a ThreadPoolExecutor fed from the jobs table (the queue of record).

A dispatcher thread claims queued jobs atomically (``store.claim_next_job``) while the
pool has room, and a watchdog fails jobs that run past PROCESSING_TIMEOUT_SECONDS.
Each job walks the engine's stage list (:data:`clipzy.engine.pipeline.STAGES`, through
``stages_for``) on a :class:`~clipzy.engine.pipeline.JobState` built from its rows; every
stage reports progress inside its band (API.md), checks its ``Control`` between frame
batches for cancellation (local event, or the database flag set by another process) and
the deadline.

Outcomes go through one function, ``_finish``: record the terminal state, commit,
then notify (webhook). Exceptions map to job error codes through ``ERROR_CODES``.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..engine.control import Control
from ..engine.errors import Cancelled, DeadlineExceeded, InvalidMediaError
from ..engine.models import ModelRegistry
from ..engine.pipeline import Artifacts, JobState, Source, Stage, run_stage, stages_for
from ..storage import TIMELINE_ARTIFACTS, Storage
from ..store import JobStatus, Store
from . import webhooks

log = logging.getLogger("clipzy.jobs")

#: Exception type → job error code (first match wins).
ERROR_CODES: list[tuple[type[BaseException], str]] = [
    (DeadlineExceeded, "JOB_TIMEOUT"),
    (InvalidMediaError, "INVALID_MEDIA"),
    (Exception, "PROCESSING_ERROR"),
]

MAX_ATTEMPTS = 2  # a job interrupted by a restart is re-run once, then INTERRUPTED


StagesFor = Callable[[JobState], list[Stage]]


def error_code_for(exc: BaseException) -> str:
    for kind, code in ERROR_CODES:
        if isinstance(exc, kind):
            return code
    return "PROCESSING_ERROR"


def _process_alive(worker: str | None) -> bool:
    """Whether the worker that claimed a job (``host:pid:nonce``) still runs on this host."""
    if not worker:
        return False
    try:
        host, pid_s, _ = worker.split(":", 2)
        pid = int(pid_s)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another host's process: not ours to judge
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed worker can linger as a zombie until its new parent reaps it: that is dead
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


class Runner:
    """Runs jobs from the database in a thread pool of ``max_workers``."""

    POLL_SECONDS = 1.0
    CANCEL_POLL_SECONDS = 0.5
    WATCHDOG_GRACE_SECONDS = 5.0  # past the deadline, time a job gets to notice it by itself

    def __init__(self, store: Store, storage: Storage, models: ModelRegistry, *, stages: StagesFor = stages_for,
                 max_workers: int, timeout_s: float, webhook_sender: "webhooks.Sender | None" = None) -> None:
        self.store = store
        self.storage = storage
        self.models = models
        self.stages_for = stages
        self.max_workers = max_workers
        self.timeout_s = timeout_s
        self.webhooks = webhook_sender
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self._pool: ThreadPoolExecutor | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, tuple[Control, float]] = {}  # job id → (control, deadline)
        self._dispatcher: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def start(self) -> None:
        """Recover interrupted jobs, then start the pool and the dispatcher."""
        self.recover()
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="clipzy-job")
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="clipzy-dispatch", daemon=True)
        self._dispatcher.start()

    def stop(self, wait: bool = True, timeout: float = 10.0) -> None:
        """Stop claiming; cancel nothing (jobs left processing are re-run at next start)."""
        self._stop.set()
        self._wake.set()
        if self._dispatcher is not None:
            self._dispatcher.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)

    def notify(self) -> None:
        """A job was queued: claim it now rather than at the next poll."""
        self._wake.set()

    def recover(self) -> None:
        """Jobs left ``processing`` by a dead process: re-queue once, else fail INTERRUPTED."""
        candidates = [j for j in self._processing_jobs() if not _process_alive(j["claimed_by"])]
        if not candidates:
            return
        ids = {j["id"] for j in candidates}
        requeue, give_up = self.store.requeue_interrupted(MAX_ATTEMPTS, only=ids)
        for job_id in requeue:
            self.storage.remove_job_files(job_id)  # the re-run starts clean: no artifact of the dead run survives
            log.info(json.dumps({"event": "job_requeued", "job_id": job_id}))
        for job_id in give_up:
            self.storage.remove_job_files(job_id)
            self._finish(job_id, JobStatus.FAILED, error={
                "code": "INTERRUPTED", "stage": None,
                "message": "the service stopped while the job ran, and it had already been re-run once"})

    def _processing_jobs(self) -> list[dict]:
        jobs, _ = self.store.list_jobs(offset=0, limit=100000, status=JobStatus.PROCESSING)
        return jobs

    # -- dispatch ------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._watchdog()
                while self.busy < self.max_workers and not self._stop.is_set():
                    job = self.store.claim_next_job(self.worker_id)
                    if job is None:
                        break
                    deadline = time.monotonic() + self.timeout_s
                    control = Control(deadline=deadline, is_cancelled=self._cancel_probe(job["id"]))
                    with self._lock:
                        self._running[job["id"]] = (control, deadline)
                    assert self._pool is not None
                    self._pool.submit(self._run_job, job, control)
            except Exception:  # noqa: BLE001 - the dispatcher must survive a database hiccup
                log.exception("dispatcher error")
            self._wake.wait(self.POLL_SECONDS)
            self._wake.clear()
        self.store.close()

    def _watchdog(self) -> None:
        """Fail jobs past their deadline even if their code is stuck between checks."""
        now = time.monotonic()
        with self._lock:
            late = [(jid, c) for jid, (c, d) in self._running.items() if now > d + self.WATCHDOG_GRACE_SECONDS]
        for job_id, control in late:
            control.cancel()
            row = self.store.get_job(job_id)  # the stage it is stuck in, as recorded when it began
            self._finish(job_id, JobStatus.FAILED, error={
                "code": "JOB_TIMEOUT", "stage": row["current_stage"] if row else None,
                "message": f"the job ran longer than PROCESSING_TIMEOUT_SECONDS={self.timeout_s:g}"})

    def _cancel_probe(self, job_id: str) -> Callable[[], bool]:
        """A cheap is-cancelled check: asks the database at most every CANCEL_POLL_SECONDS."""
        last = [0.0, False]

        def probe() -> bool:
            now = time.monotonic()
            if now - last[0] >= self.CANCEL_POLL_SECONDS:
                last[0] = now
                try:
                    last[1] = self.store.cancel_requested(job_id)
                except Exception:  # noqa: BLE001
                    pass
            return last[1]

        return probe

    def job_cancelled(self, job: dict) -> None:
        """The API cancelled ``job``: stop it here if it runs here, and send its webhook."""
        with self._lock:
            running = self._running.get(job["id"])
        if running is not None:
            running[0].cancel()
        webhooks.enqueue_for_job(self.store, job, self.webhooks)

    # -- one job -------------------------------------------------------------
    def _job_state(self, job: dict) -> JobState:
        """The engine's state for ``job``: its videos, song, style, config, artifact paths, models."""
        def stored(row: dict | None, what: str) -> Source:
            if row is None:
                raise InvalidMediaError(f"an input {what} of this job no longer exists")
            return Source(str(self.storage.video_path(row["storage_name"])), row["filename"], row["id"])

        clips = [stored(self.store.get_video(v), "video") for v in job["footage_video_ids"]]
        template = stored(self.store.get_video(job["template_video_id"]), "video") if job["template_video_id"] else None
        music = stored(self.store.get_audio(job["music_audio_id"]), "song") if job.get("music_audio_id") else None
        job_id = job["id"]
        self.storage.job_dir(job_id, create=True)
        path = lambda name: str(self.storage.artifact_path(job_id, name))  # noqa: E731
        artifacts = Artifacts(style_dna=path("style_dna"), edit_plan=path("edit_plan"), lut=path("lut"), output=path("output"),
                              timelines={fmt: path(name) for fmt, name in TIMELINE_ARTIFACTS.items()},
                              project=path("project"))
        common = dict(config=job["config"], artifacts=artifacts, models=self.models, music=music)
        if job["mode"] == "extract":
            return JobState(style_source=clips[0], footage=[], **common)
        return JobState(style_source=template, footage=clips, style_dna=job.get("style_json"), **common)

    def _run_job(self, job: dict, control: Control) -> None:
        job_id = job["id"]
        started = time.monotonic()
        stage_name: str | None = None
        try:
            state = self._job_state(job)
            for stage in self.stages_for(state):
                stage_name = stage.name
                lo, hi = stage.band
                self.store.update_progress(job_id, progress=lo, stage=stage.name)
                control.check()
                stage_control = Control(self._progress_sink(job_id, stage.name, lo, hi), control.cancel_event,
                                        control.deadline, control._is_cancelled)
                run_stage(stage, state, stage_control)
                control.check()
                self.store.update_progress(job_id, progress=hi, stage=stage.name)
            result = {"stage_seconds": state.stage_seconds, "output_metadata": state.output_metadata,
                      "processing_time_seconds": round(time.monotonic() - started, 3)}
            self._finish(job_id, JobStatus.COMPLETED, result=result)
        except Cancelled:
            self.storage.remove_job_files(job_id)
            log.info(json.dumps({"event": "job_cancelled", "job_id": job_id, "stage": stage_name}))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a job outcome
            self._fail(job_id, exc, stage_name)
        finally:
            with self._lock:
                self._running.pop(job_id, None)
            self.store.close()
            self._wake.set()

    def _fail(self, job_id: str, exc: Exception, stage_name: str | None) -> None:
        """Record a job's failure: its code (ERROR_CODES), stage and a message without instance paths."""
        code = error_code_for(exc)
        self.storage.remove_job_files(job_id)
        message = str(exc) or type(exc).__name__
        if code == "PROCESSING_ERROR":
            message = f"{type(exc).__name__}: {message}"
            log.error(json.dumps({"event": "job_error", "job_id": job_id, "stage": stage_name,
                                  "trace": traceback.format_exc(limit=8)}))
        root = self.storage.root
        message = message.replace(str(root.resolve()), "<instance>").replace(str(root), "<instance>")
        self._finish(job_id, JobStatus.FAILED, error={"code": code, "stage": stage_name, "message": message[:500]})

    def _progress_sink(self, job_id: str, stage: str, lo: int, hi: int) -> Callable[[float], None]:
        """Map a stage's 0..1 onto its band; write at most every 0.25 s or per whole percent."""
        state = {"pct": lo, "t": 0.0}

        def sink(f: float) -> None:
            pct = min(hi, lo + int((hi - lo) * f))
            now = time.monotonic()
            if pct > state["pct"] and now - state["t"] >= 0.25:
                state["pct"], state["t"] = pct, now
                self.store.update_progress(job_id, progress=pct, stage=stage)

        return sink

    def _finish(self, job_id: str, status: JobStatus, *, error: dict | None = None, result: dict | None = None) -> None:
        """Record a terminal state (only from processing), commit, then notify.

        A database that cannot be written (disk full, say) is retried with backoff (0.5 s
        doubling to 10 s) while the runner runs, so a job never stays processing for good.
        """
        delay = 0.5
        while True:
            try:
                job = self.store.finish_job(job_id, status=status, error=error, result=result)
                break
            except sqlite3.OperationalError as exc:
                if self._stop.is_set():
                    raise
                log.error(json.dumps({"event": "job_finish_retry", "job_id": job_id, "error": str(exc),
                                      "retry_in_s": delay}))
                self._stop.wait(delay)
                delay = min(2 * delay, 10.0)
        if job is None:
            return  # already terminal (cancelled, or failed by the watchdog)
        log.info(json.dumps({"event": "job_finished", "job_id": job_id, "status": status.value,
                             "error": (error or {}).get("code")}))
        webhooks.enqueue_for_job(self.store, job, self.webhooks)
