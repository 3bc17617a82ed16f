"""Cold start: a fresh ``clipzy extract`` of a small clip, and the first extract job after the service starts.

    .venv/bin/python bench/coldstart.py [--models instance/models]

1. ``clipzy extract small_5s.mp4`` (5 s of real footage at 640×360, bench/footage.py) in a
   fresh process, twice on a new instance folder: the first run fills the instance's caches
   (numba kernels, onnxruntime's optimised graphs), the second is what every later command
   costs. Target ≤ 2 s.
2. The service (gunicorn, the production config, a new instance folder; the prepared models
   from ``--models``): started, then ``../shared/media/realshort.mp4`` (1.2 s, 320×240)
   uploaded and an extract job posted the moment ``/health`` answers; the time from the job
   request to ``completed``. Twice: a first start on the new instance (caches empty), then a
   restart of the same instance. Target ≤ 3 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

import footage  # noqa: E402
from measure import Measured, load_average, run_measured  # noqa: E402

MEDIA = Path(os.environ.get("CLIPZY_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
CLIPZY = str(Path(sys.executable).parent / "clipzy")


def cold_cli(instance: Path, models: Path, video: Path) -> Measured:
    """``clipzy extract VIDEO`` in a fresh process on ``instance`` (models from ``models``)."""
    env = {**os.environ, "CLIPZY_INSTANCE_PATH": str(instance), "CLIPZY_MODELS_PATH": str(models)}
    m = run_measured([CLIPZY, "extract", str(video), "-o", str(instance / "dna.json")], env=env, cwd=str(ROOT))
    if m.returncode:
        raise SystemExit(f"clipzy extract failed ({m.returncode}): {m.stderr[-2000:]}")
    return m


def first_job(instance: Path, models: Path, clip: Path) -> tuple[float, float]:
    """Start the service on ``instance``; returns (seconds to /health, seconds from the job
    request to its completion) of an extract job on ``clip`` posted at once."""
    from procs import Server

    env = {"CLIPZY_MODELS_PATH": str(models), "LOG_LEVEL": "WARNING"}
    t0 = time.perf_counter()
    server = Server(instance, module="wsgi:app", env=env).start(timeout=120)
    up_s = time.perf_counter() - t0
    try:
        status, body = server.upload(clip)
        assert status in (200, 201), (status, body)
        video_id = body["data"]["video_id"]
        t1 = time.perf_counter()
        status, body = server.post("/api/v1/jobs", {"video_id": video_id, "template_video_id": None})
        assert status in (200, 201, 202), (status, body)
        job = server.wait_job(body["data"]["job_id"], lambda j: j["status"] in ("completed", "failed"),
                              timeout=600, what="completion")
        assert job["status"] == "completed", job
        return up_s, time.perf_counter() - t1
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, default=Path(os.environ.get("CLIPZY_MODELS_PATH", ROOT / "instance" / "models")))
    a = ap.parse_args()
    os.environ.pop("NUMBA_CACHE_DIR", None)  # each instance keeps its own caches, as the service does
    small = footage.build("small_5s", footage.WORK)
    print(f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="clipzy-cold-") as tmp:
        inst = Path(tmp) / "cli"
        first, again = cold_cli(inst, a.models, small), cold_cli(inst, a.models, small)
        print("| cold start | seconds | CPU s | peak MiB | target |")
        print("|---|---|---|---|---|")
        print(f"| `clipzy extract` 5 s 640×360, new instance (fills the caches) | {first.wall_s:.2f} | "
              f"{first.cpu_s:.2f} | {first.peak_mib:.0f} | |")
        print(f"| `clipzy extract` 5 s 640×360, fresh process | {again.wall_s:.2f} | {again.cpu_s:.2f} | "
              f"{again.peak_mib:.0f} | ≤ 2 s |")
        sinst = Path(tmp) / "service"
        for label in ("first start, new instance", "restart"):
            up, job = first_job(sinst, a.models, MEDIA / "realshort.mp4")
            print(f"| first extract job after the service starts ({label}; /health after {up:.1f} s), "
                  f"realshort.mp4 1.2 s 320×240 | {job:.2f} | | | ≤ 3 s |")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
