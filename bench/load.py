"""Load on a real gunicorn server (production config), loopback only, bounded in time.

Usage: python -m bench.load [--duration 140] [--uploads 20] [--size-mb 50] [--poll-rate 200]
                            [--stages decode|engine] [--rounds 4] [--keep]

What it does, in order (the whole run stays under about 3 minutes and stops by itself):

1. makes a valid ~50 MB MP4 in code (x264 lossless noise, 640x360) under bench/out/ (cached);
2. measures a plain loopback copy of the same bytes: ``--uploads`` clients send the file at once
   to a tiny raw socket sink, once discarding and once writing to a file in the same folder
   as the instance (the floor any HTTP upload is compared with);
3. starts ``gunicorn -c gunicorn.conf.py`` (the production config: one worker, gthread) on
   127.0.0.1 with an instance folder under bench/out/, and keeps jobs running all the time
   (``decode``: tests/slow_wsgi.py, whose analysis decodes the 50 MB video with FFmpeg frame
   threads, i.e. real work on every core; ``engine``: wsgi.py with the real engine on a
   shared clip, ``--job-clip``);
4. polls ``GET /api/v1/jobs/{id}`` at ``--poll-rate`` requests/s (keep-alive clients on a
   fixed schedule) for the whole run, measures the raw copy again while jobs run, and sends
   ``--rounds`` rounds of ``--uploads`` concurrent uploads of the 50 MB file spread over the
   run (disk use stays bounded: rounds x uploads x size, removed at the end);
5. samples the RSS of the gunicorn master and worker every 0.5 s.

It prints one table: upload throughput (and its share of the raw copy), poll latency
p50/p99/max while jobs run (with and without uploads in flight), jobs done, RSS per process
(after the first minute, at the end, peak) and failed requests. The exit status is 1 if any
request failed. Results also go to bench/out/load-<time>.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from procs import Server, rss_kib, upload_file  # noqa: E402

OUT = ROOT / "bench" / "out"
SHARED = Path(os.environ.get("CLIPZY_SHARED_MEDIA", ROOT.parent / "shared" / "media"))


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


# -- raw loopback copy ----------------------------------------------------------------

def raw_copy(path: Path, clients: int, *, sink_dir: Path | None) -> float:
    """``clients`` connections each send ``path`` to a raw socket sink at once; returns aggregate MB/s.

    The sink discards (``sink_dir`` None) or writes each stream to a file in ``sink_dir``.
    """
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(clients)
    port = srv.getsockname()[1]

    def serve_one(conn: socket.socket, n: int) -> None:
        buf = bytearray(1024 * 1024)
        view = memoryview(buf)
        fh = open(sink_dir / f"sink-{n}.bin", "wb") if sink_dir else None
        try:
            while (k := conn.recv_into(buf)) > 0:
                if fh:
                    fh.write(view[:k])
        finally:
            conn.close()
            if fh:
                fh.close()
                os.unlink(fh.name)

    def acceptor() -> None:
        for n in range(clients):
            conn, _ = srv.accept()
            threading.Thread(target=serve_one, args=(conn, n), daemon=True).start()

    def send() -> None:
        with socket.create_connection(("127.0.0.1", port)) as s, open(path, "rb") as fh:
            while data := fh.read(1024 * 1024):
                s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            s.recv(1)  # the sink closes when it has read everything

    acc = threading.Thread(target=acceptor, daemon=True)
    acc.start()
    senders = [threading.Thread(target=send) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    wall = time.perf_counter() - t0
    srv.close()
    return clients * path.stat().st_size / 1e6 / wall


# -- load -----------------------------------------------------------------------------

class Stats:
    """Shared, lock-protected records of one run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.polls: list[tuple[float, float, bool]] = []  # (t since start, latency s, during upload)
        self.failures: list[str] = []
        self.uploads: list[dict] = []
        self.jobs: list[str] = []
        self.uploading = 0
        self.reconnects = 0

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def poller(port: int, rate: float, stop: threading.Event, t0: float, stats: Stats, offset: float) -> None:
    """GET /api/v1/jobs/{id} at ``rate`` per second on one keep-alive connection, on a fixed schedule."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    period = 1.0 / rate
    due = time.perf_counter() + offset
    n = 0
    while not stop.is_set():
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        due += period
        with stats.lock:
            jobs = list(stats.jobs[-4:])
            during = stats.uploading > 0
        if not jobs:
            continue
        job_id = jobs[n % len(jobs)]
        n += 1
        start = time.perf_counter()
        try:
            try:
                conn.request("GET", f"/api/v1/jobs/{job_id}")
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed this idle keep-alive connection: reconnect and send again once,
                # as every HTTP client does for an idempotent GET on a reused connection
                with stats.lock:
                    stats.reconnects += 1
                conn.close()
                conn.request("GET", f"/api/v1/jobs/{job_id}")
                resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                stats.fail(f"GET job {resp.status} {body[:200]!r}")
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            stats.fail(f"GET job {type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        lat = time.perf_counter() - start
        with stats.lock:
            stats.polls.append((start - t0, lat, during))
    conn.close()


def job_feeder(server: Server, video_id: str, stop: threading.Event, stats: Stats) -> None:
    """Keep one job queued behind the running ones, so the pool never idles."""
    n = 0
    while not stop.is_set():
        try:
            status, body = server.get("/api/v1/health", timeout=30)
            if status != 200:
                stats.fail(f"health {status}")
            elif body["data"]["workers"]["queued"] < 1:
                n += 1
                status, body = server.post("/api/v1/jobs", {"video_id": video_id, "config": {"duration_seconds": n}},
                                           timeout=30)
                if status == 200:
                    with stats.lock:
                        stats.jobs.append(body["data"]["job_id"])
                else:
                    stats.fail(f"create job {status} {body}")
        except (OSError, http.client.HTTPException) as exc:
            stats.fail(f"feeder {type(exc).__name__}: {exc}")
        stop.wait(0.5)


def upload_round(server: Server, path: Path, clients: int, stats: Stats, t0: float) -> dict:
    """``clients`` concurrent uploads of ``path``; returns the round's numbers."""
    times: list[float] = []

    def one(i: int) -> None:
        start = time.perf_counter()
        try:
            status, body = upload_file(server.port, path, filename=f"load-{i}.mp4", timeout=300, chunk=1024 * 1024)
            if status != 200:
                stats.fail(f"upload {status} {str(body)[:200]}")
                return
            if body["data"]["file_size_bytes"] != path.stat().st_size:
                stats.fail("upload size mismatch")
        except (OSError, http.client.HTTPException) as exc:
            stats.fail(f"upload {type(exc).__name__}: {exc}")
            return
        times.append(time.perf_counter() - start)

    with stats.lock:
        stats.uploading += 1
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    with stats.lock:
        stats.uploading -= 1
    rnd = {"start_s": round(start - t0, 1), "wall_s": round(wall, 2), "ok": len(times),
           "mb_per_s": round(len(times) * path.stat().st_size / 1e6 / wall, 1),
           "p50_upload_s": round(sorted(times)[len(times) // 2], 2) if times else None}
    with stats.lock:
        stats.uploads.append(rnd)
    return rnd


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=140.0, help="seconds of load (jobs + polls), default 140")
    ap.add_argument("--uploads", type=int, default=20, help="concurrent uploads per round")
    ap.add_argument("--size-mb", type=float, default=50.0, help="size of the uploaded video, MB")
    ap.add_argument("--poll-rate", type=float, default=200.0, help="GET /jobs/{id} per second, all pollers together")
    ap.add_argument("--pollers", type=int, default=20, help="poller keep-alive connections")
    ap.add_argument("--rounds", type=int, default=4, help="upload rounds at most (disk use: rounds x uploads x size)")
    ap.add_argument("--stages", choices=("decode", "engine"), default="decode")
    ap.add_argument("--job-seconds", type=float, default=8.0, help="decode stages: seconds each job decodes")
    ap.add_argument("--job-clip", default=str(SHARED / "bigbuckbunny.mp4"),
                    help="engine stages: the footage of every job (default: shared bigbuckbunny.mp4)")
    ap.add_argument("--http-threads", type=int, default=None,
                    help="CLIPZY_HTTP_THREADS for gunicorn (default: gunicorn.conf.py as shipped)")
    ap.add_argument("--keep", action="store_true", help="keep the instance folder")
    args = ap.parse_args(argv)
    if args.duration < 70:
        raise ValueError("--duration must be at least 70 s (RSS is compared with the value after one minute)")

    OUT.mkdir(parents=True, exist_ok=True)
    t_gen = time.perf_counter()
    big = make_video(OUT / f"load-{int(args.size_mb)}mb.mp4", args.size_mb)
    print(f"video: {big.name} {big.stat().st_size / 1e6:.1f} MB ({time.perf_counter() - t_gen:.1f} s)", flush=True)

    inst = OUT / f"load-instance-{os.getpid()}"
    shutil.rmtree(inst, ignore_errors=True)
    inst.mkdir(parents=True)
    raw_discard = raw_copy(big, args.uploads, sink_dir=None)
    raw_file = raw_copy(big, args.uploads, sink_dir=inst)
    print(f"raw loopback copy, {args.uploads} clients: {raw_discard:.0f} MB/s discarded, {raw_file:.0f} MB/s to files",
          flush=True)

    env = {"LOG_LEVEL": "WARNING", "CLIPZY_TEST_SLOW_S": str(args.job_seconds)}
    if args.http_threads:
        env["CLIPZY_HTTP_THREADS"] = str(args.http_threads)
    module = "slow_wsgi:app" if args.stages == "decode" else "wsgi:app"
    server = Server(inst / "instance", module=module, env=env, log_path=inst / "gunicorn.log")
    stats = Stats()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    rss: dict[int, list[tuple[float, int]]] = {}
    try:
        server.start()
        pids = server.pids()
        names = {pids[0]: "gunicorn master", **{p: "gunicorn worker" for p in pids[1:]}}
        if args.stages == "decode":
            status, body = server.upload(big, filename="decode-jobs.mp4", timeout=300)
        else:
            status, body = server.upload(args.job_clip, timeout=300)
        if status != 200:
            raise RuntimeError(f"job video upload failed: {status} {body}")
        job_video = body["data"]["video_id"]

        t0 = time.perf_counter()
        threads.append(threading.Thread(target=job_feeder, args=(server, job_video, stop, stats), daemon=True))
        for i in range(args.pollers):
            threads.append(threading.Thread(target=poller, daemon=True, args=(
                server.port, args.poll_rate / args.pollers, stop, t0, stats, i / args.poll_rate)))
        for t in threads:
            t.start()

        def sample_rss() -> None:
            while not stop.is_set():
                for p in pids:
                    rss.setdefault(p, []).append((time.perf_counter() - t0, rss_kib(p)[0]))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()

        time.sleep(8.0)  # jobs and polls alone first
        raw_busy = raw_copy(big, args.uploads, sink_dir=inst)  # the same copy while jobs run
        print(f"raw loopback copy to files while jobs run: {raw_busy:.0f} MB/s", flush=True)
        time.sleep(2.0)
        # rounds spread over the run (10 s, ..., duration - 30 s), so some come after the first minute
        every = (args.duration - 40.0) / max(1, args.rounds - 1)
        for k in range(args.rounds):
            while time.perf_counter() - t0 < 10.0 + k * every:
                time.sleep(0.2)
            if time.perf_counter() - t0 > args.duration - 25:
                break
            rnd = upload_round(server, big, args.uploads, stats, t0)
            print(f"upload round {k + 1}: {rnd}", flush=True)
        while time.perf_counter() - t0 < args.duration:
            time.sleep(0.5)
        end_rss = {p: rss_kib(p) for p in pids}
        stop.set()
        for t in threads + [sampler]:
            t.join(35)
        status, body = server.get("/api/v1/jobs?status=completed&page_size=1")
        jobs_done = body["data"]["total"] if status == 200 else None
        status, body = server.get("/api/v1/jobs?status=failed&page_size=1")
        jobs_failed = body["data"]["total"] if status == 200 else None
        status, body = server.get("/api/v1/jobs?status=processing&page_size=100")
        in_progress = [j["progress_percent"] for j in body["data"]["jobs"]] if status == 200 else []
        elapsed = time.perf_counter() - t0
    finally:
        stop.set()
        server.stop(timeout=40)
        if not args.keep:
            shutil.rmtree(inst, ignore_errors=True)

    # -- report ---------------------------------------------------------------------
    lat_all = [lat for _, lat, _ in stats.polls]
    lat_up = [lat for _, lat, d in stats.polls if d]
    lat_quiet = [lat for _, lat, d in stats.polls if not d]
    ok_rounds = [r for r in stats.uploads if r["ok"]]
    up_mb_s = (sum(r["ok"] * big.stat().st_size / 1e6 for r in ok_rounds) / sum(r["wall_s"] for r in ok_rounds)
               if ok_rounds else 0.0)
    rows: list[tuple[str, str, str]] = []

    def row(name: str, value: str, target: str = "") -> None:
        rows.append((name, value, target))

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1000:.0f} ms"

    threads = f"CLIPZY_HTTP_THREADS={args.http_threads}" if args.http_threads else "threads as shipped"
    row("server", f"gunicorn.conf.py ({threads}), stages {args.stages}, MAX_CONCURRENT_JOBS default")
    row("load time", f"{elapsed:.0f} s")
    row("jobs completed / failed / running (progress %)", f"{jobs_done} / {jobs_failed} / {in_progress}", "failed 0")
    row("polls sent", f"{len(stats.polls)} ({len(stats.polls) / elapsed:.0f}/s)", f"{args.poll_rate:.0f}/s")
    p99_all = pct(lat_all, 99)

    def p99_target(v: float | None) -> str:
        return "p99 < 250 ms " + ("ok" if v is not None and v < 0.25 else "MISSED")

    row("GET /jobs/{id} p50 / p99 / max, whole run", f"{ms(pct(lat_all, 50))} / {ms(p99_all)} / {ms(max(lat_all, default=None))}",
        p99_target(p99_all))
    row("  ... jobs running, no upload in flight", f"{ms(pct(lat_quiet, 50))} / {ms(pct(lat_quiet, 99))} / {ms(max(lat_quiet, default=None))}",
        p99_target(pct(lat_quiet, 99)))
    row("  ... jobs running, during upload rounds", f"{ms(pct(lat_up, 50))} / {ms(pct(lat_up, 99))} / {ms(max(lat_up, default=None))}",
        p99_target(pct(lat_up, 99)))
    row(f"uploads ({args.uploads} x {big.stat().st_size / 1e6:.0f} MB), rounds",
        " ".join(f"{r['mb_per_s']:.0f}MB/s({r['wall_s']:.0f}s)" for r in stats.uploads) or "-")
    share = up_mb_s / raw_busy if raw_busy else 0.0
    row("raw loopback copy: discard / to files / to files while jobs run",
        f"{raw_discard:.0f} / {raw_file:.0f} / {raw_busy:.0f} MB/s")
    row("upload throughput", f"{up_mb_s:.0f} MB/s = {100 * share:.0f} % of the raw copy to files while jobs run"
        f" ({100 * up_mb_s / raw_discard:.0f} % of raw discard when idle)",
        ">= 50 % " + ("ok" if share >= 0.5 else "MISSED"))
    flat_all = True
    for p, series in rss.items():
        at_60 = next((kib for t, kib in series if t >= 60.0), None)
        end_kib, peak_kib = end_rss.get(p, (0, 0))
        flat = at_60 is not None and end_kib <= 1.10 * at_60
        flat_all &= flat
        row(f"RSS {names.get(p, p)} (pid {p}) 60 s / end / peak",
            f"{(at_60 or 0) / 1024:.0f} / {end_kib / 1024:.0f} / {peak_kib / 1024:.0f} MiB",
            "end <= 60 s + 10 % " + ("ok" if flat else "MISSED"))
    row("keep-alive reconnects (GET re-sent)", str(stats.reconnects))
    row("failed requests", str(len(stats.failures)), "0 " + ("ok" if not stats.failures else "MISSED"))

    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print()
    print(f"{'measure':<{w0}}  {'value':<{w1}}  target")
    print("-" * (w0 + w1 + 30))
    for name, value, target in rows:
        print(f"{name:<{w0}}  {value:<{w1}}  {target}")
    for f in stats.failures[:10]:
        print("FAILED:", f)

    result = {"args": vars(args), "raw_discard_mb_s": raw_discard, "raw_file_mb_s": raw_file,
              "raw_file_busy_mb_s": raw_busy,
              "upload_mb_s": up_mb_s, "rounds": stats.uploads, "polls": len(stats.polls),
              "poll_p50_s": pct(lat_all, 50), "poll_p99_s": p99_all,
              "poll_quiet_p99_s": pct(lat_quiet, 99), "poll_upload_p99_s": pct(lat_up, 99),
              "jobs_completed": jobs_done, "jobs_failed": jobs_failed, "jobs_running_progress": in_progress,
              "rss": {str(p): {"name": names.get(p), "end_kib": end_rss.get(p, (0, 0))[0],
                               "peak_kib": end_rss.get(p, (0, 0))[1],
                               "series": series[::4]} for p, series in rss.items()},
              "rss_flat": flat_all, "failures": stats.failures}
    out = OUT / f"load-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"\nresults: {out.relative_to(ROOT)}")
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
