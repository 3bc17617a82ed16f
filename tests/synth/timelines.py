"""Edits with known truth for the editor-timeline tests: scenarios, their exports, pixel checks.

A :class:`Scenario` is an edit plan, the footage it cuts, the MP4 the service renders from it
and its editor timelines (:func:`clipzy.engine.editing.timelines.export`) unpacked from the
project bundle into a folder of its own, so every relative reference can be resolved there.

* :func:`pipeline_scenario`: the plan made by the pipeline's apply stages
  (:func:`tests.synth.apply.run_apply_stages`) from real footage and a synthetic template DNA
  with dissolves, a fade and a wipe, a moving region of interest and a real grade;
* :func:`handmade_scenario`: a plan written by hand (two clips at 25 and 29.97 fps in a
  29.97 fps 9:16 edit, eased transitions, held last frames, moving crops, one LUT per clip),
  rendered by :func:`clipzy.engine.editing.render.render`;
* :func:`hard_cuts`, :func:`thumb_structure`, :func:`render_mlt`: the pixel checks.
"""
from __future__ import annotations

import os
import subprocess
import zipfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from clipzy.engine import media
from clipzy.engine.editing import grade as lutmod
from clipzy.engine.editing import render as render_mod
from clipzy.engine.editing import timelines as T
from clipzy.engine.editing.edit_plan import CropKey, EditPlan, OutputFormat, PlannedTransition, Segment, Soundtrack
from tests.synth import apply as sa
from tests.synth.video import read_frames, shared_media_frames, write_video

NTSC = Fraction(30000, 1001)


@dataclass
class Scenario:
    name: str
    plan: EditPlan
    clips: list[T.TimelineMedia]
    mp4: str  # what the service rendered from the plan
    cubes: dict[str, str | None]  # LUT name → .cube on disk (None: identity)
    soundtrack_wav: str
    files: dict[str, str]  # export(): format → path, "project" → zip
    folder: Path  # the project bundle, unpacked
    footage_frames: dict[int, list[np.ndarray]] = field(default_factory=dict)


def export_and_unpack(s: Scenario, work: Path) -> Scenario:
    out = work / "timelines"
    out.mkdir(parents=True, exist_ok=True)
    s.files = T.export(s.plan, clips=s.clips, paths={k: str(out / n) for k, n in T.FORMATS.items()},
                       soundtrack_wav=s.soundtrack_wav, cubes=s.cubes,
                       title=f"clipzy {s.name}", zip_path=str(work / "project.zip"))
    s.folder = work / "unpacked"
    with zipfile.ZipFile(s.files["project"]) as z:
        z.extractall(s.folder)
    return s


def _soundtrack_from(mp4: str, wav: Path) -> str:
    a = media.decode_audio(mp4, sample_rate=48000, layout="stereo")
    return T.write_soundtrack_wav(str(wav), a.samples)


