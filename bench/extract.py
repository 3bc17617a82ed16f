"""Whole Style DNA extraction against the decode floor, measured in the same run.

    .venv/bin/python bench/extract.py [VIDEO ...] [--seconds 20] [--no-model]

Without VIDEO it makes a 1080p30 H.264 clip of real camera footage from
../shared/media/cockatoo.mp4 (upscaled, 20 s) and also measures wannaworktogether.mp4
(480×352 with music and on-screen text). For each video it prints:

* decode floor: a plain threaded PyAV decode of every frame (no conversion);
* each analyser's time inside the one decode pass (time spent in its ``push``);
* the video pass (wall), the audio pass (loudness, beats, speech), the motion/text finish,
  the Style DNA assembly, the total, and total ÷ floor;
* per minute of video: audio analysis and text analysis seconds (issue targets ≤ 3 s and ≤ 20 s).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
MEDIA = ROOT.parent / "shared" / "media"


def make_1080p(path: Path, seconds: float) -> Path:
    """Real handheld footage (cockatoo.mp4) upscaled to 1920×1080 at 30 fps, H.264 CRF 20."""
    with av.open(str(MEDIA / "cockatoo.mp4")) as src, av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 1920, 1080, "yuv420p"
        vs.options = {"crf": "20", "preset": "veryfast"}
        frames = [f.reformat(width=1920, height=1080, format="yuv420p") for f in src.decode(video=0)]
        n = int(seconds * 30)
        for i in range(n):  # 20 fps source → 30 fps by time, looping back and forth
            k = int(i * 20 / 30) % (2 * len(frames) - 2)
            f = frames[k if k < len(frames) else 2 * len(frames) - 2 - k]
            nf = av.VideoFrame.from_ndarray(f.to_ndarray(), format="yuv420p")
            nf.pts = i
            for p in vs.encode(nf):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path


def decode_floor(path: str) -> float:
    t0 = time.perf_counter()
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            pass
    return time.perf_counter() - t0


class Timed:
    """Wrap a FramePump consumer and add up the seconds spent in its push()."""

    def __init__(self, inner):
        self.inner = inner
        self.frame_size = inner.frame_size
        self.every_s = inner.every_s
        self.seconds = 0.0

    def push(self, image, t_s):
        t0 = time.perf_counter()
        self.inner.push(image, t_s)
        self.seconds += time.perf_counter() - t0


def measure(path: str, *, models) -> dict:
    """Walk the extract stages on ``path`` (each timed) with the analysers' push time attributed."""
    from clipzy.engine import pipeline

    floor = decode_floor(path)
    with tempfile.TemporaryDirectory(prefix="clipzy-bench-dna-") as tmp:
        state = pipeline.JobState(style_source=pipeline.Source.of(path), footage=[], config={},
                                  artifacts=pipeline.Artifacts(style_dna=os.path.join(tmp, "dna.json")), models=models)
        timed: dict[str, Timed] = {}
        real_pump = pipeline.FramePump

        def pump(p, consumers, info=None):
            wrapped = []
            for c in consumers:
                t = Timed(c)
                timed[type(c).__name__] = t
                wrapped.append(t)
            return real_pump(p, wrapped, info=info)

        pipeline.FramePump = pump
        seconds = {}
        try:
            for stage in pipeline.stages_for(state):
                t0 = time.perf_counter()
                pipeline.run_stage(stage, state, pipeline.Control())
                seconds[stage.name] = time.perf_counter() - t0
        finally:
            pipeline.FramePump = real_pump
    info = state.style.info
    dna = state.style_dna
    # the analysers' finish() work happens after the pump: attribute it too
    row = {"video": os.path.basename(path), "duration_s": info.duration_seconds, "size": f"{info.width}x{info.height}",
           "floor_s": floor, "video_pass_s": seconds["video_analysis"], "audio_s": seconds["audio_analysis"],
           "motion_text_finish_s": seconds["motion_analysis"], "dna_s": seconds["style_extraction"],
           "total_s": sum(seconds.values()), "detector": dna["analysis"]["shot_detector"],
           "push_s": {k: v.seconds for k, v in timed.items()}}
    row["ratio"] = row["total_s"] / floor
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--no-model", action="store_true", help="use the classical shot detector")
    args = ap.parse_args()
    from clipzy.engine.models import ModelRegistry

    videos = list(args.videos)
    tmp = tempfile.mkdtemp(prefix="clipzy-bench-")
    # --no-model: an empty models folder, so the classical shot detector (and the VAD fallback) run
    models = ModelRegistry(Path(tmp) / "no-models") if args.no_model else \
        ModelRegistry(os.environ.get("CLIPZY_MODELS_PATH", ROOT / "instance" / "models"))
    if not videos:
        videos = [str(make_1080p(Path(tmp) / "cockatoo-1080p30.mp4", args.seconds)), str(MEDIA / "wannaworktogether.mp4")]
    # warm the process (model sessions, numba compile) on a short clip, reported separately
    t0 = time.perf_counter()
    measure(str(MEDIA / "realshort.mp4"), models=models)
    print(f"cold start (first extraction of a 1.2 s clip, sessions + numba): {time.perf_counter() - t0:.2f} s\n")
    rows = [measure(v, models=models) for v in videos]
    names = sorted({k for r in rows for k in r["push_s"]})
    head = ["video", "size", "dur s", "floor s"] + [f"{n} s" for n in names] + \
           ["video pass s", "audio s", "finish s", "total s", "total/floor", "audio s/min", "detector"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        cells = [r["video"], r["size"], f"{r['duration_s']:.1f}", f"{r['floor_s']:.2f}"]
        cells += [f"{r['push_s'].get(n, 0):.2f}" for n in names]
        cells += [f"{r['video_pass_s']:.2f}", f"{r['audio_s']:.2f}", f"{r['motion_text_finish_s']:.2f}", f"{r['total_s']:.2f}",
                  f"{r['ratio']:.2f}", f"{r['audio_s'] / r['duration_s'] * 60:.2f}", r["detector"]]
        print(" | ".join(cells))
    print("\ntext analysis per minute of video = TextAnalyzer push seconds ÷ duration × 60:")
    for r in rows:
        print(f"  {r['video']}: {r['push_s'].get('TextAnalyzer', 0) / r['duration_s'] * 60:.1f} s/min")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
