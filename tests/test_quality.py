"""Footage quality (clipzy/engine/analysis/quality.py): the verdicts on a real picture made
black, blown out, defocused, frozen or too short in code; edge sharpness on drawn edges; the
per-sample measurements, badness and the thumbnail helpers against hand computations."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from clipzy.engine.analysis import quality as Q
from clipzy.engine.media import VideoInfo
from tests.synth.video import shared_media_frames

W, H = Q.FRAME_WIDTH, 90  # what the FramePump hands the analyser for 16:9 footage


def info(dur: float, w: int = 1280, h: int = 720) -> VideoInfo:
    return VideoInfo(width=w, height=h, coded_width=w, coded_height=h, rotation=0, duration_seconds=dur,
                     frame_rate=25.0, frame_count=int(dur * 25), codec="h264", pixel_format="yuv420p",
                     bitrate_kbps=1000, format="mp4", has_audio=False, audio_codec=None, audio_sample_rate=None,
                     audio_channels=None)


def analyse(frames: list[np.ndarray], duration_s: float | None = None) -> Q.ClipQuality:
    """Push ``frames`` one sample (SAMPLE_S) apart, as the FramePump does, and finish."""
    dur = len(frames) * Q.SAMPLE_S if duration_s is None else duration_s
    qa = Q.QualityAnalyzer(info(dur))
    assert qa.frame_size == (W, H)
    for i, f in enumerate(frames):
        qa.push(f, i * Q.SAMPLE_S)
    return qa.finish()


def luma(f: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)


@pytest.fixture(scope="module")
def pictures(shared_media) -> dict[str, list[np.ndarray]]:
    """3 s of two real scenes at the analysis size, one sample every 0.1 s: the handheld
    cockatoo (20 fps: every other frame) and Big Buck Bunny (a steady shot, 25 fps)."""
    cockatoo = shared_media_frames(str(shared_media / "cockatoo.mp4"), count=60, size=(W, H))[::2]
    bunny = shared_media_frames(str(shared_media / "bigbuckbunny.mp4"), start_s=1.0, count=30, size=(W, H))
    assert len(cockatoo) == 30 and len(bunny) == 30
    return {"cockatoo": cockatoo, "bunny": bunny}


SCENES = ["cockatoo", "bunny"]


# -- verdicts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scene", SCENES)
def test_sharp_real_footage_is_usable(pictures, scene):
    q = analyse(pictures[scene])
    assert q.reason is None and q.usable
    assert q.times_s.size == 30 and q.thumbs.shape == (30, Q.THUMB[1], Q.THUMB[0])
    assert float(np.nanmedian(q.sharpness)) >= Q.OUT_OF_FOCUS_SHARPNESS
    assert float(np.median(q.badness())) == 0.0


@pytest.mark.parametrize("scene", SCENES)
def test_black_clip(pictures, scene):
    dark = [(f.astype(np.float32) * 0.05).astype(np.uint8) for f in pictures[scene]]  # the picture at 5 %
    assert all(luma(f).max() < Q.BLACK_LUMA for f in dark)
    q = analyse(dark)
    assert q.reason == "black" and not q.usable
    assert np.all(q.badness() == 1.0)


def test_black_needs_nine_tenths_of_the_samples(pictures):
    fr = pictures["cockatoo"][:10]
    dark = [np.zeros_like(f) for f in fr]
    assert analyse(dark[:9] + fr[9:]).reason == "black"  # 9 of 10 black
    assert analyse(dark[:8] + fr[8:]).reason is None  # 8 of 10: not a black clip


def blow_out(f: np.ndarray, share: float) -> np.ndarray:
    """``f`` brightened (gain, then offset, in small steps) until at least ``share`` of its
    pixels clip (luma ≥ CLIPPED_LUMA)."""
    x = f.astype(np.float32)
    for k in range(200):
        out = np.clip(x * (1.0 + 0.05 * k) + 2.0 * k, 0, 255).astype(np.uint8)
        if (luma(out) >= Q.CLIPPED_LUMA).mean() >= share:
            return out
    raise AssertionError("cannot blow the picture out")


@pytest.mark.parametrize("scene", SCENES)
def test_blown_out_clip(pictures, scene):
    blown = [blow_out(f, 0.6) for f in pictures[scene]]
    shares = [float((luma(f) >= Q.CLIPPED_LUMA).mean()) for f in blown]
    assert min(shares) >= Q.BLOWN_FRAME_SHARE  # ground truth: every frame ≥ 50 % clipped
    q = analyse(blown)
    assert q.reason == "overexposed"
    assert np.allclose(q.clipped_share, shares, atol=1e-9)
    # a bright picture with under half of it clipped is still usable
    bright = [blow_out(f, 0.25) for f in pictures[scene]]
    assert max(float((luma(f) >= Q.CLIPPED_LUMA).mean()) for f in bright) < Q.BLOWN_FRAME_SHARE
    assert analyse(bright).reason is None


def test_overexposed_needs_half_the_samples(pictures):
    fr = pictures["bunny"]
    blown = [blow_out(f, 0.6) for f in fr]
    assert analyse(blown[:15] + fr[15:]).reason == "overexposed"  # 15 of 30
    assert analyse(blown[:14] + fr[14:]).reason is None  # 14 of 30


@pytest.mark.parametrize("scene", SCENES)
def test_defocused_clip(pictures, scene):
    sigma = 0.02 * W  # a Gaussian defocus of 2 % of the width
    soft = [cv2.GaussianBlur(f, (0, 0), sigma) for f in pictures[scene]]
    q = analyse(soft)
    assert q.reason == "out_of_focus"
    assert float(np.nanmedian(q.sharpness)) < Q.OUT_OF_FOCUS_SHARPNESS
    assert float(np.median(q.badness())) > 0.5
    assert float(np.nanmedian(q.sharpness)) < float(np.nanmedian(analyse(pictures[scene]).sharpness))


@pytest.mark.parametrize("scene", SCENES)
def test_frozen_clip(pictures, scene):
    frame = pictures[scene][0]
    q = analyse([frame] * 30)  # one frame repeated for 3 s
    assert q.reason == "frozen"
    assert np.all(q.change == 0.0)
    # a still scene whose sensor noise moves the thumbnails is not frozen
    rng = np.random.default_rng(1)
    noisy = [np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8) for _ in range(30)]
    qn = analyse(noisy)
    assert qn.reason is None and float(np.median(qn.change[1:])) > Q.FROZEN_CHANGE
    # shorter than MIN_FROZEN_S: never called frozen
    assert analyse([frame] * 8).reason is None


@pytest.mark.parametrize("scene", SCENES)
def test_too_short_clip(pictures, scene):
    assert analyse(pictures[scene][:3]).reason == "too_short"  # 0.3 s
    assert analyse(pictures[scene][:5]).reason is None  # 0.5 s: long enough
    assert analyse([], duration_s=2.0).reason == "too_short"  # nothing decoded


def test_verdict_uses_the_decoded_duration(pictures):
    qa = Q.QualityAnalyzer(info(10.0))
    for i, f in enumerate(pictures["bunny"][:4]):
        qa.push(f, i * Q.SAMPLE_S)
    assert qa.finish().reason is None  # the probed 10 s
    assert qa.finish(0.4).reason == "too_short"  # only 0.4 s decoded


def test_flat_card_is_not_out_of_focus():
    card = [np.full((H, W, 3), 128 + (i % 2), np.uint8) for i in range(20)]  # a plain card, 2 s
    q = analyse(card)
    assert np.all(np.isnan(q.sharpness))
    assert q.reason is None and np.all(q.badness() == 0.0)


def test_analyser_input_checks():
    with pytest.raises(ValueError):
        Q.QualityAnalyzer(info(1.0), every_s=0)
    with pytest.raises(ValueError):
        Q.QualityAnalyzer(info(1.0)).push(np.zeros((H, W), np.uint8), 0.0)


# -- per-sample measurements -----------------------------------------------------------------------


def test_push_measurements_by_hand():
    a = np.full((H, W, 3), 10, np.uint8)
    a[:, W // 2:] = 255  # half black, half clipped
    b = np.full((H, W, 3), 100, np.uint8)
    qa = Q.QualityAnalyzer(info(1.0))
    qa.push(a, 0.0)
    qa.push(b, 0.1)
    q = qa.finish()
    assert q.times_s.tolist() == [0.0, 0.1]
    assert q.mean_luma.tolist() == pytest.approx([(10 + 255) / 2, 100.0])
    assert q.black_share.tolist() == [0.5, 0.0] and q.clipped_share.tolist() == [0.5, 0.0]
    assert q.change[0] == 0.0 and q.change[1] == pytest.approx((abs(100 - 10) + abs(100 - 255)) / 2)
    assert q.thumbs[1] == pytest.approx(np.full((Q.THUMB[1], Q.THUMB[0]), 100.0))
    assert q.sharpness[0] == pytest.approx(1.0) and math.isnan(q.sharpness[1])


def make_quality(thumb_values, times_s=None, **arrays) -> Q.ClipQuality:
    """A ClipQuality whose thumbnails are uniform at ``thumb_values`` (grey levels)."""
    v = np.asarray(thumb_values, np.float32)
    n = v.size
    t = np.arange(n) * Q.SAMPLE_S if times_s is None else np.asarray(times_s, float)
    thumbs = np.repeat(v[:, None, None], Q.THUMB[1], 1).repeat(Q.THUMB[0], 2)
    change = np.concatenate([[0.0], np.abs(np.diff(v.astype(float)))])
    fields = dict(sharpness=np.full(n, 0.6), mean_luma=np.full(n, 120.0), black_share=np.zeros(n),
                  clipped_share=np.zeros(n))
    fields.update(arrays)
    return Q.ClipQuality(t, thumbs=thumbs, change=change, reason=None, **fields)


def test_badness_by_hand():
    sharp = np.array([0.6, Q.SHARP_ENOUGH, 0.40, Q.SOFT, 0.1, np.nan, 0.6, 0.6])
    black = np.array([0, 0, 0, 0, 0, 0, 0.95, 0])
    clipped = np.array([0, 0, 0, 0, 0, 0, 0, 0.5])
    luma_ = np.array([120, 120, 120, 120, 120, 120, 5, 240.0])
    q = make_quality(np.zeros(8), sharpness=sharp, black_share=black, clipped_share=clipped, mean_luma=luma_)
    ramp = (Q.SHARP_ENOUGH - 0.40) / (Q.SHARP_ENOUGH - Q.SOFT)
    assert q.badness() == pytest.approx([0.0, 0.0, ramp, 1.0, 1.0, 0.0, 1.0, 1.0])
    assert make_quality([]).badness().size == 0


def test_difference_helpers_by_hand():
    # samples every 1/8 s (exact in binary) with uniform thumbnails 0, 10, 30, 60, 100
    vals = [0.0, 10.0, 30.0, 60.0, 100.0]
    q = make_quality(vals, times_s=np.arange(5) / 8.0)
    assert q.difference(0.0, 0.5) == 100.0
    assert q.difference(0.13, 0.37) == 50.0  # nearest samples: 1/8 (10) and 3/8 (60)
    assert q.difference(0.0625, 0.3) == 30.0  # a tie between two samples takes the earlier one (0), 30
    assert q.thumb_at(9.0)[0, 0] == 100.0 and q.thumb_at(-1.0)[0, 0] == 0.0  # held at the ends
    b = np.array([-1.0, 0.0, 0.0625, 0.13, 0.2, 0.37, 0.45, 0.6, 3.0])
    got = q.differences(0.13, b)
    assert got.tolist() == [q.difference(0.13, x) for x in b]
    assert got.tolist() == [10.0, 10.0, 10.0, 0.0, 20.0, 50.0, 90.0, 90.0, 90.0]
    empty = make_quality([])
    assert empty.difference(0.0, 1.0) is None and empty.thumb_at(0.0) is None
    assert empty.differences(0.0, np.array([1.0, 2.0])).tolist() == [0.0, 0.0]


def test_natural_change_by_hand():
    vals = np.array([0, 4, 8, 12, 13, 14, 15, 45, 46, 47, 48, 49], float)  # changes 4, 4, 4, 1, 1, 1, 30, 1 …
    q = make_quality(vals)
    ch = np.abs(np.diff(vals))
    ch = np.concatenate([[ch[0]], ch])  # the first sample takes the second's change
    for t in (0.0, 0.25, 0.6, 0.7, 1.1):
        inside = [c for ti, c in zip(q.times_s, ch) if t - 0.5 - 1e-9 <= ti <= t + 0.5 + 1e-9]
        assert q.natural_change(t)[0] == pytest.approx(float(np.median(inside))), t
    assert q.natural_change(np.array([0.0, 1.1])).shape == (2,)
    assert q.natural_change(0.6, within_s=0.1)[0] == pytest.approx(np.median([1.0, 1.0, 30.0]))
    assert make_quality([5.0]).natural_change(0.0).tolist() == [0.0]


# -- edge sharpness --------------------------------------------------------------------------------


def step(lo: int, hi: int, *, w: int = W, h: int = H, at: float = 0.5) -> np.ndarray:
    g = np.full((h, w), lo, np.uint8)
    g[:, int(round(w * at)):] = hi
    return g


@pytest.mark.parametrize("lo,hi", [(0, 255), (100, 140), (60, 200), (120, 150), (200, 230)])
def test_step_edge_reads_one_whatever_its_contrast(lo, hi):
    assert Q.edge_sharpness(step(lo, hi)) == pytest.approx(1.0)
    assert Q.edge_sharpness(step(hi, lo, at=0.3)) == pytest.approx(1.0)
    # at another size (resized to the analysis width): still a step
    assert Q.edge_sharpness(step(lo, hi, w=1280, h=720, at=0.5 + 3 / 1280)) == pytest.approx(1.0)


def test_step_edge_with_detail_elsewhere():
    g = step(40, 200)
    rng = np.random.default_rng(0)
    g[:, :60] = np.clip(40 + rng.normal(0, 2.0, (H, 60)), 0, 255).astype(np.uint8)  # faint noise: no edge
    assert Q.edge_sharpness(g) == pytest.approx(1.0, abs=0.05)


def test_blur_lowers_sharpness():
    g = step(40, 200)
    values = [Q.edge_sharpness(cv2.GaussianBlur(g, (0, 0), s)) for s in (0.8, 1.5, 2.5, 3.5)]
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert values[0] < 1.0 and values[-1] < Q.OUT_OF_FOCUS_SHARPNESS


def test_flat_frame_is_unmeasured_and_blurred_away_is_zero():
    assert math.isnan(Q.edge_sharpness(np.full((H, W), 128, np.uint8)))
    assert math.isnan(Q.edge_sharpness(step(120, 126)))  # contrast under EDGE_CONTRAST, coarse std < FLAT_STD
    blurred = cv2.GaussianBlur(step(100, 140), (0, 0), 6.0)  # no 9×9 window spans 24 levels any more…
    assert cv2.subtract(cv2.dilate(blurred, Q.EDGE_WINDOW), cv2.erode(blurred, Q.EDGE_WINDOW)).max() < Q.EDGE_CONTRAST
    assert Q.edge_sharpness(blurred) == 0.0  # …but the picture still has coarse contrast
