"""Load through nginx: status polls and 50 MB uploads while real extract jobs run (loopback, bounded in time).

Usage: python -m bench.load [--duration 100] [--uploads 20] [--size-mb 50] [--poll-rate 200]
                            [--workers 2] [--job-clip ../shared/media/realshort.mp4] [--rounds 3] [--keep]
                            [--profile FILE]

The set-up, every process on 127.0.0.1 (nginx from the README's block, tests/nginx.py):

    clients --> nginx --> gunicorn -c gunicorn.conf.py wsgi:app   (CLIPZY_TRUST_PROXY=true)
    jobs:       --workers N `clipzy worker` processes on the same instance when that command
                exists (gunicorn then runs with CLIPZY_RUN_JOBS=false), else gunicorn's own job pool
    raw copy:   clients --> a second nginx with the same block --> a raw socket sink that reads
                each body with recv_into and writes it to a file in the instance folder: no HTTP
                framework and no multipart parsing, the floor an upload through nginx is compared with

What it does, in order (the run stops by itself after about ``--duration`` s):

1. makes a valid ~50 MB MP4 in code (x264 lossless noise, 640x360) under bench/out/ (cached);
2. starts the set-up above and keeps real extract jobs (the engine's own stages, on ``--job-clip``)
   queued behind the running ones for the whole run;
3. polls ``GET /api/v1/jobs/{id}`` through nginx at ``--poll-rate`` requests/s (keep-alive clients
   on a fixed schedule, in a process of their own so the bench's other threads cannot delay them);
4. ``--rounds`` times: ``--uploads`` concurrent copies of the file through the raw-copy nginx, then
   the same number of concurrent uploads to ``POST /api/v1/videos/upload``; each round's upload
   throughput is compared with its own raw copy (so a machine whose load drifts compares like
   with like); the uploads are removed as the run goes (disk use: one round);
5. samples the RSS of gunicorn's worker (and the job workers) every 0.5 s, and counts the CPU
   time of every process of the set-up and of the rest of the machine (a shared machine's other
   load shows in the table);
6. with ``--profile FILE``: py-spy samples gunicorn's worker while it holds the GIL (50 Hz,
   without pausing it) and the top entries are printed under the table.

It prints one table (poll p50/p99/max with jobs running, with and without uploads in flight;
upload throughput and its share of the raw copy, each with its target; jobs done; RSS; failed
requests). The exit status is 1 if any request failed. Results also go to bench/out/load-<time>.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nginx import Nginx, start_in_front  # noqa: E402
from measure import children  # noqa: E402
from procs import VENV_BIN, Client, Server, rss_kib, upload_file  # noqa: E402

OUT = ROOT / "bench" / "out"
SHARED = Path(os.environ.get("CLIPZY_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
MODELS = ROOT / "instance" / "models"


# -- the big file ---------------------------------------------------------------------

def make_video(path: Path, size_mb: float) -> Path:
    """A valid H.264 MP4 of about ``size_mb`` MB: lossless x264 of random 640x360 frames at 25 fps."""
    if path.is_file() and abs(path.stat().st_size / 1e6 - size_mb) < 0.1 * size_mb:
        return path
    import av
    import numpy as np

    rng = np.random.default_rng(1)
    part = path.with_suffix(".part.mp4")
    target = size_mb * 1e6
    with av.open(str(part), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 640, 360, "yuv420p"
        vs.options = {"qp": "0", "preset": "ultrafast"}
        written = 0
        while written < target:
            img = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                written += pkt.size
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
    os.replace(part, path)
    return path


# -- the raw copy ---------------------------------------------------------------------

class RawSink:
    """An HTTP sink on a free loopback port: each request body goes to a file in ``folder`` with
    ``recv_into`` and unbuffered writes, then ``200 {}``; the file is removed. One thread per connection."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.srv = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.srv.getsockname()[1]
        self._n = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self._n += 1
            threading.Thread(target=self._serve, args=(conn, self.folder / f"sink-{self._n}.bin"), daemon=True).start()

    def _serve(self, conn: socket.socket, path: Path) -> None:
        buf = bytearray(1024 * 1024)
        view = memoryview(buf)
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            head, rest = head.split(b"\r\n\r\n", 1)
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            with open(path, "wb", buffering=0) as fh:
                fh.write(rest)
                left = length - len(rest)
                while left > 0 and (k := conn.recv_into(buf, min(left, len(buf)))) > 0:
                    fh.write(view[:k])
                    left -= k
            path.unlink()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                         b"Connection: close\r\n\r\n{}")

    def close(self) -> None:
        self.srv.close()


