"""Edit plan: pacing, beat snapping, transitions, footage segment choice, output frame, determinism."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from clipzy.engine.editing import pacing, plan as P
from clipzy.engine.analysis import framing
from clipzy.engine.media import VideoInfo
from tests.synth import apply as sa


def info(w=1280, h=720, dur=20.0, fps=25.0, audio=True) -> VideoInfo:
    return VideoInfo(width=w, height=h, coded_width=w, coded_height=h, rotation=0, duration_seconds=dur, frame_rate=fps,
                     frame_count=int(dur * fps), codec="h264", pixel_format="yuv420p", bitrate_kbps=1000, format="mp4",
                     has_audio=audio, audio_codec="aac" if audio else None, audio_sample_rate=48000 if audio else None,
                     audio_channels=2 if audio else None)


FOOT_SHOTS = [0, 2500, 6000, 9000, 13000, 20000]


def clip(fdna, finfo, roi=None, speech=()) -> P.FootageClip:
    """The footage as the planner reads it: the synthetic DNA's shots and per-shot motion."""
    shots = [(s["start_ms"] / 1000.0, s["end_ms"] / 1000.0) for s in fdna["shots"]]
    per_shot = [p.get("intensity") for p in (fdna.get("motion") or {}).get("per_shot", [])]
    return P.FootageClip(info=finfo, shots_s=shots, motion_per_shot=per_shot, roi=roi, speech_s=list(speech))


def build(tdna, fdna=None, finfo=None, beats=None, config=None, roi=None, speech=()):
    finfo = finfo or info()
    fdna = fdna or sa.dna(shots_ms=FOOT_SHOTS, fps=25)
    plan = P.build_plan(P.TemplateStyle.from_dna(tdna), clip(fdna, finfo, roi, speech), config or {},
                        soundtrack_beats_s=list(beats or []))
    return plan.to_json()


def check_segments(p, fdna_shots_ms, fps):
    segs = p["segments"]
    frames = p["output"]["frame_count"]
    assert segs[0]["output_in_frame"] == 0 and segs[-1]["output_out_frame"] == frames
    for a, b in zip(segs, segs[1:]):
        assert a["output_out_frame"] == b["output_in_frame"]
    bounds = np.array(fdna_shots_ms)
    for s in segs:
        n = s["output_out_frame"] - s["output_in_frame"]
        assert n >= 1
        assert abs((s["footage_out_ms"] - s["footage_in_ms"]) - n * 1000 / fps) <= 1
        nxt = [x for x in segs if x["index"] == s["index"] + 1]
        handle = nxt[0]["transition_in"]["duration_ms"] if nxt else 0
        # never straddles a footage cut (handle included)
        inside = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if a <= s["footage_in_ms"] < b]
        assert inside and s["footage_out_ms"] + handle <= inside[0][1] + 1, s


def test_pacing_follows_template_shot_lengths():
    tdna = sa.dna(shots_ms=[0, 1000, 3000, 6000, 8000], fps=25, aspect_ratio="16:9")
    p = build(tdna, beats=None, config={"beat_sync": False})
    assert p["output"]["frame_rate"] == 25.0 and p["output"]["frame_count"] == 200
    lens = [s["output_out_frame"] - s["output_in_frame"] for s in p["segments"]]
    assert lens == [25, 50, 75, 50]
    check_segments(p, FOOT_SHOTS, 25)
    # chronological and no repeats
    ins = [s["footage_in_ms"] for s in p["segments"]]
    assert ins == sorted(ins)
    for a, b in zip(p["segments"], p["segments"][1:]):
        assert a["footage_out_ms"] <= b["footage_in_ms"]
    # deterministic
    assert build(tdna, beats=None, config={"beat_sync": False}) == p


