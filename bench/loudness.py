"""Loudness meter accuracy on the EBU test signals (Tech 3341 / 3342) and pyloudnorm.

Prints, for the engine's one meter (``clipzy.engine.analysis.loudness``): integrated
loudness of the EBU 3341 sines and gated sequences against their nominal −23 / −33 LUFS,
the loudness range of the four EBU 3342 sequences against their nominal LRA, the true peak
of quarter-rate sines at four phases against the nominal −6.02 dBTP, and the integrated
loudness of stereo pink noise against pyloudnorm's. tests/test_loudness.py asserts looser
bounds (0.1 LU, 1 LU, 0.3 dB, 0.05 LU) on the same signals.

Usage:  .venv/bin/python bench/loudness.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clipzy.engine.analysis import loudness  # noqa: E402
from tests.synth import audio as S  # noqa: E402

SR = 48000


def main() -> None:
    rows = []
    for level in (-23.0, -33.0):
        r = loudness.measure(S.sine(1000, level, 20.0), sr=SR, layout="stereo")
        rows.append(("3341 sine", f"{level:g} LUFS", f"{r.integrated_lufs:.3f}", abs(r.integrated_lufs - level)))
    for name, parts in (("3341 case 3", [(-36, 10), (-23, 60), (-36, 10)]),
                        ("3341 case 4", [(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)])):
        r = loudness.measure(S.tone_sequence(parts), sr=SR, layout="stereo", with_true_peak=False)
        rows.append((name, "-23 LUFS", f"{r.integrated_lufs:.3f}", abs(r.integrated_lufs + 23)))
    for parts, lra in (([(-20, 20), (-30, 20)], 10.0), ([(-20, 20), (-15, 20)], 5.0), ([(-40, 20), (-20, 20)], 20.0),
                       ([(-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)], 15.0)):
        r = loudness.measure(S.tone_sequence(parts), sr=SR, layout="stereo", with_true_peak=False)
        rows.append(("3342 LRA", f"{lra:g} LU", f"{r.loudness_range_lu:.3f}", abs(r.loudness_range_lu - lra)))
    for phase in (0.0, 45.0, 60.0, 67.5):
        r = loudness.measure(S.sine(SR / 4, -6.02, 1.0, channels=2, phase_deg=phase), sr=SR, layout="stereo")
        rows.append((f"true peak, phase {phase:g}°", "-6.02 dBTP", f"{r.true_peak_dbtp:.3f}", abs(r.true_peak_dbtp + 6.02)))
    import pyloudnorm

    x = np.stack([S.pink_noise(8.0, seed=1), S.pink_noise(8.0, seed=2, rms_dbfs=-26)], axis=1)
    ref = pyloudnorm.Meter(SR, filter_class="DeMan").integrated_loudness(x.astype(np.float64))
    ours = loudness.measure(x, sr=SR, layout="stereo").integrated_lufs
    rows.append(("pink noise vs pyloudnorm", f"{ref:.3f} LUFS", f"{ours:.3f}", abs(ours - ref)))
    print("| signal | nominal | measured | error |")
    print("|---|---|---|---|")
    for name, nominal, measured, err in rows:
        print(f"| {name} | {nominal} | {measured} | {err:.3f} |")
    groups = {"integrated (3341)": [e for n, _, _, e in rows if n.startswith("3341")],
              "LRA (3342)": [e for n, _, _, e in rows if n.startswith("3342")],
              "true peak": [e for n, _, _, e in rows if n.startswith("true peak")]}
    print()
    for name, errs in groups.items():
        print(f"max error, {name}: {max(errs):.3f}")


if __name__ == "__main__":
    main()
