"""End-to-end apply: rendered MP4s decode, cuts land on beats, colours, framing, audio levels and lengths."""
from __future__ import annotations

import json
import math
import os

import av
import numpy as np
import pytest

from clipzy.engine import media
from clipzy.engine.analysis import framing
from clipzy.engine.analysis.loudness import integrated_lufs, true_peak_dbtp
from clipzy.engine.editing import grade as lut, render
from clipzy.engine.control import Control
from clipzy.engine.errors import Cancelled
from tests.synth import apply as sa
from tests.synth.video import read_frames, write_video


def decode_all(path, size=None):
    """Every video frame (RGB, optionally resized (w, h)) and the audio track; fails on any decode error."""
    frames = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24") if size is None else f.reformat(width=size[0], height=size[1]).to_ndarray(format="rgb24"))
    return frames, media.decode_audio(path, sample_rate=48000, layout="stereo")


def cut_frames(frames):
    g = np.array([f.astype(np.float32).mean(axis=2) for f in frames])
    d = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))
    thr = max(12.0, 4 * float(np.median(d)))
    return [i + 1 for i in np.nonzero(d > thr)[0]]


def run_apply(tmp_path, template, footage, tdna, fdna, config, *, speech=(), roi=None, control=None, name="out"):
    out = tmp_path / f"{name}.mp4"
    state = sa.run_apply_stages(template=template, footage=footage, tdna=tdna, fdna=fdna, config=config, out_mp4=out,
                                out_cube=tmp_path / f"{name}.cube", out_plan=tmp_path / f"{name}.edit_plan.json",
                                roi=roi, speech=speech, control=control)
    plan = json.loads((tmp_path / f"{name}.edit_plan.json").read_text())
    return out, state.output_metadata, plan


@pytest.mark.slow
def test_vertical_beat_synced_apply(tmp_path, shared_media):
    fps = 25
    footage, fshots, _ = sa.make_footage(tmp_path / "foot.mp4", str(shared_media), shots=8, fps=fps)
    template, beats = sa.make_template(tmp_path / "tmpl.mp4", seconds=6.0, fps=fps, bpm=120, offset_s=0.3)
    tdna = sa.dna(shots_ms=[0, 700, 1500, 2350, 3000, 3800, 4600, 5300, 6000], fps=fps, aspect_ratio="9:16",
                  resolution=(144, 256), beats_ms=[int(round(b * 1000)) for b in beats], integrated_lufs=-14.0, true_peak_dbtp=-0.5)
    fdna = sa.dna(shots_ms=fshots, fps=fps)
    info = media.probe(footage)
    tr = framing.RoiTracker(info)
    media.FramePump(footage, [tr], info=info).run()
    progress = []
    out, md, plan = run_apply(tmp_path, template, footage, tdna, fdna, {"quality": "low"}, roi=tr.finish(),
                              control=Control(on_progress=progress.append))
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)
    assert (md["width"], md["height"]) == (180, 320) and md["frame_rate"] == 25.0 and md["has_audio"]
    assert md["codec"] == "h264" and md["audio_codec"] == "aac" and md["audio_sample_rate"] == 48000
    frames, audio = decode_all(out)
    assert len(frames) == plan["output"]["frame_count"] == 150
    # no bars: the outermost rows/columns carry picture in every frame
    for f in frames:
        for edge in (f[:, :2], f[:, -2:], f[:2], f[-2:]):
            assert edge.mean() > 12
    # cuts on beats, found in the pixels
    found = cut_frames(frames)
    beat_frames = [math.ceil(b * fps - 1e-6) for b in beats]
    planned = [s["output_in_frame"] for s in plan["segments"][1:]]
    assert all(s["on_beat"] for s in plan["segments"][1:])
    hits = [c for c in planned if any(abs(c - f) <= 1 for f in found) and any(abs(c - b) <= 1 for b in beat_frames)]
    print("planned cuts", planned, "found", found)
    assert len(hits) >= 0.95 * len(planned)
    # audio: loudness at the template's, true peak ≤ −1 dBTP, same length as the video
    assert abs(integrated_lufs(audio.samples, sr=48000) - (-14.0)) <= 1.0
    assert true_peak_dbtp(audio.samples, sr=48000) <= -1.0
    assert abs(audio.duration_seconds - len(frames) / fps) <= 1.0 / fps
    # artifacts
    assert lut.read_cube(tmp_path / "out.cube").shape == (33, 33, 33, 3)
    assert plan["soundtrack"]["source"] == "template" and plan["luts"]["global"] == "out.cube"