def test_scaled_to_shorter_footage_and_explicit_duration():
    tdna = sa.dna(shots_ms=[0, 2000, 4000, 8000], fps=30)
    p = build(tdna, finfo=info(dur=4.0), fdna=sa.dna(shots_ms=[0, 4000]))
    assert p["output"]["duration_ms"] == 4000
    lens = [s["output_out_frame"] - s["output_in_frame"] for s in p["segments"]]
    assert lens == [30, 30, 60]  # 2:2:4 scaled to 4 s at 30 fps
    check_segments(p, [0, 4000], 30)
    p2 = build(tdna, config={"duration_seconds": 6.0})
    assert p2["output"]["frame_count"] == 180


def test_long_template_shot_is_split_to_fit_footage_shots():
    tdna = sa.dna(shots_ms=[0, 9000], fps=25)
    fdna = sa.dna(shots_ms=[0, 3000, 6000, 9000, 12000])
    p = build(tdna, fdna=fdna, finfo=info(dur=12.0))
    assert len(p["segments"]) == 3  # 9 s in footage shots of 3 s
    check_segments(p, [0, 3000, 6000, 9000, 12000], 25)
    assert all(s["transition_in"]["type"] == "cut" for s in p["segments"])


def test_cuts_snap_to_beats():
    fps = 25
    beats = list(np.arange(0.45, 8.0, 0.5))  # 120 bpm, offset so cut frames are not on whole seconds
    tdna = sa.dna(shots_ms=[0, 1100, 2300, 3900, 5000, 6100, 8000], fps=fps)
    p = build(tdna, beats=beats)
    cuts = [s["output_in_frame"] for s in p["segments"][1:]]
    template_cuts = [1.1, 2.3, 3.9, 5.0, 6.1]
    for c, tc in zip(cuts, template_cuts):
        nearest = min(beats, key=lambda b: abs(b - tc))
        assert c == math.ceil(nearest * fps - 1e-6)
    assert all(s["on_beat"] for s in p["segments"][1:])
    assert p["beat_sync"]["cuts_on_beat"] == 5
    # beat_sync off → the template's own (scaled) cut frames
    p2 = build(tdna, beats=beats, config={"beat_sync": False})
    assert [s["output_in_frame"] for s in p2["segments"][1:]] == [math.ceil(t * fps - 1e-6) for t in template_cuts]


def test_snap_to_beats_rules():
    frames, flags = pacing.snap_to_beats([1.0, 1.2], [0.9, 1.4, 1.9], fps=10, total_frames=30, min_frames=2)
    assert frames == [9, 14] and flags == [True, True]  # second cut takes the next free beat within half a beat
    frames, flags = pacing.snap_to_beats([1.0, 1.1], [0.9, 1.4, 1.9], fps=10, total_frames=30, min_frames=2)
    assert frames == [9, 11] and flags == [True, False]  # 1.4 is more than half a beat away: unsnapped
    frames, flags = pacing.snap_to_beats([1.0], [3.0, 4.0], fps=10, total_frames=50, min_frames=2)
    assert frames == [10] and flags == [False]  # no beat within half a beat


def test_transitions_follow_template_and_can_be_disabled():
    tdna = sa.dna(shots_ms=[0, 2000, 4000, 6000, 8000], fps=25,
                  transitions=[("dissolve", 480), ("cut", 0), ("fade", 400)])
    p = build(tdna, config={"beat_sync": False})
    tr = [s["transition_in"] for s in p["segments"]]
    assert [t["type"] for t in tr] == ["cut", "dissolve", "cut", "fade"]
    assert tr[1]["duration_ms"] == 480 and tr[3]["duration_ms"] == 400
    check_segments(p, FOOT_SHOTS, 25)
    p2 = build(tdna, config={"beat_sync": False, "transitions": False})
    assert all(s["transition_in"]["type"] == "cut" for s in p2["segments"])


