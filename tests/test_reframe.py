"""ROI tracking and crop paths: follows a moving subject, smooth, speed-limited, inside the frame."""
from __future__ import annotations

import numpy as np
import pytest

from clipzy.engine import media
from clipzy.engine.analysis import framing
from clipzy.engine.editing import crop
from tests.synth.video import write_video


def moving_blob_frames(n=75, size=(320, 180), x_of_t=lambda t: 0.2 + 0.25 * t, fps=25, seed=0):
    rng = np.random.default_rng(seed)
    w, h = size
    bg = rng.integers(60, 120, (h, w, 3), dtype=np.uint8)
    frames = []
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        t = i / fps
        cx = x_of_t(t) * w
        img = bg.copy()
        m = (xx - cx) ** 2 + (yy - 0.5 * h) ** 2 < (0.07 * w) ** 2
        # textured moving blob (frame differences light up where it moves)
        img[m] = rng.integers(150, 255, (int(m.sum()), 3), dtype=np.uint8)
        frames.append(img)
    return frames


def test_tracker_follows_moving_subject(tmp_path):
    path = write_video(tmp_path / "blob.mp4", moving_blob_frames(), fps=25)
    info = media.probe(path)
    tr = framing.RoiTracker(info)
    media.FramePump(path, [tr], info=info).run()
    roi = tr.finish()
    assert roi.times_s.size >= 12
    truth = 0.2 + 0.25 * roi.times_s
    late = roi.times_s > 0.3
    err = np.abs(roi.x[late] - truth[late])
    assert np.median(err) < 0.08, (roi.x, truth)
    assert np.all(roi.weight[late] > 0.5)

    keys = crop.crop_path(roi, 320, 180, 9 / 16, 0.0, 3.0)
    w = keys[0]["width"]
    assert w == 100 and all(k["height"] == 180 and k["width"] == w for k in keys)
    ts = np.array([k["t_s"] for k in keys])
    xs = np.array([k["x"] for k in keys])
    assert np.all((xs >= 0) & (xs <= 320 - w))
    if len(keys) > 1:
        speed = np.abs(np.diff(xs)) / np.diff(ts)
        assert speed.max() <= crop.MAX_PAN_PER_S * 320 + 1.5 / np.diff(ts).min()
    # the subject stays in the crop window most of the time
    inside = 0
    for t in np.arange(0.4, 2.9, 0.1):
        x, _, cw, _ = crop.crop_at(keys, t)
        inside += x <= (0.2 + 0.25 * t) * 320 <= x + cw
    assert inside >= 0.8 * len(np.arange(0.4, 2.9, 0.1))


def test_static_subject_gives_one_still_keyframe():
    t = np.arange(0, 5, 0.2)
    rng = np.random.default_rng(3)
    roi = framing.RoiTrack(t, 0.7 + 0.01 * rng.standard_normal(t.size), np.full(t.size, 0.5), np.ones(t.size))
    keys = crop.crop_path(roi, 1920, 1080, 9 / 16, 1.0, 4.0)
    assert len(keys) == 1
    k = keys[0]
    assert abs(k["x"] + k["width"] / 2 - 0.7 * 1920) < 40


def test_jump_is_speed_limited():
    t = np.arange(0, 10, 0.2)
    roi = framing.RoiTrack(t, np.where(t < 5, 0.1, 0.9), np.full(t.size, 0.5), np.ones(t.size))
    keys = crop.crop_path(roi, 1920, 1080, 9 / 16, 3.0, 8.0, max_pan_per_s=0.15)
    ts = np.array([k["t_s"] for k in keys])
    xs = np.array([k["x"] for k in keys], float)
    speed = np.abs(np.diff(xs)) / np.diff(ts)
    assert speed.max() <= 0.15 * 1920 * 1.02 + 1 / np.diff(ts).min()
    assert xs[0] < xs[-1]


def test_crop_window_and_errors():
    assert crop.crop_window(1920, 1080, 9 / 16) == (608, 1080)
    assert crop.crop_window(1080, 1920, 16 / 9) == (1080, 608)
    assert crop.crop_window(1280, 720, 16 / 9) == (1280, 720)
    with pytest.raises(ValueError):
        crop.crop_window(1, 1, 1.0)
    with pytest.raises(ValueError):
        crop.crop_path(framing.RoiTrack.centre(5), 100, 100, 1.0, 2.0, 1.0)
    with pytest.raises(ValueError):
        crop.crop_path(framing.RoiTrack.centre(5), 100, 100, 1.0, 0.0, 1.0, max_pan_per_s=0)