@pytest.mark.slow
def test_color_strength_zero_keeps_colours_and_one_changes_them(tmp_path, shared_media):
    fps = 25
    footage, fshots, fframes = sa.make_footage(tmp_path / "foot.mp4", str(shared_media), shots=3, fps=fps, audio=False)
    template, _ = sa.make_template(tmp_path / "tmpl.mp4", seconds=2.0, fps=fps, bpm=None)
    graded = [lut.apply_lut_numpy(f, sa.known_lut("teal_orange")) for f in fframes[::10]]
    tdna = sa.dna(shots_ms=[0, 2000], fps=fps, color_profile=sa.profile(graded), music_present=False)
    fdna = sa.dna(shots_ms=fshots, fps=fps, color_profile=sa.profile(fframes[::10]))
    cfg = {"quality": "high", "aspect_ratio": "source", "color_strength": 0.0}
    out0, md, plan = run_apply(tmp_path, template, footage, tdna, fdna, cfg, name="s0")
    out1, _, _ = run_apply(tmp_path, template, footage, tdna, fdna, {**cfg, "color_strength": 1.0}, name="s1")
    assert lut.is_identity(lut.read_cube(tmp_path / "s0.cube"))
    f0, a0 = decode_all(out0)
    f1, _ = decode_all(out1)
    seg = plan["segments"][0]
    assert seg["crop"][0]["width"] == 320 and seg["crop"][0]["x"] == 0
    first = int(round(seg["footage_in_ms"] * fps / 1000))
    src = read_frames(footage)[first: first + 10]  # the decoded footage: one encode generation apart
    de0 = np.mean([sa.ciede2000(sa.to_lab(a), sa.to_lab(b)).mean() for a, b in zip(f0[:10], src)])
    de1 = np.mean([sa.ciede2000(sa.to_lab(a), sa.to_lab(b)).mean() for a, b in zip(f1[:10], src)])
    print(f"strength 0: dE {de0:.2f}; strength 1: dE {de1:.2f}")
    assert de0 < 2.0  # H.264 at CRF 18 only
    assert de1 > 3 * de0 and de1 > 4.0
    # footage without audio and a template without music: a silent stereo AAC track
    assert md["has_audio"] and a0 is not None and a0.samples.shape[1] == 2 and np.abs(a0.samples).max() < 1e-3
    assert plan["soundtrack"]["source"] == "none"


@pytest.mark.slow
def test_short_footage_one_shot_template(tmp_path, shared_media):
    fps = 25
    footage, fshots, _ = sa.make_footage(tmp_path / "foot.mp4", str(shared_media), shots=2, fps=fps)
    template, beats = sa.make_template(tmp_path / "tmpl.mp4", seconds=5.0, fps=fps, bpm=100)
    tdna = sa.dna(shots_ms=[0, 5000], fps=fps, aspect_ratio="1:1", integrated_lufs=-16.0, true_peak_dbtp=-2.0,
                  beats_ms=[int(b * 1000) for b in beats])
    out, md, plan = run_apply(tmp_path, template, footage, tdna, sa.dna(shots_ms=fshots), {"quality": "low"})
    # footage (2 s) is shorter than the template (5 s): output = usable footage
    assert plan["output"]["frame_count"] == 50 and abs(md["duration_seconds"] - 2.0) <= 0.05
    assert (md["width"], md["height"]) == (180, 180)
    assert len(plan["segments"]) == 2  # the one template shot is split at the footage cut
    assert [s["footage_in_ms"] for s in plan["segments"]] == [0, 1000]
    frames, audio = decode_all(out)
    assert len(frames) == 50
    assert abs(audio.duration_seconds - 2.0) <= 1 / fps
    assert abs(integrated_lufs(audio.samples, sr=48000) - (-16.0)) <= 1.0
    assert true_peak_dbtp(audio.samples, sr=48000) <= -2.0 + 0.05


def solid_footage(path, colours, seconds_each=1.0, fps=25, size=(64, 36)):
    frames = []
    for c in colours:
        frames += [np.full((size[1], size[0], 3), c, np.uint8)] * int(seconds_each * fps)
    write_video(path, frames, fps=fps)
    return str(path)


