"""Ground truth for the apply side: known grades as LUTs, colour metrics, hand-made DNA, click music.

* ``known_lut(name)``: a 33³ LUT made in code — ``teal_orange`` (shadows to teal, skin and
  highlights to orange, more contrast), ``warm_film`` (warm, lifted blacks, soft highlights),
  ``cool_desat`` (cooler, 45 % less chroma, slightly darker).
* ``ciede2000(lab1, lab2)``: vectorised CIEDE2000 (Sharma, Wu & Dalal 2005).
* ``wasserstein_lab(lab1, lab2)``: per-channel 1-D Wasserstein distances (L, a, b).
* ``ssim_structure(x, y)``: mean SSIM structure term (σxy + C3)/(σx σy + C3), Gaussian 11×11.
* ``profile(frames)``: a ``color_profile`` dict measured with clipzy.engine.analysis.color's helpers.
* ``dna(...)``: a Style DNA dict with the fields the apply step reads.
* ``click_music(bpm, seconds)``: drum-like clicks on a known beat grid plus a quiet pad.
"""
from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np
from scipy.stats import wasserstein_distance

from clipzy.engine.editing import grade as lutmod


def _grade_rgb(rgb: np.ndarray, name: str) -> np.ndarray:
    """Apply a known grade to float RGB (..., 3) in 0..1 (vectorised)."""
    x = np.clip(rgb, 0, 1).astype(np.float64)
    lum = (0.2126 * x[..., 0] + 0.7152 * x[..., 1] + 0.0722 * x[..., 2])[..., None]
    if name == "teal_orange":
        s = 1 / (1 + np.exp(-(x - 0.5) * 6.0))  # S-curve contrast
        y = (s - 1 / (1 + np.exp(3.0))) / (1 / (1 + np.exp(-3.0)) - 1 / (1 + np.exp(3.0)))
        shadow = (1 - lum) ** 2
        high = lum ** 2
        y = y + shadow * np.array([-0.06, 0.02, 0.06]) + high * np.array([0.08, 0.02, -0.08])
    elif name == "warm_film":
        y = 0.06 + 0.88 * x  # lifted blacks, soft highlights
        y = y * np.array([1.08, 1.0, 0.86])
        y = y ** 0.95
    elif name == "cool_desat":
        g = lum + 0.55 * (x - lum)
        y = g * np.array([0.92, 0.98, 1.08]) * 0.95
    else:
        raise ValueError(f"unknown grade {name!r}")
    return np.clip(y, 0, 1)


GRADES = ("teal_orange", "warm_film", "cool_desat")


def known_lut(name: str, size: int = 33) -> np.ndarray:
    """The known grade ``name`` sampled as a LUT (size³, indexed [r, g, b])."""
    return _grade_rgb(lutmod.identity(size), name).astype(np.float32)


