"""Apply a template's Style DNA to footage: the ``style_application`` and ``rendering`` stages.

Entry point (the pipeline calls exactly this)::

    apply_style(*, template_path, footage_path, template_dna: dict, footage_dna: dict,
                footage_roi: RoiTrack | None, footage_speech_s: list[tuple[float, float]],
                config: dict, out_mp4, out_cube, out_plan, control=None) -> dict

* ``template_dna`` / ``footage_dna``: Style DNA dicts (STYLE_DNA.md) of the template and of
  the footage. Used: ``shots``, ``transitions``, ``primary/secondary_transition``,
  ``frame_rate``, ``aspect_ratio``/``resolution``, ``source_duration_seconds``, ``beats``,
  ``loudness``, ``color_profile`` (both), ``motion.per_shot`` (footage).
* ``footage_roi``: :class:`clipzy.engine.RoiTrack` from a
  :class:`~clipzy.engine.RoiTracker` that ran in the footage's FramePump (None →
  centre framing). ``footage_speech_s``: the footage's speech spans, seconds.
* ``config``: the API ``config`` (defaults are filled in; bad values → ValueError).
* Writes ``out_cube`` (.cube 33³), ``out_plan`` (edit_plan.json) and ``out_mp4``; returns
  ``media.probe(out_mp4).metadata()`` (API.md ``output_metadata``).

It runs two stages, also callable separately so a runner can report them:

* :func:`plan_stage` (``style_application``): builds the edit plan
  (:func:`clipzy.engine.plan.build_plan`) and the global LUT
  (:func:`clipzy.engine.lut.build_lut`, blended by ``color_strength``), writes the .cube and
  edit_plan.json; returns ``(plan, lut)``.
* :func:`render_stage` (``rendering``): mixes the soundtrack
  (:func:`clipzy.engine.mix.build_soundtrack`; the plan's ``soundtrack`` gets the measured
  ``gain_db``, ``duck_db``, ``measured_lufs``, ``true_peak_dbtp`` and edit_plan.json is
  rewritten when ``out_plan`` is given), renders (:func:`clipzy.engine.render.render`) and
  returns the output metadata. Progress: mixing is the first 5 % of the stage, frames the rest.

Beat sync uses the soundtrack's beats on the output clock: with template music (``template``
or ``mix``) the template's ``beats.beat_times_ms`` (repeated every template duration when the
music is looped); with footage audio there is no beat grid that is independent of the edit,
so cuts keep the template's pacing unsnapped (``plan.beat_sync.beats`` = 0).
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from .analysis.framing import RoiTrack
from .editing import grade as lutmod
from .editing import plan as planmod, render
from .editing import soundtrack as mix
from .control import Control, ensure
from .files import write_json_atomic
from .media import probe


def soundtrack_beats(template_dna: Mapping[str, Any], duration_s: float) -> list[float]:
    """Template beat times (seconds) on the output clock, repeated per loop of the music."""
    beats = [b / 1000.0 for b in ((template_dna.get("beats") or {}).get("beat_times_ms") or [])]
    if not beats:
        beats = [b["timestamp_ms"] / 1000.0 for b in (template_dna.get("detected_beats") or []) if "timestamp_ms" in b]
    if not beats:
        return []
    period = float(template_dna.get("source_duration_seconds") or 0.0)
    out = list(beats)
    k = 1
    while period > 0 and k * period < duration_s:
        out.extend(b + k * period for b in beats)
        k += 1
    return sorted(x for x in out if 0 < x < duration_s)


def plan_stage(
    *,
    template_path: str | os.PathLike[str],
    footage_path: str | os.PathLike[str],
    template_dna: Mapping[str, Any],
    footage_dna: Mapping[str, Any],
    footage_roi: RoiTrack | None,
    footage_speech_s: Sequence[tuple[float, float]],
    config: Mapping[str, Any] | None,
    out_cube: str | os.PathLike[str],
    out_plan: str | os.PathLike[str],
    control: Control | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """``style_application``: edit plan + global LUT; writes ``out_cube`` and ``out_plan``."""
    control = ensure(control)
    cfg = planmod.effective_config(config)
    t_info = probe(template_path)
    f_info = probe(footage_path)
    control.progress(0.1)
    # provisional plan gives the output duration and the soundtrack source; then beats
    p0 = planmod.build_plan(template_dna, footage_dna, f_info, footage_roi, footage_speech_s, None, cfg,
                            template_has_audio=t_info.has_audio, lut_name=os.path.basename(os.fspath(out_cube)))
    control.check()
    beats: list[float] = []
    if cfg["beat_sync"] and p0["soundtrack"]["source"] in ("template", "mix"):
        beats = soundtrack_beats(template_dna, p0["output"]["frame_count"] / p0["output"]["frame_rate"])
    plan = p0 if not beats else planmod.build_plan(
        template_dna, footage_dna, f_info, footage_roi, footage_speech_s, beats, cfg,
        template_has_audio=t_info.has_audio, lut_name=os.path.basename(os.fspath(out_cube)))
    control.progress(0.6)
    control.check()
    lut = lutmod.build_lut(footage_dna.get("color_profile"), template_dna.get("color_profile"), strength=float(cfg["color_strength"]))
    lutmod.write_cube(out_cube, lut)
    plan["luts"] = {"global": os.path.basename(os.fspath(out_cube))}
    write_json_atomic(out_plan, plan)
    control.progress(1.0)
    return plan, lut


def render_stage(
    plan: dict[str, Any],
    *,
    template_path: str | os.PathLike[str],
    footage_path: str | os.PathLike[str],
    footage_speech_s: Sequence[tuple[float, float]],
    lut: np.ndarray | None,
    out_mp4: str | os.PathLike[str],
    out_cube: str | os.PathLike[str],
    out_plan: str | os.PathLike[str] | None = None,
    control: Control | None = None,
) -> dict[str, Any]:
    """``rendering``: soundtrack mix + render; returns the output's metadata (API.md)."""
    control = ensure(control)
    f_info = probe(footage_path)
    audio, report = mix.build_soundtrack(plan, template_path=template_path, footage_path=footage_path,
                                         footage_speech_s=footage_speech_s, control=control.span(0.0, 0.05))
    plan["soundtrack"].update(report)
    if out_plan is not None:
        write_json_atomic(out_plan, plan)
    info = render.render(plan, footage_path=footage_path, footage_info=f_info, out_path=out_mp4,
                         cube_path=out_cube, lut=lut, audio=audio, control=control.span(0.05, 1.0))
    return info.metadata()


def apply_style(
    *,
    template_path: str | os.PathLike[str],
    footage_path: str | os.PathLike[str],
    template_dna: Mapping[str, Any],
    footage_dna: Mapping[str, Any],
    footage_roi: RoiTrack | None,
    footage_speech_s: Sequence[tuple[float, float]],
    config: Mapping[str, Any] | None,
    out_mp4: str | os.PathLike[str],
    out_cube: str | os.PathLike[str],
    out_plan: str | os.PathLike[str],
    control: Control | None = None,
) -> dict[str, Any]:
    """Both stages (plan 0–20 % of ``control``, render 20–100 %); see the module docstring."""
    control = ensure(control)
    plan, lut = plan_stage(template_path=template_path, footage_path=footage_path, template_dna=template_dna,
                           footage_dna=footage_dna, footage_roi=footage_roi, footage_speech_s=footage_speech_s,
                           config=config, out_cube=out_cube, out_plan=out_plan, control=control.span(0.0, 0.2))
    return render_stage(plan, template_path=template_path, footage_path=footage_path, footage_speech_s=footage_speech_s,
                        lut=lut, out_mp4=out_mp4, out_cube=out_cube, out_plan=out_plan, control=control.span(0.2, 1.0))