@pytest.mark.parametrize("kind", ["dissolve", "fade", "wipe"])
def test_transition_frames(tmp_path, kind):
    fps = 25
    red, blue = (200, 40, 40), (40, 40, 200)
    footage = solid_footage(tmp_path / "f.mp4", [red, blue, blue, blue], seconds_each=1.0)
    template, _ = sa.make_template(tmp_path / "t.mp4", seconds=2.0, fps=fps, bpm=None)
    tdna = sa.dna(shots_ms=[0, 1000, 2000], fps=fps, transitions=[(kind, 400)], music_present=False)
    fdna = sa.dna(shots_ms=[0, 1000, 2000, 3000, 4000], fps=fps)
    out, md, plan = run_apply(tmp_path, template, footage, tdna, fdna, {"quality": "high", "aspect_ratio": "source", "beat_sync": False})
    s1 = plan["segments"][1]
    assert s1["transition_in"] == {"type": kind, "duration_ms": 400, "easing": "linear"}
    frames, _ = decode_all(out)
    f0 = s1["output_in_frame"]
    a = frames[f0 - 1].reshape(-1, 3).mean(0)
    b = frames[f0 + 10].reshape(-1, 3).mean(0)
    mid = frames[f0 + 4]  # frame 5 of 10: p = 5/11
    assert abs(a[0] - a[2]) > 100 and abs(b[0] - b[2]) > 100 and np.sign(a[0] - a[2]) != np.sign(b[0] - b[2])
    if kind == "dissolve":
        m = mid.reshape(-1, 3).mean(0)
        expect = a + (b - a) * 5 / 11
        assert np.abs(m - expect).max() < 12
    elif kind == "fade":
        assert mid.mean() < 0.15 * max(a.mean(), b.mean())  # near black in the middle
    else:
        w = mid.shape[1]
        left, right = mid[:, : int(0.35 * w)].reshape(-1, 3).mean(0), mid[:, int(0.55 * w):].reshape(-1, 3).mean(0)
        assert np.abs(left - b).max() < 20 and np.abs(right - a).max() < 20


def test_cancel_removes_partial_output(tmp_path):
    footage = solid_footage(tmp_path / "f.mp4", [(90, 90, 90)] * 4, size=(160, 90))
    template, _ = sa.make_template(tmp_path / "t.mp4", seconds=4.0, bpm=None)
    tdna = sa.dna(shots_ms=[0, 4000], music_present=False)
    ctl = Control()
    seen = []

    def on_progress(f):
        seen.append(f)
        if f > 0.5:
            ctl.cancel()

    ctl._on_progress = on_progress
    with pytest.raises(Cancelled):
        run_apply(tmp_path, template, footage, tdna, sa.dna(shots_ms=[0, 4000]), {"quality": "low"}, control=ctl, name="c")
    assert not (tmp_path / "c.mp4").exists()
    assert not [p for p in os.listdir(tmp_path) if ".part" in p]


def test_reader_holds_last_frame_past_end(tmp_path):
    footage = solid_footage(tmp_path / "f.mp4", [(10, 10, 10), (200, 200, 200)], size=(64, 36))
    info = media.probe(footage)
    r = render.FootageReader(footage, info)
    try:
        assert r.frame_at(0.5).mean() < 30
        assert r.frame_at(1.5).mean() > 170
        assert r.frame_at(0.2).mean() < 30  # backwards: seeks
        assert r.frame_at(9.0).mean() > 170  # past the end: last frame held
    finally:
        r.close()


def test_rotated_footage_is_rendered_upright(tmp_path):
    coded = np.zeros((36, 64, 3), np.uint8)
    coded[:, :32] = 220  # left half bright in the coded frame → top half after a 90° clockwise display rotation
    footage = write_video(tmp_path / "r.mp4", [coded] * 50, fps=25, rotation=90)
    info = media.probe(footage)
    assert (info.width, info.height) == (36, 64)
    template, _ = sa.make_template(tmp_path / "t.mp4", seconds=2.0, bpm=None)
    out, md, plan = run_apply(tmp_path, template, footage, sa.dna(shots_ms=[0, 2000], music_present=False),
                              sa.dna(shots_ms=[0, 2000]), {"quality": "low", "aspect_ratio": "source"})
    assert (md["width"], md["height"], md["rotation"]) == (36, 64, 0)
    frames, _ = decode_all(out)
    f = frames[len(frames) // 2].astype(float).mean(axis=2)
    assert f[:28].mean() > 180 and f[36:].mean() < 40
