"""MotionAnalyzer: synthetic camera moves with known truth, and a real handheld clip."""
from __future__ import annotations

import math

import numpy as np
import pytest

from clipzy.engine import media
from clipzy.engine.analysis.motion import CAMERA_CLASSES, MotionAnalyzer, intensity_from_rate
from tests.synth import grade as G
from tests.synth.video import write_video

SIZE = (320, 180)  # the analysis size, so truth in pixels carries over unscaled
FPS = 30
N = 60  # 2 s


@pytest.fixture(scope="module")
def tex():
    return G.texture((1280, 720))


def analyse(path: str, shots_s=None) -> dict:
    info = media.probe(path)
    an = MotionAnalyzer(info)
    media.FramePump(path, [an], info=info).run()
    return an.finish(shots_s if shots_s is not None else [(0.0, info.duration_seconds)])


CLIPS = {
    # name: (path maker, expected dominant camera class)
    "static": (lambda: (lambda t: (640.0, 360.0, 1.0, 0.0)), "static"),
    "slow_pan": (lambda: G.pan_path(400, 360, 20), "pan"),  # 20 px/s = 0.0625 widths/s
    "fast_pan": (lambda: G.pan_path(400, 360, 200), "pan"),  # 0.625 widths/s
    "tilt": (lambda: G.tilt_path(640, 200, 60), "tilt"),  # 0.333 heights/s
    "zoom": (lambda: G.zoom_path(640, 360, 0.3), "zoom"),  # +0.3 log scale / s
    "shake": (lambda: G.shake_path(640, 360, 2.0, fps=FPS), "handheld"),
}


@pytest.fixture(scope="module")
def results(tex, tmp_path_factory):
    d = tmp_path_factory.mktemp("motion")
    out = {}
    for name, (make, _) in CLIPS.items():
        frames = G.camera_frames(tex, SIZE, N, FPS, make(), noise=1.5 if name == "static" else 0.0)
        out[name] = analyse(write_video(d / f"{name}.mp4", frames, fps=FPS))
    return out


@pytest.mark.parametrize("name", list(CLIPS))
def test_dominant_camera_class(name, results):
    cam = results[name]["motion"]["camera"]
    assert math.isclose(sum(cam.values()), 1.0, abs_tol=1e-3)
    assert max(cam, key=cam.get) == CLIPS[name][1], cam
    assert cam[CLIPS[name][1]] >= 0.8, cam


def test_zoom_usage(results):
    assert results["zoom"]["zoom_usage"] == 100.0
    for name in ("static", "slow_pan", "fast_pan", "tilt", "shake"):
        assert results[name]["zoom_usage"] == 0.0, name


def test_intensity_order(results):
    mi = {k: v["motion_intensity"] for k, v in results.items()}
    assert mi["static"] < 3
    assert mi["static"] < mi["slow_pan"] < mi["fast_pan"]
    assert mi["fast_pan"] > 80
    assert all(0 <= v <= 100 for v in mi.values())


def test_measured_rates_match_truth(results):
    shot = {k: v["motion"]["per_shot"][0] for k, v in results.items()}
    assert shot["slow_pan"]["pan"] == pytest.approx(20 / 320, rel=0.1)
    assert shot["fast_pan"]["pan"] == pytest.approx(200 / 320, rel=0.05)
    assert abs(shot["fast_pan"]["tilt"]) < 0.01
    assert shot["tilt"]["tilt"] == pytest.approx(60 / 180, rel=0.05)
    assert abs(shot["tilt"]["pan"]) < 0.01
    assert shot["zoom"]["zoom"] == pytest.approx(0.3, rel=0.1)
    assert abs(shot["static"]["pan"]) < 0.005 and abs(shot["static"]["zoom"]) < 0.005
    # jitter: the shaken clip shakes, smooth moves do not
    assert shot["shake"]["shake"] > 0.3
    for name in ("static", "slow_pan", "fast_pan", "tilt", "zoom"):
        assert shot[name]["shake"] < 0.1, name


def test_pairs_across_a_cut_are_skipped(tex, tmp_path):
    """A fast pan, then a cut to a static view of another place."""
    pan = G.camera_frames(tex, SIZE, 30, FPS, G.pan_path(300, 300, 200))
    still = G.camera_frames(tex, SIZE, 30, FPS, lambda t: (900.0, 500.0, 1.0, 0.0), noise=1.5)
    p = write_video(tmp_path / "cut.mp4", pan + still, fps=FPS)
    res = analyse(p, [(0.0, 1.0), (1.0, 2.0)])
    s0, s1 = res["motion"]["per_shot"]
    assert s0["pan"] == pytest.approx(200 / 320, rel=0.05)
    assert s1["intensity"] < 3 and abs(s1["pan"]) < 0.005  # the cut's huge flow is not in shot 2
    cam = res["motion"]["camera"]
    assert cam["pan"] == pytest.approx(0.5, abs=0.1) and cam["static"] == pytest.approx(0.5, abs=0.1)
    # as one shot, the pair over the cut is counted and shot-level pan is diluted
    one = analyse(p, [(0.0, 2.0)])
    assert one["motion"]["per_shot"][0]["intensity"] > s1["intensity"]


def test_one_frame_video_gives_none(tex, tmp_path):
    p = write_video(tmp_path / "one.mp4", [tex[:180, :320]], fps=FPS)
    res = analyse(p)
    assert res["motion_intensity"] is None and res["zoom_usage"] is None
    assert res["motion"]["per_shot"] == [dict.fromkeys(("intensity", "zoom", "pan", "tilt", "shake"))]
    assert all(v is None for v in res["motion"]["camera"].values())


def test_real_handheld_clip(media_file):
    res = analyse(media_file("cockatoo.mp4"))
    cam = res["motion"]["camera"]
    assert set(cam) == set(CAMERA_CLASSES) and math.isclose(sum(cam.values()), 1.0, abs_tol=1e-3)
    assert cam["handheld"] >= 0.5, cam  # shot handheld, close to a moving bird
    assert 20 <= res["motion_intensity"] <= 95
    shot = res["motion"]["per_shot"][0]
    assert shot["shake"] > 0.15 and abs(shot["pan"]) < 0.5 and abs(shot["tilt"]) < 0.5


def test_intensity_map_and_parameters():
    assert intensity_from_rate(0.0) == 0.0
    vals = [intensity_from_rate(x) for x in np.linspace(0, 2, 21)]
    assert all(b > a for a, b in zip(vals, vals[1:])) and vals[-1] < 100
    info = media.VideoInfo(1280, 720, 1280, 720, 0, 1.0, 25.0, 25, "h264", "yuv420p", None, "mp4", False, None, None, None)
    an = MotionAnalyzer(info)
    assert an.frame_size == (320, 180)
    with pytest.raises(ValueError):
        MotionAnalyzer(info, every_s=-0.1)
    with pytest.raises(ValueError):
        an.push(np.zeros((180, 320), np.uint8), 0.0)
    with pytest.raises(ValueError):
        an.finish([(0.5, 0.2)])
