"""The six stages of API.md, each a thin call into the engine's pipeline.

Extract jobs run the first four on the video; apply jobs run them on the template and
the footage (each stage works on both, template first) and then plan and render.
"""
from __future__ import annotations

from ..engine.control import Control
from ..engine.files import write_json_atomic
from .runner import JobContext, Stage


def _analyses(ctx: JobContext) -> list:
    """The analyses of this job: [video] for extract, [template, footage] for apply."""
    from ..engine.pipeline import Analysis

    if "analyses" not in ctx.data:
        if ctx.template_path:
            ctx.data["analyses"] = [Analysis(ctx.template_path), Analysis(ctx.video_path, track_roi=True)]
        else:
            ctx.data["analyses"] = [Analysis(ctx.video_path)]
    return ctx.data["analyses"]


def _each(ctx: JobContext, control: Control, step: str) -> None:
    items = _analyses(ctx)
    for i, a in enumerate(items):
        getattr(a, step)(control.span(i / len(items), (i + 1) / len(items)))


def video_analysis(ctx: JobContext, control: Control) -> None:
    _each(ctx, control, "video_pass")


def audio_analysis(ctx: JobContext, control: Control) -> None:
    _each(ctx, control, "audio_pass")


def motion_analysis(ctx: JobContext, control: Control) -> None:
    _each(ctx, control, "motion_pass")


def style_extraction(ctx: JobContext, control: Control) -> None:
    """Write the Style DNA artifact (the template's for apply jobs)."""
    items = _analyses(ctx)
    ctx.data["dna"] = [a.style_dna() for a in items]
    control.check()
    write_json_atomic(_artifact(ctx, "style_dna"), ctx.data["dna"][0])
    control.progress(1.0)


def style_application(ctx: JobContext, control: Control) -> None:
    """Edit plan and colour LUT (apply jobs): writes the .cube and edit_plan.json artifacts."""
    from ..engine import apply

    template, footage = _analyses(ctx)
    ctx.data["plan"], ctx.data["lut"] = apply.plan_stage(
        template_path=ctx.template_path, footage_path=ctx.video_path,
        template_dna=ctx.data["dna"][0], footage_dna=ctx.data["dna"][1],
        footage_roi=footage.roi, footage_speech_s=footage.audio.speech_segments_s, config=ctx.config,
        out_cube=_artifact(ctx, "lut"), out_plan=_artifact(ctx, "edit_plan"), control=control)


def rendering(ctx: JobContext, control: Control) -> None:
    """Mix, grade, reframe and encode the output MP4; record its probed metadata."""
    from ..engine import apply

    footage = _analyses(ctx)[1]
    ctx.result["output_metadata"] = apply.render_stage(
        ctx.data["plan"], template_path=ctx.template_path, footage_path=ctx.video_path,
        footage_speech_s=footage.audio.speech_segments_s, lut=ctx.data["lut"],
        out_mp4=_artifact(ctx, "output"), out_cube=_artifact(ctx, "lut"), out_plan=_artifact(ctx, "edit_plan"),
        control=control)


def _artifact(ctx: JobContext, name: str) -> str:
    return str(ctx.storage.artifact_path(ctx.job["id"], name))


EXTRACT = [Stage("video_analysis", video_analysis), Stage("audio_analysis", audio_analysis),
           Stage("motion_analysis", motion_analysis), Stage("style_extraction", style_extraction)]
APPLY = EXTRACT + [Stage("style_application", style_application), Stage("rendering", rendering)]


def stages_for(ctx: JobContext) -> list[Stage]:
    """Extract-only without a template, all six stages with one."""
    return APPLY if ctx.template_path else EXTRACT