def test_output_size_rules():
    t916 = sa.dna(shots_ms=[0, 4000], aspect_ratio="9:16")
    p = build(t916)
    assert (p["output"]["width"], p["output"]["height"]) == (720, 1280)
    crop = p["segments"][0]["crop"][0]
    assert crop["height"] == 720 and abs(crop["width"] / crop["height"] - 9 / 16) < 0.01
    assert 0 <= crop["x"] <= 1280 - crop["width"]
    big = info(w=3840, h=2160)
    p = build(sa.dna(shots_ms=[0, 4000], aspect_ratio="16:9"), finfo=big)
    assert (p["output"]["width"], p["output"]["height"]) == (1920, 1080)
    p = build(t916, config={"aspect_ratio": "1:1", "resolution": 480})
    assert (p["output"]["width"], p["output"]["height"]) == (480, 480)
    p = build(t916, finfo=info(w=640, h=480), config={"aspect_ratio": "source"})
    assert (p["output"]["width"], p["output"]["height"]) == (640, 480)


def test_one_shot_template():
    p = build(sa.dna(shots_ms=[0, 3000]))
    assert len(p["segments"]) == 1 and p["segments"][0]["output_out_frame"] == 75


def test_segments_prefer_motion_and_speech():
    fdna = sa.dna(shots_ms=FOOT_SHOTS, motion_per_shot=[0, 0, 100, 0, 0])
    p = build(sa.dna(shots_ms=[0, 2000]), fdna=fdna)
    assert 6000 <= p["segments"][0]["footage_in_ms"] < 9000
    p = build(sa.dna(shots_ms=[0, 2000]), speech=[(14.0, 16.5)])
    s = p["segments"][0]
    assert s["footage_in_ms"] <= 16000 and s["footage_out_ms"] >= 14500


def _overlaps(p) -> int:
    """How many pairs of segments show the same footage (repeats)."""
    spans = sorted((s["footage_in_ms"], s["footage_out_ms"]) for s in p["segments"])
    return sum(1 for i, (a0, a1) in enumerate(spans) for b0, b1 in spans[i + 1:] if b0 < a1 - 1)


def test_repeats_only_when_footage_too_short():
    tdna = sa.dna(shots_ms=[0, 1000, 2000, 3000])
    p = build(tdna, finfo=info(dur=2.0), fdna=sa.dna(shots_ms=[0, 2000]), config={"duration_seconds": 3.0})
    assert p["output"]["frame_count"] == 75
    check_segments(p, [0, 2000], 25)
    assert _overlaps(p) >= 1  # 3 s of output from 2 s of footage: something repeats
    p = build(tdna, finfo=info(dur=6.0), fdna=sa.dna(shots_ms=[0, 6000]), config={"duration_seconds": 3.0})
    assert _overlaps(p) == 0  # with enough footage: nothing does


def test_soundtrack_resolution():
    t = sa.dna(shots_ms=[0, 4000], integrated_lufs=-12.0, true_peak_dbtp=-0.2, music_present=True)
    st = build(t)["soundtrack"]
    assert st["source"] == "template" and st["target_lufs"] == -12.0 and st["true_peak_ceiling_dbtp"] == -1.0
    st = build(sa.dna(shots_ms=[0, 4000], music_present=False, true_peak_dbtp=-3.0))["soundtrack"]
    assert st["source"] == "footage" and st["true_peak_ceiling_dbtp"] == -3.0
    st = build(sa.dna(shots_ms=[0, 4000], music_present=False), finfo=info(audio=False))["soundtrack"]
    assert st["source"] == "template"  # footage has no audio; the template's sound is all there is
    st = build(sa.dna(shots_ms=[0, 4000]), finfo=info(audio=False), config={"audio_source": "footage"})["soundtrack"]
    assert st["source"] == "none"


def test_config_validation():
    for bad in ({"quality": "ultra"}, {"aspect_ratio": "4:3"}, {"resolution": 100}, {"duration_seconds": 0},
                {"audio_source": "x"}, {"color_strength": 2}, {"transitions": "yes"}, {"nope": 1}):
        with pytest.raises(ValueError):
            P.effective_config(bad)
    assert P.effective_config({})["quality"] == "high"


