"""The analysis steps shared by the job runner's stages and the ``clipzy`` CLI.

One :class:`Analysis` per video walks the extract stages in order:

1. ``video_pass``   (stage video_analysis): ONE decode feeding the shot detector, the
   colour, motion and text analysers (and, for footage, the region-of-interest tracker);
2. ``audio_pass``   (stage audio_analysis): loudness, beats/tempo, speech;
3. ``motion_pass``  (stage motion_analysis): per-shot motion and text tracks from what
   the decode pass collected;
4. ``style_dna()``  (stage style_extraction): the Style DNA, validated against its schema.

``extract_style(path)`` runs all four; the job runner calls them one stage at a time so
clients see progress move through the bands of API.md.
"""
from __future__ import annotations

import time
from typing import Any

from . import dna as dna_mod
from .analysis import audio as audio_mod
from .analysis import shots as shots_mod
from .analysis.color import ColorAnalyzer
from .analysis.motion import MotionAnalyzer
from .analysis.text import TextAnalyzer
from .control import Control, ensure
from .media import FramePump, VideoInfo, decode_audio, probe


class Analysis:
    """The measurements of one video, filled step by step (see module docstring)."""

    def __init__(self, path: str, *, info: VideoInfo | None = None, track_roi: bool = False,
                 use_shot_model: bool = True) -> None:
        self.path = path
        self.info = info or probe(path)
        self.track_roi = track_roi
        self.use_shot_model = use_shot_model
        self.timings_s: dict[str, float] = {}
        self.shot_result: Any = None
        self.shots_s: list[tuple[float, float]] = []
        self.shot_fields: dict | None = None
        self.color_fields: dict | None = None
        self.motion_fields: dict | None = None
        self.text_fields: dict | None = None
        self.audio: Any = None
        self.roi: Any = None
        self._consumers: dict[str, Any] = {}

    # -- stage 1 ---------------------------------------------------------------
    def video_pass(self, control: Control | None = None) -> None:
        """Decode once; detect shots and collect colour, motion, text (and ROI) samples."""
        control = ensure(control)
        t0 = time.perf_counter()
        consumers: dict[str, Any] = {
            "shots": shots_mod.make_detector(self.info, use_model=self.use_shot_model),
            "color": ColorAnalyzer(self.info),
            "motion": MotionAnalyzer(self.info),
            "text": TextAnalyzer(self.info),
        }
        if self.track_roi:
            from .analysis.framing import RoiTracker

            consumers["roi"] = RoiTracker(self.info)
        FramePump(self.path, consumers.values(), info=self.info).run(control)
        self._consumers = consumers
        self.shot_result = consumers["shots"].finish()
        duration = self.info.duration_seconds
        self.shots_s = self.shot_result.shots_s(duration)
        self.shot_fields = shots_mod.shot_fields(self.shot_result, duration)
        self.color_fields = consumers["color"].finish(self.shots_s)
        if self.track_roi:
            self.roi = consumers["roi"].finish()
        self.timings_s["video_analysis"] = time.perf_counter() - t0

    # -- stage 2 ---------------------------------------------------------------
    def audio_pass(self, control: Control | None = None) -> None:
        """Loudness, beats and tempo, speech (nulls when the video has no audio)."""
        control = ensure(control)
        t0 = time.perf_counter()
        track = decode_audio(self.path, control=control.span(0.0, 0.3)) if self.info.has_audio else None
        self.audio = audio_mod.analyse_audio(track, control=control.span(0.3, 1.0))
        control.progress(1.0)
        self.timings_s["audio_analysis"] = time.perf_counter() - t0

    # -- stage 3 ---------------------------------------------------------------
    def motion_pass(self, control: Control | None = None) -> None:
        """Per-shot motion and text overlays from the samples of the decode pass."""
        control = ensure(control)
        if not self._consumers:
            raise RuntimeError("video_pass must run before motion_pass")
        t0 = time.perf_counter()
        self.motion_fields = self._consumers["motion"].finish(self.shots_s)
        control.progress(0.5)
        control.check()
        self.text_fields = self._consumers["text"].finish(self.shots_s)
        control.progress(1.0)
        self.timings_s["motion_analysis"] = time.perf_counter() - t0

    # -- stage 4 ---------------------------------------------------------------
    def style_dna(self) -> dict:
        """The validated Style DNA of this video."""
        if self.motion_fields is None or self.audio is None:
            raise RuntimeError("video_pass, audio_pass and motion_pass must run before style_dna")
        t0 = time.perf_counter()
        result = self.shot_result
        timings = dict(self.timings_s)
        timings["style_extraction"] = time.perf_counter() - t0
        return dna_mod.assemble(
            info=self.info, shot=self.shot_fields, color=self.color_fields, motion=self.motion_fields,
            text=self.text_fields, audio=self.audio.fields(), beat_times_s=list(self.audio.beat_times_s),
            shot_detector=result.detector, onnx_provider=result.provider,
            speech_detector=self.audio.speech_detector,
            transition_confidences=[t.confidence for t in result.transitions], timings_s=timings)


def extract_style(path: str, control: Control | None = None, *, use_shot_model: bool = True) -> dict:
    """The Style DNA of ``path`` (all four extract steps, progress 0..1 over them)."""
    control = ensure(control)
    a = Analysis(path, use_shot_model=use_shot_model)
    a.video_pass(control.span(0.0, 0.7))
    a.audio_pass(control.span(0.7, 0.9))
    a.motion_pass(control.span(0.9, 0.97))
    dna = a.style_dna()
    control.progress(1.0)
    return dna


def apply_files(template_path: str, footage_path: str, *, config: dict, out_mp4: str, out_dna: str, out_cube: str,
                out_plan: str, control: Control | None = None) -> dict:
    """Extract the template's Style DNA, analyse the footage, plan, grade and render.

    Writes the output MP4 and, beside it, the template's Style DNA, the .cube LUT and
    the edit plan; returns the output's probed metadata. The same steps as an apply job.
    """
    from . import apply
    from .files import write_json_atomic

    control = ensure(control)
    template = Analysis(template_path)
    footage = Analysis(footage_path, track_roi=True)
    steps = [("video_pass", 0.0, 0.35), ("audio_pass", 0.35, 0.45), ("motion_pass", 0.45, 0.5)]
    for step, lo, hi in steps:
        mid = (lo + hi) / 2
        getattr(template, step)(control.span(lo, mid))
        getattr(footage, step)(control.span(mid, hi))
    template_dna, footage_dna = template.style_dna(), footage.style_dna()
    write_json_atomic(out_dna, template_dna)
    speech = footage.audio.speech_segments_s
    plan, lut = apply.plan_stage(template_path=template_path, footage_path=footage_path, template_dna=template_dna,
                                 footage_dna=footage_dna, footage_roi=footage.roi, footage_speech_s=speech,
                                 config=config, out_cube=out_cube, out_plan=out_plan, control=control.span(0.5, 0.55))
    return apply.render_stage(plan, template_path=template_path, footage_path=footage_path, footage_speech_s=speech,
                              lut=lut, out_mp4=out_mp4, out_cube=out_cube, out_plan=out_plan,
                              control=control.span(0.55, 1.0))