def concurrent_uploads(port: int, path: Path, clients: int, *, check_size: bool,
                       stored: list[str] | None = None) -> tuple[float, list[str]]:
    """``clients`` uploads of ``path`` to ``port`` at once; returns (aggregate MB/s, failures).

    ``stored`` (when given) receives the ``video_id`` of every upload the API kept."""
    failures: list[str] = []
    size = path.stat().st_size

    def one(i: int) -> None:
        try:
            status, body = upload_file(port, path, filename=f"load-{i}.mp4", timeout=600)
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"upload {type(exc).__name__}: {exc}")
            return
        if status != 200:
            failures.append(f"upload {status} {str(body)[:200]}")
        elif check_size and body["data"]["file_size_bytes"] != size:
            failures.append("upload size mismatch")
        if status == 200 and stored is not None and isinstance(body, dict) and "video_id" in body.get("data", {}):
            stored.append(body["data"]["video_id"])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clients * size / 1e6 / (time.perf_counter() - start), failures


# -- status polls, in their own process -----------------------------------------------

def _poll_loop(port: int, rate: float, offset: float, stop, jobs: list[str], out: list, failures: list) -> None:
    """GET /api/v1/jobs/{id} at ``rate`` per second on one keep-alive connection, on a fixed schedule."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    period, due, n = 1.0 / rate, time.monotonic() + offset, 0
    while not stop.is_set():
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        due += period
        ids = list(jobs)  # the list is replaced by another thread: one atomic copy
        if not ids:
            continue
        job_id, n = ids[n % len(ids)], n + 1
        start = time.monotonic()
        try:
            conn.request("GET", f"/api/v1/jobs/{job_id}")
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"GET job {type(exc).__name__}: {exc}")
            conn.close()
            continue
        out.append((start, time.monotonic() - start))
        if resp.status != 200:
            failures.append(f"GET job {resp.status} {body[:200]!r}")
    conn.close()


def poller_process(port: int, rate: float, pollers: int, stop, results) -> None:
    """The pollers (threads) of one process; the job ids come from ``GET /jobs`` every second.

    Puts ``(samples, failures)`` on ``results`` when ``stop`` is set: samples are
    ``(CLOCK_MONOTONIC start s, latency s)``, comparable with the parent's clock."""
    api = Client(port)
    jobs: list[str] = []
    out: list[tuple[float, float]] = []
    failures: list[str] = []
    threads = [threading.Thread(target=_poll_loop, daemon=True,
                                args=(port, rate / pollers, i / rate, stop, jobs, out, failures)) for i in range(pollers)]
    for t in threads:
        t.start()
    while not stop.wait(1.0):
        status, body = api.get("/api/v1/jobs?page_size=4", timeout=30)
        if status == 200 and body["data"]["jobs"]:
            jobs[:] = [j["job_id"] for j in body["data"]["jobs"]]
    for t in threads:
        t.join(35)
    results.put((out, failures))


# -- the set-up -----------------------------------------------------------------------

def worker_command() -> list[str] | None:
    """``clipzy worker`` when this checkout has that command, else None."""
    exe = str(VENV_BIN / "clipzy")
    r = subprocess.run([exe, "worker", "--help"], capture_output=True, cwd=ROOT)
    return [exe, "worker"] if r.returncode == 0 else None


