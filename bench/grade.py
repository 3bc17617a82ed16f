"""Colour transfer: a known grade recovered from a graded stretch of the same real shot.

For each case, the template is stretch A of a shared clip graded by a known LUT and the
footage is stretch B untouched; the engine's transfer (colour profiles measured by the
production ColorAnalyzer, LUT from ``editing.grade.build_lut``, applied in C by lut3d) is
compared with B graded by the same LUT. Prints ΔE2000 after the transfer (and of the
untouched footage), the Lab Wasserstein distance to the template before → after, and the
SSIM structure term (the transfer must not change the picture's structure).
tests/test_lut.py asserts looser versions of the same numbers on the cases marked "tested".

Usage:  .venv/bin/python bench/grade.py [--media ../shared/media]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.synth import apply as sa  # noqa: E402

CASES = [("birds.mp4", 0.0, 0.5, g) for g in sa.GRADES] + [("bigbuckbunny.mp4", 0.2, 2.0, g) for g in sa.GRADES]
TESTED = {(c, g) for c, _, _, g in CASES if c == "birds.mp4" or g in ("warm_film", "cool_desat")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    args = ap.parse_args()
    print("| clip / grade | ΔE2000 after (untouched) | Lab Wasserstein before → after | SSIM structure | in tests |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="clipzy-bench-grade-") as tmp:
        for clip, ta, tb, grade in CASES:
            r = sa.grade_recovery(str(Path(args.media) / clip), ta, tb, grade, workdir=tmp)
            print(f"| {clip.split('.')[0]} {grade} | {r['de2000']:.2f} ({r['de2000_untouched']:.2f}) | "
                  f"{r['wasserstein_before']:.1f} → {r['wasserstein_after']:.1f} | {r['ssim_structure']:.3f} | "
                  f"{'yes' if (clip, grade) in TESTED else 'no'} |")


if __name__ == "__main__":
    main()
