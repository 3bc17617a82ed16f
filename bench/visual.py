"""Speed of the colour and motion analysers beside the plain FramePump decode floor.

Usage: python -m bench.visual [clip ...]   (default: endcard_fade.mp4 and cockatoo.mp4 from
../shared/media). For each clip it runs, best of ``--repeat`` runs:

* ``decode``: FramePump with one no-op consumer at the analysers' size (320 px wide) — the
  cost of decoding and scaling that any visual analysis pays anyway;
* ``color`` / ``motion``: time spent inside ``push`` (ms per pushed frame, and seconds of
  analysis per minute of video), measured while the pump runs;
* ``both``: wall time of one pump feeding both analysers.

The analysers run in the calling thread while the pump decodes in its own thread, so on a
machine with spare cores ``both`` wall time stays close to ``decode``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from clipzy.engine import media
from clipzy.engine.analysis.color import ColorAnalyzer
from clipzy.engine.analysis.motion import MotionAnalyzer

SHARED = Path(os.environ.get("CLIPZY_SHARED_MEDIA", Path(__file__).resolve().parent.parent.parent / "shared" / "media"))


class NoOp:
    """A consumer that takes every frame and does nothing."""

    def __init__(self, info: media.VideoInfo) -> None:
        self.frame_size = media.fit_width(info, 320)
        self.every_s = 0.0

    def push(self, image: np.ndarray, t_s: float) -> None:
        pass


class Timed:
    """Wraps a consumer and adds up the seconds spent in its ``push``."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.frame_size = inner.frame_size
        self.every_s = inner.every_s
        self.seconds = 0.0
        self.pushes = 0

    def push(self, image: np.ndarray, t_s: float) -> None:
        t = time.perf_counter()
        self.inner.push(image, t_s)
        self.seconds += time.perf_counter() - t
        self.pushes += 1


def bench(path: str, repeat: int) -> dict:
    info = media.probe(path)
    best: dict = {}
    for _ in range(repeat):
        t = time.perf_counter()
        media.FramePump(path, [NoOp(info)], info=info).run()
        dec = time.perf_counter() - t
        c, m = Timed(ColorAnalyzer(info)), Timed(MotionAnalyzer(info))
        t = time.perf_counter()
        media.FramePump(path, [c, m], info=info).run()
        both = time.perf_counter() - t
        t = time.perf_counter()
        c.inner.finish([(0.0, info.duration_seconds)])
        cfin = time.perf_counter() - t
        t = time.perf_counter()
        m.inner.finish([(0.0, info.duration_seconds)])
        mfin = time.perf_counter() - t
        run = {"decode": dec, "both": both, "color": c.seconds + cfin, "color_pushes": c.pushes,
               "motion": m.seconds + mfin, "motion_pushes": m.pushes}
        for k, v in run.items():
            best[k] = v if k not in best else min(best[k], v)
    best["info"] = info
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", default=[str(SHARED / "endcard_fade.mp4"), str(SHARED / "cockatoo.mp4")])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    head = (f"{'clip':<22}{'size':>10}{'dur s':>7}{'decode s':>10}{'dec s/min':>10}"
            f"{'color ms/f':>11}{'frames':>7}{'color s/min':>12}{'motion ms/f':>12}{'pairs':>6}{'motion s/min':>13}"
            f"{'both wall s':>12}{'(c+m)/dec':>10}")
    print(head)
    for clip in args.clips:
        r = bench(clip, max(1, args.repeat))
        info = r["info"]
        per_min = 60.0 / max(info.duration_seconds, 1e-6)
        cms = 1000 * r["color"] / max(1, r["color_pushes"])
        mms = 1000 * r["motion"] / max(1, r["motion_pushes"])
        print(f"{Path(clip).name:<22}{info.width:>5}x{info.height:<4}{info.duration_seconds:>7.1f}{r['decode']:>10.2f}"
              f"{r['decode'] * per_min:>10.1f}{cms:>11.2f}{r['color_pushes']:>7}{r['color'] * per_min:>12.2f}"
              f"{mms:>12.2f}{r['motion_pushes']:>6}{r['motion'] * per_min:>13.2f}{r['both']:>12.2f}"
              f"{(r['color'] + r['motion']) / r['decode']:>10.2f}")


if __name__ == "__main__":
    main()