def test_roi_moves_crop():
    t = np.arange(0, 20.0, 0.2)
    roi = framing.RoiTrack(t, np.full(t.size, 0.9), np.full(t.size, 0.5), np.ones(t.size))
    p = build(sa.dna(shots_ms=[0, 4000], aspect_ratio="9:16"), roi=roi)
    c = p["segments"][0]["crop"][0]
    assert c["x"] == 1280 - c["width"]  # pushed to the right edge, still inside the frame
    p2 = build(sa.dna(shots_ms=[0, 4000], aspect_ratio="9:16"), roi=replace(roi, x=np.full(t.size, 0.1)))
    assert p2["segments"][0]["crop"][0]["x"] == 0


def test_consecutive_segments_of_one_footage_shot_jump_visibly():
    """One long footage shot: each cut skips at least MIN_JUMP_S of footage (no invisible cuts)."""
    tdna = sa.dna(shots_ms=[0, 2000, 4000, 6000, 8000, 10000, 12000], fps=25)
    fdna = sa.dna(shots_ms=[0, 30000], fps=25)
    p = build(tdna, fdna=fdna, finfo=info(dur=30.0), config={"beat_sync": False})
    segs = p["segments"]
    assert len(segs) == 6
    for a, b in zip(segs, segs[1:]):
        assert b["footage_in_ms"] - a["footage_out_ms"] >= P.MIN_JUMP_S * 1000 - 1, (a, b)


def test_jump_rule_gives_way_when_footage_is_tight():
    """12 s of output from 13 s of one shot cannot skip 1 s five times: the plan still fills it, chronologically."""
    tdna = sa.dna(shots_ms=[0, 2000, 4000, 6000, 8000, 10000, 12000], fps=25)
    fdna = sa.dna(shots_ms=[0, 13000], fps=25)
    p = build(tdna, fdna=fdna, finfo=info(dur=13.0), config={"beat_sync": False})
    ins = [s["footage_in_ms"] for s in p["segments"]]
    assert ins == sorted(ins) and len(ins) == 6
    for a, b in zip(p["segments"], p["segments"][1:]):
        assert b["footage_in_ms"] >= a["footage_out_ms"] - 1  # no repeats


def test_segments_prefer_another_footage_shot():
    """With several footage shots, consecutive segments come from different shots where the pacing allows."""
    tdna = sa.dna(shots_ms=[0, 2000, 4000, 6000, 8000], fps=25)
    fdna = sa.dna(shots_ms=[0, 9000, 12000, 15000, 18000], fps=25)
    p = build(tdna, fdna=fdna, finfo=info(dur=18.0), config={"beat_sync": False})
    bounds = [0, 9000, 12000, 15000, 18000]
    shot_of = [max(i for i, b in enumerate(bounds[:-1]) if s["footage_in_ms"] >= b) for s in p["segments"]]
    assert all(a != b for a, b in zip(shot_of, shot_of[1:])), shot_of


def test_no_repeat_while_unused_footage_remains():
    """When the chronological search runs out, an unused earlier stretch beats repeating footage."""
    tdna = sa.dna(shots_ms=[0, 2000, 4000, 6000, 8000, 10000, 12000], fps=25)
    bounds = [0, 3000, 6000, 9000, 12000, 15000, 18000, 21000, 24000, 27000]
    fdna = sa.dna(shots_ms=bounds, fps=25, motion_per_shot=[0, 0, 0, 0, 0, 0.2, 1, 1, 1])  # action late in the footage
    p = build(tdna, fdna=fdna, finfo=info(dur=27.0), config={"beat_sync": False})
    spans = sorted((s["footage_in_ms"], s["footage_out_ms"]) for s in p["segments"])
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert b0 >= a1 - 1, spans  # no footage shown twice