class Stack:
    """gunicorn (real engine) behind nginx, the job workers, and the raw-copy sink behind its own nginx."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder = folder
        self.inst = folder / "instance"
        # librosa's numba kernels come from the cache the tests use (instance/cache/numba), as on a
        # machine that has served before; a cold cache adds about a minute of compiling to the warm-up
        self.env = {"LOG_LEVEL": "WARNING", "CLIPZY_TRUST_PROXY": "true", "CLIPZY_INSTANCE_PATH": str(self.inst),
                    "CLIPZY_MODELS_PATH": str(MODELS if MODELS.is_dir() else self.inst / "models"),
                    "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(ROOT / "instance" / "cache" / "numba"))}
        cmd = worker_command() if workers else None
        self.worker_cmd = cmd
        self.n_workers = workers if cmd else 0
        if self.n_workers:
            self.env["CLIPZY_RUN_JOBS"] = "false"
        self.server = Server(self.inst, module="wsgi:app", env=self.env, log_path=folder / "gunicorn.log")
        self.workers: list[subprocess.Popen] = []
        self.front: Nginx | None = None
        self.sink: RawSink | None = None
        self.sink_front: Nginx | None = None

    def start(self) -> "Stack":
        """Start every process; returns self."""
        self.server.start(timeout=120)
        self.front, _ = start_in_front(self.folder / "nginx", self.server.port)
        self.sink = RawSink(self.inst)
        self.sink_front, _ = start_in_front(self.folder / "nginx-raw", self.sink.port)
        log = open(self.folder / "workers.log", "ab")
        for _ in range(self.n_workers):
            self.workers.append(subprocess.Popen(self.worker_cmd, cwd=ROOT, env={**os.environ, **self.env},
                                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
        return self

    def job_pids(self) -> dict[int, str]:
        """The processes whose RSS is sampled: gunicorn's worker and the job workers."""
        pids = self.server.pids()
        names = {p: "gunicorn worker" for p in pids[1:]}
        names.update({w.pid: f"clipzy worker {i + 1}" for i, w in enumerate(self.workers)})
        return names

    def stop(self) -> None:
        """Stop the job workers (SIGTERM, they drain), nginx, the sink and gunicorn."""
        for w in self.workers:
            w.terminate()
        for w in self.workers:
            try:
                w.wait(70)
            except subprocess.TimeoutExpired:
                w.kill()
        for front in (self.front, self.sink_front):
            if front:
                front.stop()
        if self.sink:
            self.sink.close()
        self.server.stop(timeout=40)