def pipeline_scenario(work: Path, media_dir: str, *, name: str, footage_fps: float | Fraction, output_fps: float,
                      aspect: str, moving_roi: bool = True) -> Scenario:
    """The pipeline's own plan and MP4: six template shots joined by a dissolve, a cut, a fade,
    a wipe and a cut; a real grade (the template is the footage graded teal/orange); click
    music at 120 BPM with a downbeat every four beats."""
    from clipzy.engine.analysis.framing import RoiTrack

    work.mkdir(parents=True, exist_ok=True)
    footage, fshots, frames = sa.make_footage(work / "foot.mp4", media_dir, shots=6, fps=footage_fps)
    template, beats = sa.make_template(work / "tmpl.mp4", seconds=4.0, fps=output_fps, bpm=120, offset_s=0.3)
    graded = [lutmod.apply_lut_numpy(f, sa.known_lut("teal_orange")) for f in frames[::10]]
    tdna = sa.dna(shots_ms=[0, 700, 1400, 2100, 2800, 3400, 4000], fps=output_fps, aspect_ratio=aspect,
                  resolution=(144, 256), transitions=[("dissolve", 300), ("cut", 0), ("fade", 400), ("wipe", 300),
                                                      ("cut", 0)],
                  beats_ms=[int(round(b * 1000)) for b in beats], color_profile=sa.profile(graded))
    tdna["beats"]["downbeat_times_ms"] = [int(round(b * 1000)) for b in beats[::4]]
    fdna = sa.dna(shots_ms=fshots, fps=float(footage_fps), color_profile=sa.profile(frames[::10]))
    t = np.linspace(0, 6, 31)  # a region of interest that sweeps left and right: the crop pans
    roi = RoiTrack(t, 0.5 + 0.35 * np.sin(t * 1.3), np.full(t.size, 0.5), np.ones(t.size), None,
                   np.zeros(t.size)) if moving_roi else None
    state = sa.run_apply_stages(template=template, footage=footage, tdna=tdna, fdna=fdna, config={"quality": "high"},
                                out_mp4=work / "out.mp4", out_cube=work / "out.cube", out_plan=work / "plan.json", roi=roi)
    clips = [T.TimelineMedia(path=str(c.source.path), name=os.path.basename(str(c.source.path)), info=c.measured_info)
             for c in state.clips]
    s = Scenario(name, state.plan, clips, str(work / "out.mp4"), dict(state.luts),
                 _soundtrack_from(str(work / "out.mp4"), work / "soundtrack.wav"), {}, work)
    s.footage_frames = {0: frames}
    return export_and_unpack(s, work)


def _clip_from_shots(path: Path, media_dir: str, shots: Sequence[tuple[str, float]], fps: Fraction | int,
                     seconds_each: float = 1.0) -> tuple[str, list[np.ndarray]]:
    frames: list[np.ndarray] = []
    n = int(round(seconds_each * float(fps)))
    for name, start in shots:
        src = shared_media_frames(os.path.join(media_dir, name), start_s=start, count=n, size=(320, 180))
        while len(src) < n:
            src.append(src[-1])
        frames += src
    write_video(path, frames, fps=fps, crf=16)
    return str(path), frames


def _seg(i: int, clip: int, fin: float, a: int, n: int, tail: float, tr: tuple[str, int, str], x0: int, x1: int,
         fps: Fraction) -> Segment:
    dur = n / float(fps)
    keys = [CropKey(0.0, x0, 0, 100, 180)] if x0 == x1 else [CropKey(0.0, x0, 0, 100, 180),
                                                            CropKey(round(dur + 0.3, 3), x1, 0, 100, 180)]
    return Segment(index=i, footage_in_s=fin, footage_out_s=fin + dur, output_in_frame=a, output_out_frame=a + n,
                   footage_shot=0, tail_s=tail, transition_in=PlannedTransition(*tr), crop=keys, lut=f"clip{clip}",
                   on_beat=False, clip=clip, video_id=f"v{clip}")


