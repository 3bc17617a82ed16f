"""When does a cut inside one take read as a cut? Thumbnail difference against the shot
detector's verdict.

The planner's rule "every cut reads as a cut" (``editing.selection``) needs a threshold on
the quality analyser's thumbnail difference (mean absolute difference of 32×18 grey
thumbnails, 0–255, :meth:`ClipQuality.difference`). For long takes of the shared clips this
script joins 1.5 s of the take to 1.5 s of the same take after a jump of 0.2 … 4 s (a jump
cut), or to the same moment punched in by 1.25× and 1.5× (a framing change), analyses each
join as footage with the production pipeline and records the difference across the join
and whether the shot detector found a boundary there (±0.2 s). Prints, per difference band,
how many joins the detector saw, and the share of joins seen above ``CUT_DIFFERENCE``.

Usage:  .venv/bin/python bench/cut_difference.py [--media ../shared/media]
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

from clipzy.engine import pipeline  # noqa: E402
from clipzy.engine.editing.selection import CUT_DIFFERENCE  # noqa: E402
from clipzy.engine.models import ModelRegistry  # noqa: E402
from synth.video import shared_media_frames, write_video  # noqa: E402

FPS = 25
SIZE = (320, 180)
HALF_S = 1.5
#: long takes: (file, start s, seconds of take available)
TAKES = [("cockatoo.mp4", 0.0, 13.5), ("bigbuckbunny.mp4", 0.0, 5.2), ("wannaworktogether.mp4", 20.0, 7.5),
         ("wannaworktogether.mp4", 60.0, 5.0), ("wannaworktogether.mp4", 120.0, 6.0), ("endcard_fade.mp4", 0.0, 6.0)]
JUMPS_S = (0.2, 0.4, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0)
BANDS = (0, 4, 8, 12, 16, 20, 30, 45, 255)


def punch_in(frame: np.ndarray, zoom: float) -> np.ndarray:
    h, w = frame.shape[:2]
    cw, ch = int(round(w / zoom)), int(round(h / zoom))
    x, y = (w - cw) // 2, (h - ch) // 2
    return cv2.resize(frame[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA)


def joins(media: Path) -> list[tuple[str, list[np.ndarray]]]:
    """(label, frames) of every join: jumps inside each take and punch-ins."""
    out = []
    n = int(HALF_S * FPS)
    for name, start, avail in TAKES:
        take = shared_media_frames(str(media / name), start_s=start, count=int(avail * FPS), size=SIZE)
        for j in JUMPS_S:
            b0 = n + int(round(j * FPS))
            if b0 + n <= len(take):
                out.append((f"{name}@{start:g} jump {j:g} s", take[:n] + take[b0:b0 + n]))
        for z in (1.25, 1.5):
            out.append((f"{name}@{start:g} punch-in {z:g}×", take[:n] + [punch_in(f, z) for f in take[n:2 * n]]))
    return out


def measure(frames: list[np.ndarray], tmp: str, models: ModelRegistry) -> tuple[float, bool]:
    """(thumbnail difference across the join, whether the detector found a boundary there)."""
    path = str(Path(tmp) / "join.mp4")
    write_video(path, frames, fps=FPS)
    state = pipeline.JobState(style_source=None, footage=[pipeline.Source.of(path)], config={},
                              artifacts=pipeline.Artifacts(style_dna=str(Path(tmp) / "dna.json")), models=models)
    pipeline.run_stage(pipeline.STAGES[0], state, pipeline.ensure(None))
    a = state.clips[0]
    assert a.quality is not None
    ts = a.quality.times_s
    before, after = ts[ts < HALF_S - 1e-6], ts[ts >= HALF_S - 1e-6]
    diff = a.quality.difference(float(before[-1]), float(after[0])) if before.size and after.size else None
    seen = any(abs(s - HALF_S) <= 0.2 for s, _ in a.shots_s[1:])
    return float(diff if diff is not None else 0.0), seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    ap.add_argument("-v", "--verbose", action="store_true", help="print every join")
    args = ap.parse_args()
    models = ModelRegistry.from_environ()
    rows = []
    with tempfile.TemporaryDirectory(prefix="clipzy-bench-cutdiff-") as tmp:
        for label, frames in joins(Path(args.media)):
            diff, seen = measure(frames, tmp, models)
            rows.append((label, diff, seen))
            if args.verbose:
                print(f"{label}: difference {diff:.1f}, detected {seen}", flush=True)
    d = np.array([r[1] for r in rows])
    s = np.array([r[2] for r in rows])
    jump = np.array(["jump" in r[0] for r in rows])
    print(f"CUT_DIFFERENCE = {CUT_DIFFERENCE} (grey levels); {len(rows)} joins over {len(TAKES)} long takes")
    print("| thumbnail difference | jumps seen by the detector | punch-ins seen |")
    print("|---|---|---|")
    for lo, hi in zip(BANDS, BANDS[1:]):
        m = (d >= lo) & (d < hi)
        print(f"| {lo}–{hi} | {int(s[m & jump].sum())}/{int((m & jump).sum())} | {int(s[m & ~jump].sum())}/{int((m & ~jump).sum())} |")
    over = jump & (d >= CUT_DIFFERENCE)
    under = jump & (d < CUT_DIFFERENCE)
    print(f"jumps ≥ CUT_DIFFERENCE seen: {s[over].mean():.0%} of {int(over.sum())}; "
          f"under it seen: {s[under].mean() if under.any() else float('nan'):.0%} of {int(under.sum())}; "
          f"punch-ins seen: {s[~jump].mean():.0%} of {int((~jump).sum())}")


if __name__ == "__main__":
    main()