def job_feeder(api: Client, video_id: str, stop: threading.Event, failures: list[str]) -> None:
    """Keep one extract job queued behind the running ones, so the job pool never idles."""
    n = 0
    while not stop.is_set():
        try:
            status, body = api.get("/api/v1/health", timeout=30)
            if status != 200:
                failures.append(f"health {status}")
            elif body["data"]["workers"]["queued"] < 1:
                n += 1  # a distinct config per job: the same one again would be JOB_ALREADY_PROCESSING
                status, body = api.post("/api/v1/jobs", {"video_id": video_id, "template_video_id": None,
                                                         "config": {"duration_seconds": n}}, timeout=30)
                if status != 200:
                    failures.append(f"create job {status} {body}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"feeder {type(exc).__name__}: {exc}")
        stop.wait(0.5)


# -- CPU accounting and the profile ---------------------------------------------------

def _proc_jiffies(pid: int) -> int:
    """utime + stime of ``pid`` (all its threads), in clock ticks; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _busy_jiffies() -> int:
    """Clock ticks all CPUs spent busy since boot (/proc/stat: everything but idle and iowait)."""
    vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(vals) - vals[3] - vals[4]


class CpuMeter:
    """Cores used during a stretch of time: by each of the bench's own processes, and by every other process."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.tick = os.sysconf("SC_CLK_TCK")
        self._start = (time.monotonic(), _busy_jiffies(), {k: [_proc_jiffies(p) for p in v] for k, v in groups.items()})

    def stop(self) -> dict[str, float]:
        """{group: cores} plus ``other processes`` and ``all``, averaged since the meter started."""
        t0, busy0, per0 = self._start
        wall = time.monotonic() - t0
        out = {k: sum(_proc_jiffies(p) - j for p, j in zip(v, per0[k])) / self.tick / wall for k, v in self.groups.items()}
        out["all"] = (_busy_jiffies() - busy0) / self.tick / wall
        out["other processes"] = max(0.0, out["all"] - sum(v for k, v in out.items() if k != "all"))
        return {k: round(v, 2) for k, v in out.items()}


def start_profile(pid: int, path: Path, seconds: float) -> subprocess.Popen | None:
    """py-spy (if installed) sampling ``pid`` while it holds the GIL, 50 Hz, without pausing it."""
    exe = shutil.which("py-spy") or (str(VENV_BIN / "py-spy") if (VENV_BIN / "py-spy").exists() else None)
    if exe is None:
        print("py-spy is not installed (pip install py-spy): no profile", flush=True)
        return None
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50", "--gil",
                             "--nonblocking", "--format", "raw", "--output", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


PROFILE_PARTS = (  # (label, a frame that marks it), first match wins: where gunicorn's worker holds the GIL
    ("upload bodies: read, parse, write", "_parse_multipart (clipzy/api/uploads.py"),
    ("uploads: probe and store", "store_video (clipzy/jobs/intake.py"),
    ("jobs: the engine's stages", "Runner._run_job (clipzy/jobs/runner.py"),
    ("other requests: polls, health, lists (Flask, views, JSON, SQLite)", "Flask.__call__ (flask/app.py"),
    ("gunicorn: event loop, HTTP parsing, responses", "gunicorn/workers/gthread.py"),
)


def _function(frame: str) -> str:
    """py-spy's ``name (file:line)`` without the line."""
    head, _, rest = frame.rpartition(":")
    return f"{head})" if rest.endswith(")") and rest[:-1].isdigit() else frame


def profile_top(path: Path, n: int = 12) -> dict[str, list[tuple[float, str]]]:
    """From py-spy's raw output: the share of samples per part of the worker (``PROFILE_PARTS``) and the
    ``n`` functions most often on top of the stack (lines of one function together)."""
    parts: dict[str, int] = {}
    leaves: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, k = line.rpartition(" ")
        if not stack or not k.isdigit():
            continue
        total += int(k)
        part = next((label for label, mark in PROFILE_PARTS if mark in stack), "other (threads' start, webhooks, GC)")
        parts[part] = parts.get(part, 0) + int(k)
        leaf = _function(stack.split(";")[-1])
        leaves[leaf] = leaves.get(leaf, 0) + int(k)
    if not total:
        return {"parts": [], "functions": []}

    def ranked(d: dict[str, int], m: int) -> list[tuple[float, str]]:
        return [(round(c / total, 4), k) for k, c in sorted(d.items(), key=lambda kv: -kv[1])[:m]]

    return {"samples": [(float(total), "samples")], "parts": ranked(parts, len(parts)), "functions": ranked(leaves, n)}


# -- the run --------------------------------------------------------------------------

class Run:
    """What one run records: phases (label, start, end on CLOCK_MONOTONIC), rounds, RSS, failures."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float, float]] = []
        self.rounds: list[dict[str, float]] = []
        self.rss: dict[int, list[tuple[float, int]]] = {}
        self.failures: list[str] = []
        self.cpu: dict[str, float] = {}

    def timed(self, label: str, fn, *args, **kw):
        """``fn(*args, **kw)`` recorded as a phase named ``label``; returns its result."""
        start = time.monotonic()
        try:
            return fn(*args, **kw)
        finally:
            self.phases.append((label, start, time.monotonic()))

    def phase_of(self, t: float) -> str:
        return next((label for label, a, b in self.phases if a <= t <= b), "quiet")


def upload_rounds(stack: Stack, big: Path, args: argparse.Namespace, run: Run, t0: float) -> None:
    """``args.rounds`` rounds spread over the run: a raw copy through nginx, then the same uploads to the API."""
    every = (args.duration - 25.0) / max(1, args.rounds)
    for k in range(args.rounds):
        while time.monotonic() - t0 < 8.0 + k * every:
            time.sleep(0.2)
        raw, fails = run.timed("raw copy", concurrent_uploads, stack.sink_front.port, big, args.uploads,
                               check_size=False)
        run.failures += fails
        time.sleep(2.0)
        kept: list[str] = []
        app, fails = run.timed("uploads", concurrent_uploads, stack.front.port, big, args.uploads, check_size=True,
                               stored=kept)
        run.failures += fails
        for video_id in kept:  # the API has no DELETE /videos: the bench removes the stored files itself
            for f in (stack.inst / "uploads").glob(f"{video_id}.*"):
                f.unlink()
        run.rounds.append({"start_s": round(run.phases[-2][1] - t0, 1), "raw_mb_s": round(raw, 1),
                           "upload_mb_s": round(app, 1), "share": round(app / raw, 3)})
        print(f"round {k + 1}: raw copy {raw:.0f} MB/s, uploads {app:.0f} MB/s ({100 * app / raw:.0f} %)", flush=True)


def sample_rss(pids: dict[int, str], run: Run, stop: threading.Event, t0: float) -> None:
    """VmRSS of ``pids`` every 0.5 s into ``run.rss``."""
    while not stop.is_set():
        for p in pids:
            run.rss.setdefault(p, []).append((time.monotonic() - t0, rss_kib(p)[0]))
        stop.wait(0.5)


def wait_first_job(api: Client, timeout: float) -> float:
    """Seconds until the first job completed (model loading, numba compile), at most ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        status, body = api.get("/api/v1/jobs?status=completed&page_size=1", timeout=30)
        if status == 200 and body["data"]["total"]:
            break
        time.sleep(0.5)
    return time.monotonic() - start


def job_totals(api: Client) -> dict[str, Any]:
    """Jobs completed and failed, and the mean processing seconds of the completed ones (last 100)."""
    out: dict[str, Any] = {}
    for status in ("completed", "failed"):
        code, body = api.get(f"/api/v1/jobs?status={status}&page_size=100", timeout=30)
        out[status] = body["data"]["total"] if code == 200 else None
        if status == "completed" and code == 200:
            secs = [_seconds(j["completed_at"]) - _seconds(j["started_at"]) for j in body["data"]["jobs"]]
            out["mean_job_s"] = round(sum(secs) / len(secs), 2) if secs else None
    return out


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def load(stack: Stack, big: Path, args: argparse.Namespace) -> tuple[Run, list[tuple[float, float]], dict]:
    """The measured part of a run; returns (run, poll samples, job totals)."""
    api = Client(stack.front.port)
    run = Run()
    status, body = api.upload(args.job_clip, timeout=120)
    if status != 200:
        raise RuntimeError(f"job clip upload failed: {status} {body}")
    stop = threading.Event()
    feeder = threading.Thread(target=job_feeder, args=(api, body["data"]["video_id"], stop, run.failures), daemon=True)
    feeder.start()
    print(f"first job completed after {wait_first_job(api, 180):.0f} s (warm-up)", flush=True)
    ctx = multiprocessing.get_context("spawn")
    poll_stop, results = ctx.Event(), ctx.Queue()
    pollers = ctx.Process(target=poller_process, args=(stack.front.port, args.poll_rate, args.pollers, poll_stop, results))
    pollers.start()
    t0 = time.monotonic()
    sampler = threading.Thread(target=sample_rss, args=(stack.job_pids(), run, stop, t0), daemon=True)
    sampler.start()
    gunicorn = stack.server.pids()
    nginx = [p for front in (stack.front, stack.sink_front) for p in [front.proc.pid, *children(front.proc.pid)]]
    meter = CpuMeter({"gunicorn": gunicorn, "job workers": [w.pid for w in stack.workers], "nginx (both)": nginx,
                      "bench clients and sink": [os.getpid(), pollers.pid]})
    spy = start_profile(gunicorn[-1], Path(args.profile), args.duration) if args.profile else None
    try:
        upload_rounds(stack, big, args, run, t0)
        while time.monotonic() - t0 < args.duration:
            time.sleep(0.5)
    finally:
        run.cpu = meter.stop()
        poll_stop.set()
        samples, poll_failures = results.get(timeout=60)
        pollers.join(10)
        stop.set()
        feeder.join(35)
        sampler.join(5)
        if spy:
            spy.wait(60)
    run.failures += poll_failures
    return run, samples, job_totals(api)


# -- the report -----------------------------------------------------------------------

def pct(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``, None when empty."""
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.0f} ms"


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def poll_rows(run: Run, samples: list[tuple[float, float]]) -> tuple[list[tuple[str, str, str]], dict]:
    """Table rows and JSON figures of the poll latencies, per phase (quiet, raw copy, uploads)."""
    by_phase: dict[str, list[float]] = {"quiet": [], "raw copy": [], "uploads": []}
    for start, lat in samples:
        by_phase[run.phase_of(start)].append(lat)
    rows, figures = [], {}
    for label, name in (("quiet", "jobs running, no upload in flight"), ("uploads", "jobs running, uploads in flight"),
                        ("raw copy", "jobs running, raw copy in flight")):
        lat = by_phase[label]
        p50, p99 = pct(lat, 50), pct(lat, 99)
        figures[label] = {"n": len(lat), "p50_s": p50, "p99_s": p99, "max_s": max(lat, default=None)}
        target = "" if label == "raw copy" else f"p99 < 250 ms {_verdict(p99 is not None and p99 < 0.25)}"
        rows.append((f"GET /jobs/{{id}} p50 / p99 / max, {name}",
                     f"{_ms(p50)} / {_ms(p99)} / {_ms(max(lat, default=None))} ({len(lat)} polls)", target))
    return rows, figures


def rss_rows(run: Run, names: dict[int, str]) -> tuple[list[tuple[str, str, str]], bool]:
    """Rows of RSS after 60 s / at the end / peak per process, and whether every one stayed flat (+10 %)."""
    rows, flat_all = [], True
    for p, series in run.rss.items():
        live = [kib for _, kib in series if kib]
        at_60 = next((kib for t, kib in series if t >= 60.0 and kib), None)
        end, peak = (live[-1], max(live)) if live else (0, 0)
        flat = at_60 is not None and end <= 1.10 * at_60
        flat_all &= flat
        rows.append((f"RSS {names.get(p, p)} 60 s / end / peak, MiB", f"{(at_60 or 0) / 1024:.0f} / {end / 1024:.0f} / "
                     f"{peak / 1024:.0f}", f"end <= 60 s + 10 % {_verdict(flat)}"))
    return rows, flat_all


def report(args: argparse.Namespace, stack: Stack, big: Path, run: Run, samples: list, jobs: dict,
           elapsed: float) -> dict:
    """Print the table; returns the figures for the JSON file."""
    poll_table, polls = poll_rows(run, samples)
    raw = sum(r["raw_mb_s"] for r in run.rounds) / max(1, len(run.rounds))
    up = sum(r["upload_mb_s"] for r in run.rounds) / max(1, len(run.rounds))
    share = up / raw if raw else 0.0
    jobs_where = (f"{stack.n_workers} x clipzy worker" if stack.n_workers else
                  "gunicorn's own job pool (no `clipzy worker` command here)")
    rows = [("set-up", f"nginx -> gunicorn.conf.py; jobs: {jobs_where}; {os.cpu_count()} cores", ""),
            ("load time", f"{elapsed:.0f} s, {len(samples) / elapsed:.0f} polls/s", f"{args.poll_rate:.0f}/s"),
            ("extract jobs completed / failed, mean s", f"{jobs['completed']} / {jobs['failed']}, {jobs['mean_job_s']}",
             "failed 0"),
            *poll_table,
            (f"rounds of {args.uploads} x {big.stat().st_size / 1e6:.0f} MB: raw copy / uploads, MB/s",
             "  ".join(f"{r['raw_mb_s']:.0f}/{r['upload_mb_s']:.0f}" for r in run.rounds), ""),
            ("upload throughput through nginx", f"{up:.0f} MB/s = {100 * share:.0f} % of the raw copy through nginx"
             f" ({raw:.0f} MB/s)", f">= 50 % {_verdict(share >= 0.5)}")]
    rss_table, flat = rss_rows(run, stack.job_pids())
    rows += rss_table + [("failed requests", str(len(run.failures)), f"0 {_verdict(not run.failures)}")]
    rows.append(("CPU cores used during the load (of all, by whom)",
                 f"{run.cpu.get('all', 0):.2f} of {os.cpu_count()}: " + ", ".join(
                     f"{k} {v:.2f}" for k, v in run.cpu.items() if k != "all" and (v or k == "other processes")), ""))
    w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    print(f"\n{'measure':<{w0}}  {'value':<{w1}}  target")
    print("-" * (w0 + w1 + 30))
    for name, value, target in rows:
        print(f"{name:<{w0}}  {value:<{w1}}  {target}")
    for f in run.failures[:10]:
        print("FAILED:", f)
    top: dict[str, list[tuple[float, str]]] = {}
    if args.profile and Path(args.profile).is_file():
        top = profile_top(Path(args.profile))
        n = int(top["samples"][0][0]) if top.get("samples") else 0
        print(f"\nprofile of gunicorn's worker while it holds the GIL (py-spy at 50 Hz, {n} samples in "
              f"{args.duration:.0f} s = the GIL held {100 * n / 50 / args.duration:.0f} % of the time; {args.profile})")
        print("  by part (inclusive):")
        for share_, label in top["parts"]:
            print(f"  {100 * share_:5.1f} %  {label}")
        print("  top of stack, by function:")
        for share_, leaf in top["functions"]:
            print(f"  {100 * share_:5.1f} %  {leaf}")
    return {"args": {k: str(v) for k, v in vars(args).items()}, "workers": stack.n_workers, "polls": polls,
            "rounds": run.rounds, "upload_share": share, "jobs": jobs, "rss_flat": flat, "cpu_cores": run.cpu,
            "profile_top": top, "failures": run.failures}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=100.0, help="seconds of load after the warm-up (>= 70)")
    ap.add_argument("--uploads", type=int, default=20, help="concurrent uploads per round")
    ap.add_argument("--size-mb", type=float, default=50.0, help="size of the uploaded video, MB")
    ap.add_argument("--poll-rate", type=float, default=200.0, help="GET /jobs/{id} per second, all pollers together")
    ap.add_argument("--pollers", type=int, default=20, help="poller keep-alive connections")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of raw copy + uploads")
    ap.add_argument("--workers", type=int, default=2, help="`clipzy worker` processes (when the command exists)")
    ap.add_argument("--job-clip", default=str(SHARED / "realshort.mp4"), help="the video of every extract job")
    ap.add_argument("--keep", action="store_true", help="keep the run's folder (instance, logs) under bench/out/")
    ap.add_argument("--profile", metavar="FILE", help="py-spy gunicorn's worker during the load into FILE (raw "
                    "stacks; it perturbs the latencies a little) and print the top entries")
    args = ap.parse_args(argv)
    if args.duration < 70:
        raise SystemExit("--duration must be at least 70 s (RSS is compared with its value after one minute)")
    OUT.mkdir(parents=True, exist_ok=True)
    big = make_video(OUT / f"load-{int(args.size_mb)}mb.mp4", args.size_mb)
    folder = OUT / f"load-run-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    stack = Stack(folder, args.workers)
    try:
        stack.start()
        start = time.monotonic()
        run, samples, jobs = load(stack, big, args)
        figures = report(args, stack, big, run, samples, jobs, time.monotonic() - start)
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    out = OUT / f"load-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(figures, indent=1))
    print(f"\nresults: {out.relative_to(ROOT)}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