def handmade_scenario(work: Path, media_dir: str) -> Scenario:
    """Two clips (25 fps and 29.97 fps, 320x180) cut into a 180x320 edit at 30000/1001 fps."""
    work.mkdir(parents=True, exist_ok=True)
    p0, f0 = _clip_from_shots(work / "a_25fps.mp4", media_dir, sa.REAL_SHOTS[:4], 25)
    p1, f1 = _clip_from_shots(work / "b_2997fps.mp4", media_dir, sa.REAL_SHOTS[4:], NTSC)
    fps = NTSC
    spec = [  # clip, footage in, frames, tail after the out point, incoming transition, crop x from → to
        (0, 0.1, 24, 0.1, ("cut", 0, "linear"), 0, 120),
        (1, 0.2, 20, 0.0, ("dissolve", 8, "ease-in-out"), 200, 150),
        (1, 1.1, 18, 0.3, ("fade", 6, "linear"), 110, 110),
        (0, 2.05, 16, 0.0, ("wipe", 6, "ease-out"), 40, 90),
        (1, 2.2, 14, 0.0, ("cut", 0, "linear"), 160, 160),
        (1, 3.1, 18, 0.0, ("dissolve", 5, "linear"), 220, 100),
    ]
    segs, a = [], 0
    for i, (clip, fin, n, tail, tr, x0, x1) in enumerate(spec):
        segs.append(_seg(i, clip, fin, a, n, tail, tr, x0, x1, fps))
        a += n
    seconds = a / float(fps)
    music, beats = sa.click_music(120, seconds + 0.5, offset_s=0.25)
    music = music[: int(round(seconds * 48000))]
    plan = EditPlan(output=OutputFormat(180, 320, round(float(fps), 3), a),
                    soundtrack=Soundtrack("template", -14.0, -1.0, gain_db=0.0),
                    luts={"clip0": "clip0.cube", "clip1": "clip1.cube"}, segments=segs,
                    encoder={"crf": 16, "preset": "veryfast"}, config={}, footage={}, beat_sync={},
                    soundtrack_beats_s=[float(b) for b in beats if b < seconds],
                    soundtrack_downbeats_s=[float(b) for b in beats[::4] if b < seconds])
    cubes = {"clip0": lutmod.write_cube(work / "clip0.cube", sa.known_lut("teal_orange")),
             "clip1": lutmod.write_cube(work / "clip1.cube", sa.known_lut("warm_film"))}
    infos = [media.probe(p0), media.probe(p1)]
    out = str(work / "out.mp4")
    render_mod.render(plan, footage=[(p0, infos[0]), (p1, infos[1])], out_path=out, luts=cubes, audio=music)
    clips = [T.TimelineMedia(p0, "a_25fps.mp4", infos[0]), T.TimelineMedia(p1, "b_2997fps.mp4", infos[1])]
    s = Scenario("handmade", plan, clips, out, cubes, T.write_soundtrack_wav(str(work / "soundtrack.wav"), music), {},
                 work)
    s.footage_frames = {0: f0, 1: f1}
    return export_and_unpack(s, work)


# -- pixel checks ------------------------------------------------------------------------------


def footage_size(s: Scenario, seg: Segment) -> tuple[int, int]:
    info = s.clips[seg.clip].info
    return info.width, info.height


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def hard_cuts(frames: Sequence[np.ndarray], *, floor: float = 14.0, ratio: float = 2.5) -> list[int]:
    """Frames that start a hard cut: the mean grey change from the previous frame is at least
    ``floor`` and ``ratio`` times the change on either side (a dissolve, fade or wipe changes
    the picture over several frames, motion by less)."""
    g = [grey(f) for f in frames]
    d = np.array([0.0] + [float(np.abs(g[k] - g[k - 1]).mean()) for k in range(1, len(g))])
    out = []
    for k in range(1, len(d)):
        before = d[k - 1] if k > 1 else 0.0
        after = d[k + 1] if k + 1 < len(d) else 0.0
        if d[k] >= floor and d[k] >= ratio * max(before, after):
            out.append(k)
    return out


def thumb_structure(a: np.ndarray, b: np.ndarray, width: int = 90) -> float:
    """SSIM structure term of two frames' grey thumbnails (``width`` pixels wide)."""
    h = int(round(a.shape[0] * width / a.shape[1]))
    ta = cv2.resize(grey(a), (width, h), interpolation=cv2.INTER_AREA)
    tb = cv2.resize(grey(b), (width, h), interpolation=cv2.INTER_AREA)
    return sa.ssim_structure(ta, tb)


def melt_filters() -> str:
    return subprocess.run(["melt", "-query", "filters"], capture_output=True, text=True, timeout=60).stdout


def render_mlt(folder: Path, out_name: str = "melt.mp4") -> Path:
    """Render ``timeline.mlt`` with melt inside the unpacked bundle; fails on any service melt
    could not load (it would otherwise render without it)."""
    out = folder / out_name
    proc = subprocess.run(["melt", "timeline.mlt", "-consumer", f"avformat:{out_name}", "vcodec=libx264", "crf=14",
                           "preset=veryfast", "acodec=aac", "ab=192k", "ar=48000", "channels=2"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 or not out.is_file():
        raise AssertionError(f"melt failed ({proc.returncode}): {log[-2000:]}")
    bad = [line for line in log.splitlines() if "failed to load" in line or "requires a X11" in line]
    if bad:
        raise AssertionError("melt could not load: " + "; ".join(bad))
    return out


def decode(path: str | Path) -> list[np.ndarray]:
    return read_frames(str(path))