def to_lab(rgb_u8: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb_u8.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of two Lab arrays (..., 3) → (...)."""
    L1, a1, b1 = [np.asarray(lab1, np.float64)[..., i] for i in range(3)]
    L2, a2, b2 = [np.asarray(lab2, np.float64)[..., i] for i in range(3)]
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cb = (C1 + C2) / 2
    G = 0.5 * (1 - np.sqrt(Cb ** 7 / (Cb ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = C2p - C1p
    dh = h2p - h1p
    dh = np.where(C1p * C2p == 0, 0, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)))
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh) / 2)
    Lbp = (L1 + L2) / 2
    Cbp = (C1p + C2p) / 2
    hs = h1p + h2p
    hbp = np.where(C1p * C2p == 0, hs, np.where(np.abs(h1p - h2p) <= 180, hs / 2, np.where(hs < 360, (hs + 360) / 2, (hs - 360) / 2)))
    T = 1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp)) + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63))
    dtheta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    Rc = 2 * np.sqrt(Cbp ** 7 / (Cbp ** 7 + 25.0 ** 7))
    Sl = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    Sc = 1 + 0.045 * Cbp
    Sh = 1 + 0.015 * Cbp * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh))


def wasserstein_lab(lab1: np.ndarray, lab2: np.ndarray, *, n: int = 40000, seed: int = 0) -> np.ndarray:
    """Per-channel 1-D Wasserstein distances [L, a, b] between two Lab pixel sets (subsampled)."""
    rng = np.random.default_rng(seed)
    x, y = lab1.reshape(-1, 3), lab2.reshape(-1, 3)
    x = x[rng.choice(x.shape[0], min(n, x.shape[0]), replace=False)]
    y = y[rng.choice(y.shape[0], min(n, y.shape[0]), replace=False)]
    return np.array([wasserstein_distance(x[:, i], y[:, i]) for i in range(3)])


def ssim_structure(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM structure term of two grey images (0..255 range), 11×11 Gaussian σ 1.5."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    C3 = (0.03 * 255) ** 2 / 2
    blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5)  # noqa: E731
    mx, my = blur(x), blur(y)
    vx = np.maximum(blur(x * x) - mx * mx, 0)
    vy = np.maximum(blur(y * y) - my * my, 0)
    cxy = blur(x * y) - mx * my
    return float(np.mean((cxy + C3) / (np.sqrt(vx * vy) + C3)))


def profile(frames: Sequence[np.ndarray]) -> dict[str, Any]:
    """``color_profile`` of RGB frames as the engine measures it: the production
    :class:`~clipzy.engine.analysis.color.ColorAnalyzer` pooling (frames fed at its own size and
    sampling interval, one shot)."""
    from clipzy.engine.analysis.color import ColorAnalyzer
    from clipzy.engine.media import VideoInfo

    h, w = frames[0].shape[:2]
    info = VideoInfo(width=w, height=h, coded_width=w, coded_height=h, rotation=0, duration_seconds=len(frames) * 0.25,
                     frame_rate=4.0, frame_count=len(frames), codec="rawvideo", pixel_format="rgb24", bitrate_kbps=None,
                     format="mp4", has_audio=False, audio_codec=None, audio_sample_rate=None, audio_channels=None)
    an = ColorAnalyzer(info)
    fw, fh = an.frame_size
    for i, f in enumerate(frames):
        img = f if (f.shape[1], f.shape[0]) == (fw, fh) else cv2.resize(f, (fw, fh), interpolation=cv2.INTER_AREA)
        an.push(np.ascontiguousarray(img), i * an.every_s)
    return an.finish([(0.0, info.duration_seconds)])["color_profile"]


def grade_recovery(path: str, start_a_s: float, start_b_s: float, grade: str, *, workdir: str) -> dict[str, float]:
    """Template = stretch A of a real shot graded by the known LUT ``grade``; footage = stretch B
    untouched. The engine's transfer (built from the two colour profiles, applied in C by
    lut3d) is compared with B graded by the same known LUT. Returns ``de2000`` (mean ΔE2000
    against the truth), ``de2000_untouched`` (B itself against the truth), ``wasserstein_before``
    / ``_after`` (Lab distance to the template, summed over L, a, b) and ``ssim_structure``."""
    import os

    from clipzy.engine.editing import grade as lutmod
    from tests.synth.video import shared_media_frames

    A = shared_media_frames(path, start_s=start_a_s, count=8, size=(320, 180))[::2]
    B = shared_media_frames(path, start_s=start_b_s, count=8, size=(320, 180))[::2]
    K = known_lut(grade)
    A_graded = [lutmod.apply_lut_numpy(f, K) for f in A]
    B_truth = [lutmod.apply_lut_numpy(f, K) for f in B]
    L = lutmod.build_lut(profile(B), profile(A_graded), strength=1.0)
    flt = lutmod.LutFilter(lutmod.write_cube(os.path.join(workdir, f"{grade}.cube"), L), 320, 180)
    B_out = [flt.apply(f) for f in B]
    lab_out, lab_truth = (np.concatenate([to_lab(f) for f in fs]) for fs in (B_out, B_truth))
    lab_b, lab_tmpl = (np.concatenate([to_lab(f) for f in fs]) for fs in (B, A_graded))
    grey = lambda f: cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)  # noqa: E731
    return {"de2000": float(ciede2000(lab_out, lab_truth).mean()),
            "de2000_untouched": float(ciede2000(lab_b, lab_truth).mean()),
            "wasserstein_before": float(wasserstein_lab(lab_b, lab_tmpl).sum()),
            "wasserstein_after": float(wasserstein_lab(lab_out, lab_tmpl).sum()),
            "ssim_structure": float(np.mean([ssim_structure(grey(o), grey(b)) for o, b in zip(B_out, B)]))}


def dna(
    *,
    shots_ms: Sequence[int],
    fps: float = 25.0,
    aspect_ratio: str = "16:9",
    resolution: tuple[int, int] = (640, 360),
    transitions: Sequence[tuple[str, int]] | None = None,
    beats_ms: Sequence[int] | None = None,
    integrated_lufs: float | None = -14.0,
    true_peak_dbtp: float | None = -1.0,
    music_present: bool | None = True,
    color_profile: dict | None = None,
    motion_per_shot: Sequence[float] | None = None,
) -> dict[str, Any]:
    """A Style DNA dict with shots at the boundaries ``shots_ms`` = [0, b1, ..., end]."""
    b = list(shots_ms)
    shots = [{"start_ms": int(b[i]), "end_ms": int(b[i + 1])} for i in range(len(b) - 1)]
    trs = []
    for i, x in enumerate(b[1:-1]):
        typ, d = (transitions[i] if transitions else ("cut", 0))
        trs.append({"start_ms": int(x - d // 2), "end_ms": int(x + d - d // 2), "type": typ, "confidence": 1.0})
    d: dict[str, Any] = {
        "version": "1.0", "aspect_ratio": aspect_ratio, "frame_rate": fps,
        "resolution": {"width": resolution[0], "height": resolution[1]},
        "source_duration_seconds": b[-1] / 1000.0, "shots": shots, "transitions": trs,
        "beats": {"beat_times_ms": list(beats_ms or []), "downbeat_times_ms": [], "beats_per_bar": None, "tempo_confidence": None},
        "loudness": {"integrated_lufs": integrated_lufs, "true_peak_dbtp": true_peak_dbtp, "music_present": music_present,
                     "loudness_range_lu": None, "speech_ratio": None},
        "color_profile": color_profile,
    }
    if motion_per_shot is not None:
        d["motion"] = {"per_shot": [{"intensity": v} for v in motion_per_shot]}
    return d


def click_music(bpm: float, seconds: float, *, sample_rate: int = 48000, offset_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(stereo float32 audio, beat times in seconds): decaying 60 Hz+noise kicks on every beat
    from ``offset_s`` plus a quiet 220 Hz pad."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    beats = np.arange(offset_s, seconds - 1e-9, 60.0 / bpm)
    y = 0.05 * np.sin(2 * np.pi * 220 * t)
    k = int(0.12 * sample_rate)
    tk = np.arange(k) / sample_rate
    rng = np.random.default_rng(1)
    kick = (np.sin(2 * np.pi * 60 * tk) * 0.8 + 0.3 * rng.standard_normal(k) * np.exp(-tk * 80)) * np.exp(-tk * 30)
    for bt in beats:
        i = int(round(bt * sample_rate))
        m = min(k, n - i)
        y[i: i + m] += kick[:m]
    y = (y / np.max(np.abs(y)) * 0.7).astype(np.float32)
    return np.stack([y, y], axis=1), beats


#: distinct real shots (file, start second) used to build footage with known cuts
REAL_SHOTS = [("cockatoo.mp4", 0.5), ("bigbuckbunny.mp4", 0.5), ("birds.mp4", 0.0), ("wannaworktogether.mp4", 20.0),
              ("cockatoo.mp4", 9.0), ("bigbuckbunny.mp4", 3.5), ("wannaworktogether.mp4", 60.0), ("cockatoo.mp4", 4.0)]


def make_footage(path, media_dir, *, shots: int = 8, shot_s: float = 1.0, fps: float = 25.0, size=(320, 180),
                 audio: bool = True, loop_to_s: float | None = None) -> tuple[str, list[int], list[np.ndarray]]:
    """Footage of ``shots`` distinct real shots (``REAL_SHOTS``), each ``shot_s`` long, hard cuts.

    Returns (path, shot boundaries in ms, the frames written). ``audio`` adds a quiet
    noise bed (−30 dBFS RMS). ``loop_to_s`` repeats the shot list until that duration.
    """
    import os

    from tests.synth.video import shared_media_frames, write_video

    n = int(round(shot_s * fps))
    frames: list[np.ndarray] = []
    bounds = [0]
    total = loop_to_s if loop_to_s else shots * shot_s
    k = 0
    while len(frames) < int(round(total * fps)):
        name, start = REAL_SHOTS[k % min(shots, len(REAL_SHOTS))]
        src = shared_media_frames(os.path.join(media_dir, name), start_s=start + 0.01 * (k // len(REAL_SHOTS)), count=n, size=size)
        while len(src) < n:  # short clips (birds is 1 s): hold the last frame
            src.append(src[-1])
        frames.extend(src)
        bounds.append(int(round(len(frames) * 1000 / fps)))
        k += 1
    sound = None
    if audio:
        rng = np.random.default_rng(5)
        sound = (0.0316 * rng.standard_normal((int(len(frames) / fps * 48000), 2))).astype(np.float32)
    write_video(path, frames, fps=fps, audio=sound)
    return str(path), bounds, frames


def make_template(path, *, seconds: float, fps: float = 25.0, size=(144, 256), bpm: float | None = 120.0,
                  offset_s: float = 0.3) -> tuple[str, np.ndarray]:
    """A small template clip (grey ramp frames) with click music at ``bpm`` (None → no audio).
    Returns (path, beat times in seconds)."""
    from tests.synth.video import write_video

    n = int(round(seconds * fps))
    w, h = size
    frames = [np.full((h, w, 3), (i * 5) % 255, np.uint8) for i in range(n)]
    audio, beats = (None, np.zeros(0)) if bpm is None else click_music(bpm, seconds, offset_s=offset_s)
    write_video(path, frames, fps=fps, audio=audio)
    return str(path), beats


def footage_analysis(path, fdna: dict, *, roi=None, speech=()):
    """A footage :class:`~clipzy.engine.pipeline.VideoAnalysis` whose measurements are the
    synthetic Style DNA ``fdna`` (shots, colour profile, per-shot motion), the ROI track and
    the speech spans given: what the analysis stages would hand the apply stages."""
    from clipzy.engine.analysis.audio import AudioAnalysis
    from clipzy.engine.media import probe
    from clipzy.engine.pipeline import Source, VideoAnalysis

    shots_s = [(s["start_ms"] / 1000.0, s["end_ms"] / 1000.0) for s in fdna.get("shots") or []]
    return VideoAnalysis(Source.of(path), probe(path), "footage", shots_s=shots_s,
                         color={"color_profile": fdna.get("color_profile")},
                         motion={"motion": fdna.get("motion") or {"per_shot": []}}, roi=roi,
                         audio=AudioAnalysis(speech_segments_s=list(speech)))


def run_apply_stages(*, template, footage, tdna: dict, fdna: dict, config: dict, out_mp4, out_cube, out_plan,
                     roi=None, speech=(), control=None):
    """Walk the pipeline's apply stages (style_application, rendering) with ``tdna`` as the
    template's Style DNA and ``fdna`` as the footage's measurements; returns the JobState.
    Progress: the plan 0–20 % of ``control``, the render 20–100 %."""
    from clipzy.engine.control import ensure
    from clipzy.engine.media import probe
    from clipzy.engine.models import ModelRegistry
    from clipzy.engine.pipeline import Artifacts, JobState, Source, VideoAnalysis, run_stage, stages_for

    control = ensure(control)
    state = JobState(style_source=Source.of(template), footage=[Source.of(footage)], config=config,
                     artifacts=Artifacts(style_dna=str(out_plan) + ".dna.json", edit_plan=str(out_plan),
                                         lut=str(out_cube), output=str(out_mp4)),
                     models=ModelRegistry.from_environ(), style_dna=tdna)
    state.style = VideoAnalysis(state.style_source, probe(template), "style")
    state.clips = [footage_analysis(footage, fdna, roi=roi, speech=speech)]
    spans = iter([(0.0, 0.2), (0.2, 1.0)])
    for stage in stages_for(state):
        if stage.apply_only:
            run_stage(stage, state, control.span(*next(spans)))
    return state
