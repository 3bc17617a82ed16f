"""Global colour-transfer LUT: .cube I/O, lut3d in C, strength blending, colour recovery vs ground truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipzy.engine.editing import grade as lut
from tests.synth import apply as sa


def test_cube_roundtrip_and_order(tmp_path):
    rng = np.random.default_rng(0)
    L = rng.random((33, 33, 33, 3)).astype(np.float32)
    p = lut.write_cube(tmp_path / "x.cube", L)
    text = Path(p).read_text()
    lines = [ln for ln in text.splitlines() if ln and ln[0].isdigit()]
    assert "LUT_3D_SIZE 33" in text
    assert len(lines) == 33 ** 3
    # red index fastest: second row is lut[1, 0, 0], row 33 is lut[0, 1, 0]
    assert np.allclose([float(v) for v in lines[1].split()], L[1, 0, 0], atol=1e-6)
    assert np.allclose([float(v) for v in lines[33].split()], L[0, 1, 0], atol=1e-6)
    assert np.allclose([float(v) for v in lines[33 * 33].split()], L[0, 0, 1], atol=1e-6)
    assert np.allclose(lut.read_cube(p), L, atol=1e-6)


def test_read_cube_rejects_bad_files(tmp_path):
    (tmp_path / "a.cube").write_text("TITLE x\n0 0 0\n")
    with pytest.raises(ValueError):
        lut.read_cube(tmp_path / "a.cube")
    (tmp_path / "b.cube").write_text("LUT_3D_SIZE 2\n0 0 0\n1 1 1\n")
    with pytest.raises(ValueError):
        lut.read_cube(tmp_path / "b.cube")


def test_strength_zero_is_identity_and_blend_is_linear():
    src = {"lab_mean": [50, 0, 0], "lab_cov": np.diag([400, 60, 60]).tolist(), "luma_percentiles": [5, 12, 35, 50, 65, 88, 95]}
    dst = {"lab_mean": [45, 8, 20], "lab_cov": np.diag([300, 90, 120]).tolist(), "luma_percentiles": [8, 14, 33, 46, 60, 80, 90]}
    L0 = lut.build_lut(src, dst, strength=0.0)
    assert np.array_equal(L0, lut.identity())
    L1 = lut.build_lut(src, dst, strength=1.0)
    Lh = lut.build_lut(src, dst, strength=0.5)
    assert np.allclose(Lh, (L0 + L1) / 2, atol=1e-6)
    assert not lut.is_identity(L1)
    # warmer, more magenta template → the LUT raises b* and a* of a mid grey
    grey = np.full((1, 1, 3), 128, np.uint8)
    lab = sa.to_lab(lut.apply_lut_numpy(grey, L1))[0, 0]
    assert lab[1] > 4 and lab[2] > 10
    with pytest.raises(ValueError):
        lut.build_lut(src, dst, strength=1.5)
    assert np.array_equal(lut.build_lut(None, dst), lut.identity())


def test_lut3d_filter_matches_numpy_reference(tmp_path):
    K = sa.known_lut("teal_orange")
    p = lut.write_cube(tmp_path / "k.cube", K)
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    f = lut.LutFilter(p, 160, 90)
    out = f.apply(img)
    ref = lut.apply_lut_numpy(img, K)  # trilinear; lut3d is tetrahedral: tiny differences
    assert np.abs(out.astype(int) - ref).mean() < 0.6
    assert np.abs(out.astype(int) - ref).max() <= 6
    with pytest.raises(ValueError):
        f.apply(img[:10])
    baked = lut.BakedLut(p)  # every 8-bit colour through lut3d once: identical results
    rgba = baked.apply(img)
    assert rgba.shape == (90, 160, 4) and np.array_equal(rgba[..., :3], out) and np.all(rgba[..., 3] == 255)


CASES = [("birds.mp4", 0.0, 0.5, g) for g in sa.GRADES] + [("bigbuckbunny.mp4", 0.2, 2.0, g) for g in ("warm_film", "cool_desat")]


@pytest.mark.parametrize("clip,ta,tb,grade", CASES)
def test_colour_recovery_against_known_grade(media_file, tmp_path, clip, ta, tb, grade):
    """Template = stretch A of a real shot graded by a known LUT; footage = stretch B untouched.
    The transfer built from the two colour profiles (measured by the production colour
    analyser), applied to B in C (lut3d), must land close to B graded by the same known LUT.
    bench/grade.py prints the same cases as a table."""
    r = sa.grade_recovery(media_file(clip), ta, tb, grade, workdir=str(tmp_path))
    print(f"{clip} {grade}: {r}")
    assert r["de2000"] < 3.0
    assert r["de2000"] < r["de2000_untouched"] / 2
    assert r["wasserstein_after"] <= 0.4 * r["wasserstein_before"]
    assert r["ssim_structure"] >= 0.9
