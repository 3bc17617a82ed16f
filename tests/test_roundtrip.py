"""Round trip through `clipzy apply`: the output's own Style DNA matches the template's.

The template is made in code: six 2 s shots of real footage joined by hard cuts (or, in the
second template, by 0.48 s dissolves), graded warm and desaturated, with drums at 120 BPM.
The footage is real, ungraded and differently paced. Extracting the Style DNA of the
rendered output must give the template's cut frequency (±15 %), primary transition type,
grade (each field ±15), aspect ratio, frame rate and integrated loudness (±1 LU) — and the
untouched footage must FAIL the same grade and pacing checks (the baseline: the checks can
tell an applied style from none).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
FPS = 25
SIZE = (320, 180)


def warm_desat(frame: np.ndarray) -> np.ndarray:
    """A visible grade: warmer (R up, B down) and 35 % less saturated."""
    f = frame.astype(np.float32)
    grey = f.mean(axis=2, keepdims=True)
    f = grey + 0.65 * (f - grey)
    f[..., 0] *= 1.12
    f[..., 2] *= 0.85
    return np.clip(f, 0, 255).astype(np.uint8)


DISSOLVE_FRAMES = 12  # 0.48 s at 25 fps


def _join(shots: list[list[np.ndarray]], dissolve: int) -> list[np.ndarray]:
    """Shots joined by hard cuts (``dissolve`` 0) or by linear dissolves of that many frames
    that overlap the end of one shot with the start of the next (the total length is kept)."""
    out = list(shots[0])
    for shot in shots[1:]:
        if dissolve:
            tail = out[-dissolve:]
            del out[-dissolve:]
            for k in range(dissolve):
                w = (k + 1) / (dissolve + 1)
                out.append(np.clip((1 - w) * tail[k] + w * shot[k], 0, 255).astype(np.uint8))
            out += shot[dissolve:] + shot[-1:] * dissolve
        else:
            out += shot
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory, shared_media):
    from synth.audio import drum_track
    from synth.video import shared_media_frames, write_video

    d = tmp_path_factory.mktemp("roundtrip")
    sources = [("cockatoo.mp4", 0.2), ("bigbuckbunny.mp4", 0.2), ("cockatoo.mp4", 4.5), ("bigbuckbunny.mp4", 2.6),
               ("cockatoo.mp4", 9.5), ("birds.mp4", 0.0)]
    shots = []
    for name, start in sources:
        shot = shared_media_frames(str(shared_media / name), start_s=start, count=2 * FPS, size=SIZE)
        shot += [shot[-1]] * (2 * FPS - len(shot))
        shots.append([warm_desat(f) for f in shot])
    drums = drum_track(120.0, 12.0, sr=48000, level_dbfs=-3.0)
    audio = np.stack([drums.audio] * 2, axis=1)
    template = write_video(d / "template.mp4", _join(shots, 0), fps=FPS, audio=audio)
    write_video(d / "template_dissolves.mp4", _join(shots, DISSOLVE_FRAMES)[: 12 * FPS], fps=FPS, audio=audio)
    footage_frames = []  # 27 s of real, ungraded footage: nine shots of 3 s
    for name, start, n in (("cockatoo.mp4", 0.0, 75), ("bigbuckbunny.mp4", 0.0, 75), ("wannaworktogether.mp4", 5.0, 75),
                           ("cockatoo.mp4", 10.0, 75), ("endcard_fade.mp4", 1.0, 75), ("wannaworktogether.mp4", 40.0, 75),
                           ("bigbuckbunny.mp4", 2.2, 75), ("wannaworktogether.mp4", 100.0, 75),
                           ("wannaworktogether.mp4", 150.0, 75)):
        footage_frames += shared_media_frames(str(shared_media / name), start_s=start, count=n, size=SIZE)
    footage = write_video(d / "footage.mp4", footage_frames, fps=FPS)
    return d, str(template), str(footage)


def _apply_and_measure(d: Path, template: str, footage: str, prepared_models, with_models, name: str):
    """``clipzy apply`` in a fresh process; returns (the template's Style DNA, the output's own)."""
    from clipzy.engine.pipeline import extract_style

    out = d / name / "clip.mp4"
    env = {**os.environ, "CLIPZY_INSTANCE_PATH": str(d / "instance"), "CLIPZY_MODELS_PATH": str(prepared_models)}
    r = subprocess.run([sys.executable, "-m", "clipzy.cli", "apply", "--template", template, "--footage", footage,
                        "-o", str(out), "--config", json.dumps({"quality": "low"})],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    for suffix in (".mp4", ".style_dna.json", ".cube", ".edit_plan.json"):
        assert (d / name / f"clip{suffix}").is_file(), suffix
    meta = json.loads(r.stdout.strip().splitlines()[-1])
    assert meta["codec"] == "h264" and meta["has_audio"] is True
    return json.loads((d / name / "clip.style_dna.json").read_text()), extract_style(str(out), models=with_models)


def _grade_misses(want: dict, got: dict) -> list[str]:
    return [f for f, v in want["color_grade"].items() if abs(got["color_grade"][f] - v) > 15]


def _cut_frequency_off(want: dict, got: dict) -> bool:
    return abs(got["cut_frequency"] - want["cut_frequency"]) > 0.15 * want["cut_frequency"]


def test_apply_round_trip_through_the_cli(clips, prepared_models, with_models):
    from clipzy.engine.pipeline import extract_style

    d, template, footage = clips
    want, got = _apply_and_measure(d, template, footage, prepared_models, with_models, "out")
    report = {k: (want[k], got[k]) for k in ("cut_frequency", "aspect_ratio", "frame_rate")}
    report["primary"] = (want["primary_transition"], got["primary_transition"])
    report["grade"] = (want["color_grade"], got["color_grade"])
    report["lufs"] = (want["loudness"]["integrated_lufs"], got["loudness"]["integrated_lufs"])
    print(json.dumps(report, indent=1))
    assert got["aspect_ratio"] == want["aspect_ratio"] and got["frame_rate"] == want["frame_rate"]
    assert not _cut_frequency_off(want, got), report
    assert got["primary_transition"]["type"] == want["primary_transition"]["type"], report
    assert _grade_misses(want, got) == [], report["grade"]
    assert abs(got["loudness"]["integrated_lufs"] - want["loudness"]["integrated_lufs"]) <= 1.0, report
    # the baseline: the untouched footage fails the same checks
    raw = extract_style(footage, models=with_models)
    assert _grade_misses(want, raw), ("the ungraded footage passes the grade check", raw["color_grade"])
    assert _cut_frequency_off(want, raw), ("the footage's own pacing passes the pacing check", raw["cut_frequency"])


def test_round_trip_keeps_a_dissolve_template_a_dissolve_template(clips, prepared_models, with_models):
    d, _template, footage = clips
    want, got = _apply_and_measure(d, str(d / "template_dissolves.mp4"), footage, prepared_models, with_models, "diss")
    assert want["primary_transition"]["type"] == "dissolve", want["primary_transition"]
    report = {"cut_frequency": (want["cut_frequency"], got["cut_frequency"]),
              "primary": (want["primary_transition"], got["primary_transition"]),
              "transitions": [t["type"] for t in got["transitions"]]}
    print(json.dumps(report, indent=1))
    assert got["primary_transition"]["type"] == "dissolve", report
    assert not _cut_frequency_off(want, got), report
