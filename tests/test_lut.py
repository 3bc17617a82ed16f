"""Global colour-transfer LUT: .cube I/O, lut3d in C, strength blending, colour recovery vs ground truth."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from clipzy.engine.editing import grade as lut
from tests.synth import apply as sa
from tests.synth.video import shared_media_frames


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
    f = sa.dna(shots_ms=[0, 1000])
    src = {"lab_mean": [50, 0, 0], "lab_cov": np.diag([400, 60, 60]).tolist(), "luma_percentiles": [5, 12, 35, 50, 65, 88, 95]}
    dst = {"lab_mean": [45, 8, 20], "lab_cov": np.diag([300, 90, 120]).tolist(), "luma_percentiles": [8, 14, 33, 46, 60, 80, 90]}
    assert f["version"] == "1.0"
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
    The transfer built from the two colour profiles, applied to B in C (lut3d), must land close
    to B graded by the same known LUT."""
    path = media_file(clip)
    A = shared_media_frames(path, start_s=ta, count=8, size=(320, 180))[::2]
    B = shared_media_frames(path, start_s=tb, count=8, size=(320, 180))[::2]
    K = sa.known_lut(grade)
    A_graded = [lut.apply_lut_numpy(f, K) for f in A]
    B_truth = [lut.apply_lut_numpy(f, K) for f in B]
    L = lut.build_lut(sa.profile(B), sa.profile(A_graded), strength=1.0)
    cube = lut.write_cube(tmp_path / "t.cube", L)
    flt = lut.LutFilter(cube, 320, 180)
    B_out = [flt.apply(f) for f in B]
    lab_out = np.concatenate([sa.to_lab(f) for f in B_out])
    lab_truth = np.concatenate([sa.to_lab(f) for f in B_truth])
    lab_b = np.concatenate([sa.to_lab(f) for f in B])
    lab_tmpl = np.concatenate([sa.to_lab(f) for f in A_graded])
    de = float(sa.ciede2000(lab_out, lab_truth).mean())
    de_untouched = float(sa.ciede2000(lab_b, lab_truth).mean())
    w_before = sa.wasserstein_lab(lab_b, lab_tmpl)
    w_after = sa.wasserstein_lab(lab_out, lab_tmpl)
    ssim = np.mean([sa.ssim_structure(cv2.cvtColor(o, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)) for o, b in zip(B_out, B)])
    print(f"{clip} {grade}: dE2000 {de:.2f} (untouched {de_untouched:.2f}), W {w_before.sum():.2f} -> {w_after.sum():.2f}, ssim-s {ssim:.3f}")
    assert de < 3.0
    assert de < de_untouched / 2
    assert w_after.sum() <= 0.4 * w_before.sum()
    assert ssim >= 0.9
