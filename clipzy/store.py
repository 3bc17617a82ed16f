"""SQLite access: every SQL statement of the service lives here, behind named functions.

The database (``clipzy.sqlite3`` in the instance folder) runs in WAL mode with foreign
keys on. Each thread gets its own connection (request threads and runner threads
alike). Schema changes are forward migrations numbered in ``MIGRATIONS``;
``migrate()`` runs the missing ones (``clipzy init-db`` and app start call it).

The jobs table is the queue of record: ``claim_next_job`` moves one queued job to
processing in a single conditional UPDATE inside an IMMEDIATE transaction, so two
processes on one database never run the same job. Duplicate active jobs are refused
by a partial UNIQUE index, not by check-then-insert.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path


class JobStatus(str, Enum):
    """Job statuses; the values are the stored and served strings."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


Q, P, C = JobStatus.QUEUED.value, JobStatus.PROCESSING.value, JobStatus.CANCELLED.value


class DuplicateJob(Exception):
    """An active job exists for the same video, template and config."""

    def __init__(self, job_id: str | None) -> None:
        super().__init__(job_id)
        self.job_id = job_id


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused with a different body."""


def utcnow() -> str:
    """Now as ISO 8601 UTC with milliseconds and a trailing Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id(prefix: str) -> str:
    """``prefix`` + 16 lowercase hex characters."""
    return f"{prefix}_{secrets.token_hex(8)}"


MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE videos (
        id TEXT PRIMARY KEY,
        filename TEXT NOT NULL,
        file_size_bytes INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        storage_name TEXT NOT NULL,
        template_video_id TEXT REFERENCES videos(id),
        webhook_url TEXT,
        uploaded_at TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        video_id TEXT NOT NULL REFERENCES videos(id),
        template_video_id TEXT REFERENCES videos(id),
        template_key TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('extract', 'apply')),
        status TEXT NOT NULL CHECK (status IN ('queued','processing','completed','failed','cancelled')),
        progress INTEGER NOT NULL DEFAULT 0,
        current_stage TEXT,
        config TEXT NOT NULL,
        config_key TEXT NOT NULL,
        webhook_url TEXT,
        base_url TEXT,
        error TEXT,
        result TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT
    );
    CREATE INDEX jobs_status_created ON jobs(status, created_at);
    CREATE INDEX jobs_video ON jobs(video_id, created_at);
    CREATE INDEX jobs_created ON jobs(created_at);
    CREATE UNIQUE INDEX jobs_one_active ON jobs(video_id, template_key, config_key)
        WHERE status IN ('queued', 'processing');
    CREATE TABLE job_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        progress INTEGER NOT NULL,
        stage TEXT,
        message TEXT
    );
    CREATE INDEX job_events_job ON job_events(job_id, id);
    CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        body_hash TEXT NOT NULL,
        job_id TEXT NOT NULL REFERENCES jobs(id),
        created_at_epoch REAL NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES jobs(id),
        url TEXT NOT NULL,
        event TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_epoch REAL NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT
    );
    CREATE INDEX webhook_due ON webhook_deliveries(status, next_attempt_epoch);
    """,
    # 2: v1.1 — songs, saved styles, several footage clips per job
    """
    CREATE TABLE audio (
        id TEXT PRIMARY KEY,
        filename TEXT NOT NULL,
        file_size_bytes INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        storage_name TEXT NOT NULL,
        uploaded_at TEXT NOT NULL
    );
    CREATE TABLE styles (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        source_job_id TEXT,
        style_json TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX styles_created ON styles(created_at);
    ALTER TABLE jobs ADD COLUMN footage_video_ids TEXT;
    ALTER TABLE jobs ADD COLUMN style_id TEXT;
    ALTER TABLE jobs ADD COLUMN style_json TEXT;
    ALTER TABLE jobs ADD COLUMN music_audio_id TEXT REFERENCES audio(id);
    CREATE TABLE job_videos (
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        video_id TEXT NOT NULL REFERENCES videos(id),
        position INTEGER NOT NULL,
        PRIMARY KEY (job_id, position)
    );
    CREATE INDEX job_videos_video ON job_videos(video_id, job_id);
    INSERT INTO job_videos (job_id, video_id, position) SELECT id, video_id, 0 FROM jobs;
    UPDATE jobs SET footage_video_ids = '["' || video_id || '"]'
    """,
]


@dataclass
class Store:
    """Handle on one SQLite database file; connections are per thread."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._local = threading.local()

    # -- connections -------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (a teardown hook and worker threads call it)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    class _Tx:
        def __init__(self, conn: sqlite3.Connection, immediate: bool) -> None:
            self.conn = conn
            self.immediate = immediate

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:
            # SQLite may already have rolled back (e.g. SQLITE_FULL), and a failed COMMIT leaves the
            # transaction open: either way the connection must leave here outside a transaction.
            try:
                if exc_type is None:
                    self.conn.execute("COMMIT")
            finally:
                if self.conn.in_transaction:
                    try:
                        self.conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass

    def tx(self, immediate: bool = True) -> "Store._Tx":
        return Store._Tx(self.connect(), immediate)

    # -- schema ------------------------------------------------------------
    def schema_version(self) -> int:
        conn = self.connect()
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) AS v FROM schema_version").fetchone()
        return int(row["v"] or 0)

    def migrate(self) -> int:
        """Run missing forward migrations; returns the schema version now in force."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.connect()
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        with self.tx() as c:
            current = int(c.execute("SELECT MAX(version) AS v FROM schema_version").fetchone()["v"] or 0)
            for number, script in enumerate(MIGRATIONS, start=1):
                if number <= current:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                current = number
        return current

    def ping(self) -> None:
        self.connect().execute("SELECT 1").fetchone()

    def integrity_check(self) -> str:
        return self.connect().execute("PRAGMA integrity_check").fetchone()[0]

    # -- videos ------------------------------------------------------------
    def insert_video(self, *, video_id: str, filename: str, file_size_bytes: int, metadata: dict,
                     storage_name: str, template_video_id: str | None, webhook_url: str | None) -> dict:
        now = utcnow()
        self.connect().execute(
            "INSERT INTO videos (id, filename, file_size_bytes, metadata, storage_name, template_video_id,"
            " webhook_url, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (video_id, filename, file_size_bytes, json.dumps(metadata), storage_name, template_video_id,
             webhook_url, now),
        )
        return self.get_video(video_id)  # type: ignore[return-value]

    def get_video(self, video_id: str) -> dict | None:
        row = self.connect().execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["metadata"] = json.loads(d["metadata"])
        return d

    def upload_storage_names(self) -> set[str]:
        """The stored file names of every recorded upload (videos and songs)."""
        conn = self.connect()
        return {r[0] for r in conn.execute("SELECT storage_name FROM videos UNION SELECT storage_name FROM audio")}

    # -- songs -------------------------------------------------------------
    def insert_audio(self, *, audio_id: str, filename: str, file_size_bytes: int, metadata: dict,
                     storage_name: str) -> dict:
        self.connect().execute(
            "INSERT INTO audio (id, filename, file_size_bytes, metadata, storage_name, uploaded_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (audio_id, filename, file_size_bytes, json.dumps(metadata), storage_name, utcnow()))
        return self.get_audio(audio_id)  # type: ignore[return-value]

    def get_audio(self, audio_id: str) -> dict | None:
        row = self.connect().execute("SELECT * FROM audio WHERE id = ?", (audio_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["metadata"] = json.loads(d["metadata"])
        return d

    # -- saved styles ------------------------------------------------------
    @staticmethod
    def _style(row: sqlite3.Row | None) -> dict | None:
        if row is None:
            return None
        d = dict(row)
        d["style_json"] = json.loads(d["style_json"])
        return d

    def insert_style(self, *, name: str, style_json: dict, source_job_id: str | None) -> dict:
        style_id = new_id("sty")
        self.connect().execute(
            "INSERT INTO styles (id, name, source_job_id, style_json, created_at) VALUES (?, ?, ?, ?, ?)",
            (style_id, name, source_job_id, json.dumps(style_json), utcnow()))
        return self.get_style(style_id)  # type: ignore[return-value]

    def get_style(self, style_id: str) -> dict | None:
        return self._style(self.connect().execute("SELECT * FROM styles WHERE id = ?", (style_id,)).fetchone())

    def list_styles(self, *, offset: int, limit: int) -> tuple[list[dict], int]:
        conn = self.connect()
        total = conn.execute("SELECT COUNT(*) FROM styles").fetchone()[0]
        rows = conn.execute("SELECT * FROM styles ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                            (limit, offset)).fetchall()
        return [self._style(r) for r in rows], int(total)  # type: ignore[misc]

    def delete_style(self, style_id: str) -> bool:
        """Delete a saved style (jobs that used it keep their own copy); False if unknown."""
        return bool(self.connect().execute("DELETE FROM styles WHERE id = ?", (style_id,)).rowcount)

    # -- jobs --------------------------------------------------------------
    @staticmethod
    def _job(row: sqlite3.Row | None) -> dict | None:
        if row is None:
            return None
        d = dict(row)
        d["config"] = json.loads(d["config"])
        d["error"] = json.loads(d["error"]) if d["error"] else None
        d["result"] = json.loads(d["result"]) if d["result"] else None
        d["footage_video_ids"] = json.loads(d["footage_video_ids"]) if d.get("footage_video_ids") else [d["video_id"]]
        d["style_json"] = json.loads(d["style_json"]) if d.get("style_json") else None
        return d

    def create_job(self, *, video_id: str, template_video_id: str | None, mode: str, config: dict,
                   config_key: str, webhook_url: str | None, base_url: str | None = None,
                   idempotency: tuple[str, str, float] | None = None, footage_video_ids: list[str] | None = None,
                   style_id: str | None = None, style_json: dict | None = None,
                   music_audio_id: str | None = None) -> tuple[dict, bool]:
        """Insert a queued job; returns (job, created).

        ``footage_video_ids``: the job's clips in order (default ``[video_id]``; ``video_id`` is
        the first); ``style_id``/``style_json``: the saved style it applies and the job's own
        copy of it; ``music_audio_id``: its song. ``config_key`` must cover every input that
        makes two jobs the same (duplicate detection). ``idempotency`` = (key, body_hash,
        ttl_seconds): a live key with the same hash returns its job (created False); with
        another hash raises IdempotencyConflict. An active duplicate raises DuplicateJob.
        """
        clips = list(footage_video_ids or [video_id])
        template_key = template_video_id or (f"style:{style_id}" if style_id else "")
        job_id = new_id("job")
        now = utcnow()
        with self.tx() as c:
            if idempotency is not None:
                key, body_hash, ttl = idempotency
                c.execute("DELETE FROM idempotency_keys WHERE created_at_epoch < ?", (time.time() - ttl,))
                row = c.execute("SELECT body_hash, job_id FROM idempotency_keys WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    if row["body_hash"] != body_hash:
                        raise IdempotencyConflict(key)
                    job = self._job(c.execute("SELECT * FROM jobs WHERE id = ?", (row["job_id"],)).fetchone())
                    return job, False  # type: ignore[return-value]
            try:
                c.execute(
                    "INSERT INTO jobs (id, video_id, template_video_id, template_key, mode, status, progress,"
                    " config, config_key, webhook_url, base_url, created_at, updated_at, footage_video_ids, style_id,"
                    " style_json, music_audio_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, video_id, template_video_id, template_key, mode, Q, json.dumps(config, sort_keys=True),
                     config_key, webhook_url, base_url, now, now, json.dumps(clips), style_id,
                     json.dumps(style_json) if style_json is not None else None, music_audio_id),
                )
            except sqlite3.IntegrityError as exc:
                if "jobs_one_active" in str(exc) or "UNIQUE" in str(exc):
                    row = c.execute(
                        "SELECT id FROM jobs WHERE video_id = ? AND template_key = ? AND config_key = ?"
                        " AND status IN (?, ?)",
                        (video_id, template_key, config_key, Q, P),
                    ).fetchone()
                    raise DuplicateJob(row["id"] if row else None) from exc
                raise
            c.execute("INSERT INTO job_events (job_id, at, status, progress, stage, message) VALUES (?, ?, ?, 0, NULL, 'created')",
                      (job_id, now, Q))
            c.executemany("INSERT INTO job_videos (job_id, video_id, position) VALUES (?, ?, ?)",
                          [(job_id, vid, i) for i, vid in enumerate(clips)])
            if idempotency is not None:
                c.execute("INSERT INTO idempotency_keys (key, body_hash, job_id, created_at_epoch) VALUES (?, ?, ?, ?)",
                          (idempotency[0], idempotency[1], job_id, time.time()))
            job = self._job(c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())
        return job, True  # type: ignore[return-value]

    def idempotent_job(self, key: str, body_hash: str, ttl_s: float) -> dict | None:
        """The job a live Idempotency-Key was first sent for; None when the key is new or
        older than ``ttl_s``. Raises IdempotencyConflict when it came with another ``body_hash``."""
        row = self.connect().execute("SELECT body_hash, job_id FROM idempotency_keys WHERE key = ? AND created_at_epoch >= ?",
                                     (key, time.time() - ttl_s)).fetchone()
        if row is None:
            return None
        if row["body_hash"] != body_hash:
            raise IdempotencyConflict(key)
        return self.get_job(row["job_id"])

    def get_job(self, job_id: str) -> dict | None:
        return self._job(self.connect().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def list_jobs(self, *, offset: int, limit: int, status: str | None = None, video_id: str | None = None) -> tuple[list[dict], int]:
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if video_id:  # any clip of the job
            where.append("id IN (SELECT job_id FROM job_videos WHERE video_id = ?)")
            args.append(video_id)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        conn = self.connect()
        total = conn.execute(f"SELECT COUNT(*) FROM jobs{clause}", args).fetchone()[0]
        rows = conn.execute(f"SELECT * FROM jobs{clause} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                            [*args, limit, offset]).fetchall()
        return [self._job(r) for r in rows], int(total)  # type: ignore[misc]

    def count_jobs(self, status: str) -> int:
        return int(self.connect().execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0])

    def claim_next_job(self, worker: str) -> dict | None:
        """Atomically move the oldest queued job to processing for ``worker``."""
        now = utcnow()
        with self.tx() as c:
            row = c.execute(
                "UPDATE jobs SET status = ?, claimed_by = ?, attempts = attempts + 1,"
                " started_at = COALESCE(started_at, ?), updated_at = ?, current_stage = NULL"
                " WHERE id = (SELECT id FROM jobs WHERE status = ? AND cancel_requested = 0"
                "             ORDER BY created_at, rowid LIMIT 1)"
                " AND status = ? RETURNING *",
                (P, worker, now, now, Q, Q),
            ).fetchone()
            if row is None:
                return None
            c.execute("INSERT INTO job_events (job_id, at, status, progress, stage, message) VALUES (?, ?, ?, ?, NULL, ?)",
                      (row["id"], now, P, row["progress"], f"claimed by {worker}"))
        return self._job(row)

    def update_progress(self, job_id: str, *, progress: int, stage: str | None) -> bool:
        """Monotonic progress while processing; returns False if the job is no longer processing."""
        now = utcnow()
        conn = self.connect()
        cur = conn.execute(
            "UPDATE jobs SET progress = MAX(progress, ?), current_stage = ?, updated_at = ?"
            " WHERE id = ? AND status = ?",
            (progress, stage, now, job_id, P),
        )
        if cur.rowcount:
            conn.execute("INSERT INTO job_events (job_id, at, status, progress, stage, message) VALUES (?, ?, ?, ?, ?, NULL)",
                         (job_id, now, P, progress, stage))
        return bool(cur.rowcount)

    def cancel_requested(self, job_id: str) -> bool:
        row = self.connect().execute("SELECT cancel_requested, status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row is None or bool(row["cancel_requested"]) or row["status"] != P

    def request_cancel(self, job_id: str) -> dict | None:
        """Cancel a queued or processing job now (status cancelled); None if terminal."""
        now = utcnow()
        with self.tx() as c:
            row = c.execute(
                "UPDATE jobs SET status = ?, cancel_requested = 1, current_stage = NULL, updated_at = ?,"
                " completed_at = ? WHERE id = ? AND status IN (?, ?) RETURNING *",
                (C, now, now, job_id, Q, P),
            ).fetchone()
            if row is None:
                return None
            c.execute("INSERT INTO job_events (job_id, at, status, progress, stage, message) VALUES (?, ?, ?, ?, NULL, 'cancelled by request')",
                      (job_id, now, C, row["progress"]))
        return self._job(row)

    def finish_job(self, job_id: str, *, status: JobStatus, error: dict | None = None, result: dict | None = None,
                   expected: tuple[str, ...] = (P,)) -> dict | None:
        """Record a terminal status if the job is still in one of ``expected``; returns the job or None."""
        now = utcnow()
        progress_sql = "100" if status is JobStatus.COMPLETED else "progress"
        marks = ",".join("?" for _ in expected)
        with self.tx() as c:
            row = c.execute(
                f"UPDATE jobs SET status = ?, progress = {progress_sql}, current_stage = NULL, error = ?, result = ?,"
                f" updated_at = ?, completed_at = ? WHERE id = ? AND status IN ({marks}) RETURNING *",
                (status.value, json.dumps(error) if error else None, json.dumps(result) if result else None,
                 now, now, job_id, *expected),
            ).fetchone()
            if row is None:
                return None
            c.execute("INSERT INTO job_events (job_id, at, status, progress, stage, message) VALUES (?, ?, ?, ?, ?, ?)",
                      (job_id, now, status.value, row["progress"], (error or {}).get("stage"), (error or {}).get("message")))
        return self._job(row)

    def requeue_interrupted(self, max_attempts: int, *, only: set[str]) -> tuple[list[str], list[str]]:
        """On start: jobs of ``only`` still processing with attempts < max go back to queued; the others are returned to fail.

        Returns (requeued ids, ids to fail with INTERRUPTED).
        """
        now = utcnow()
        with self.tx() as c:
            rows = [r for r in c.execute("SELECT id, attempts FROM jobs WHERE status = ?", (P,)).fetchall()
                    if r["id"] in only]
            requeue = [r["id"] for r in rows if r["attempts"] < max_attempts]
            give_up = [r["id"] for r in rows if r["attempts"] >= max_attempts]
            for job_id in requeue:
                c.execute("UPDATE jobs SET status = ?, current_stage = NULL, claimed_by = NULL, updated_at = ?"
                          " WHERE id = ?", (Q, now, job_id))
                c.execute("INSERT INTO job_events (job_id, at, status, progress, stage, message)"
                          " SELECT id, ?, ?, progress, NULL, 'requeued after restart' FROM jobs WHERE id = ?",
                          (now, Q, job_id))
        return requeue, give_up

    def job_events(self, job_id: str) -> list[dict]:
        return [dict(r) for r in self.connect().execute(
            "SELECT at, status, progress, stage, message FROM job_events WHERE job_id = ? ORDER BY id", (job_id,))]

    # -- webhooks ----------------------------------------------------------
    def add_delivery(self, *, job_id: str, url: str, event: str, body: str) -> str:
        delivery_id = new_id("dlv")
        self.connect().execute(
            "INSERT INTO webhook_deliveries (id, job_id, url, event, body, status, attempts, next_attempt_epoch, created_at)"
            " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
            (delivery_id, job_id, url, event, body, time.time(), utcnow()),
        )
        return delivery_id

    def due_deliveries(self, now_epoch: float, limit: int = 20) -> list[dict]:
        return [dict(r) for r in self.connect().execute(
            "SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_epoch <= ?"
            " ORDER BY next_attempt_epoch LIMIT ?", (now_epoch, limit))]

    def next_delivery_due(self) -> float | None:
        row = self.connect().execute(
            "SELECT MIN(next_attempt_epoch) FROM webhook_deliveries WHERE status = 'pending'").fetchone()
        return row[0]

    def record_delivery_attempt(self, delivery_id: str, *, delivered: bool, error: str | None,
                                next_attempt_epoch: float | None) -> None:
        """After an attempt: delivered, retry at ``next_attempt_epoch``, or failed for good (None)."""
        status = "delivered" if delivered else ("pending" if next_attempt_epoch is not None else "failed")
        self.connect().execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, status = ?, last_error = ?,"
            " next_attempt_epoch = COALESCE(?, next_attempt_epoch), delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END"
            " WHERE id = ?",
            (status, error, next_attempt_epoch, delivered, utcnow(), delivery_id),
        )

    def deliveries_for(self, job_id: str) -> list[dict]:
        return [dict(r) for r in self.connect().execute(
            "SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY created_at", (job_id,))]


