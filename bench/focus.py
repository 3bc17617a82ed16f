"""Focus: the quality analyser's edge sharpness on sharp and defocused real frames.

Frames of the shared clips at 320 and 1280 px wide are blurred by a Gaussian of σ = 0 …
8 % of the width, encoded with H.264 at CRF 18 and 32 and decoded again; the production
:func:`clipzy.engine.analysis.quality.edge_sharpness` is measured on each (at the
analyser's 160 px). Prints, per σ, the range of the per-clip medians and the share of cases
the clip verdict would call out of focus (median < ``OUT_OF_FOCUS_SHARPNESS``). The
analyser's docstring quotes these figures.

Usage:  .venv/bin/python bench/focus.py [--media ../shared/media]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from clipzy.engine.analysis.quality import OUT_OF_FOCUS_SHARPNESS, edge_sharpness  # noqa: E402
from synth.video import read_frames, shared_media_frames, write_video  # noqa: E402

SOURCES = [("cockatoo.mp4", 2.0), ("bigbuckbunny.mp4", 1.0), ("wannaworktogether.mp4", 20.0),
           ("wannaworktogether.mp4", 60.0), ("wannaworktogether.mp4", 100.0), ("birds.mp4", 0.2),
           ("endcard_fade.mp4", 1.0), ("realshort.mp4", 0.2)]
SIGMAS = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08)  # share of the frame width


def median_sharpness(frames: list[np.ndarray]) -> float:
    """The clip-level figure: median over the frames whose sharpness is measured (NaN if none)."""
    v = np.array([edge_sharpness(cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (160, 90), interpolation=cv2.INTER_AREA))
                  for f in frames])
    v = v[~np.isnan(v)]
    return float(np.median(v)) if v.size else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    args = ap.parse_args()
    res: dict[float, list[float]] = {s: [] for s in SIGMAS}
    with tempfile.TemporaryDirectory(prefix="clipzy-bench-focus-") as tmp:
        for name, start in SOURCES:
            for width in (320, 1280):
                frames = shared_media_frames(str(Path(args.media) / name), start_s=start, count=4,
                                             size=(width, width * 9 // 16))
                for sigma in SIGMAS:
                    for crf in (18, 32):
                        blurred = [cv2.GaussianBlur(f, (0, 0), sigma * width) if sigma else f for f in frames]
                        path = str(Path(tmp) / "clip.mp4")
                        write_video(path, blurred, fps=25, crf=crf)
                        res[sigma].append(median_sharpness(read_frames(path)))
    print(f"OUT_OF_FOCUS_SHARPNESS = {OUT_OF_FOCUS_SHARPNESS}; {len(SOURCES)} sources × 2 sizes × 2 CRFs per row")
    print("| defocus σ (share of width) | sharpness min – max | no edge left | called out of focus |")
    print("|---|---|---|---|")
    for sigma, vals in res.items():
        v = np.asarray(vals)
        called = float(np.mean(v < OUT_OF_FOCUS_SHARPNESS))
        print(f"| {sigma:.2%} | {np.nanmin(v):.2f} – {np.nanmax(v):.2f} | {int(np.sum(v == 0))} | {called:.0%} |")


if __name__ == "__main__":
    main()
