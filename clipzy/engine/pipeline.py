"""The pipeline: the stage list of API.md, written once, and the state its stages share.

:data:`STAGES` names every stage as the API serves it, with its progress band (percent)
and the step that runs it. The job runner, ``clipzy extract``/``clipzy apply`` and the
tests all walk it (:func:`stages_for`, :func:`run_stage`, :func:`run`), each with its own
progress/cancel :class:`~clipzy.engine.control.Control`.

What one stage hands the next lives in a typed :class:`JobState`: the inputs
(:class:`Source`), where the artifacts go (:class:`Artifacts`), one
:class:`VideoAnalysis` per video (probed once; shots in seconds), the Style DNA, the
:class:`~clipzy.engine.editing.edit_plan.EditPlan`, the LUT paths and the output metadata.

Stages (an extract job runs the first four on its video; an apply job runs them on the
template and the footage, template first, then plans and renders):

1. ``video_analysis``: ONE decode per video feeding the shot detector and the colour,
   motion and text analysers (footage: the region-of-interest tracker instead of text);
2. ``audio_analysis``: loudness, beats/tempo and speech (footage: speech only: the edit
   uses its speech, not its music);
3. ``motion_analysis``: per-shot motion pooled from the flow measured in stage 1, and the
   text tracks closed into overlays (no decoding);
4. ``style_extraction``: the Style DNA of the template (or the video), validated and
   written to the ``style_dna`` artifact;
5. ``style_application``: the edit plan and the grade (``.cube``), written;
6. ``rendering``: the soundtrack mixed, the MP4 rendered, the edit plan rewritten with
   the soundtrack's measured loudness.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from . import dna as dna_mod
from .analysis import audio as audio_mod
from .analysis import shots as shots_mod
from .analysis.audio import AudioAnalysis
from .analysis.color import ColorAnalyzer
from .analysis.framing import RoiTrack, RoiTracker
from .analysis.motion import MotionAnalyzer
from .analysis.quality import ClipQuality, QualityAnalyzer
from .analysis.shots import ShotResult
from .analysis.text import TextAnalyzer, TextResult
from .control import Control, ensure
from .errors import InvalidMediaError
from .editing import grade, pacing, plan as plan_mod, render as render_mod, soundtrack, timelines
from .editing.edit_plan import EditPlan
from .files import write_json_atomic
from .media import FramePump, VideoInfo, decode_audio, probe
from .models import ModelRegistry


@dataclass(frozen=True)
class Source:
    """One input file: where it is, what the user called it (logs, timelines, bundles) and the
    service's id of it (``vid_…``/``aud_…``; None outside the service)."""

    path: str
    name: str = ""
    id: str | None = None

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> "Source":
        return cls(os.fspath(path), os.path.basename(os.fspath(path)))


@dataclass(frozen=True)
class Artifacts:
    """Where a run writes its files (None: not written).

    ``timelines``: editor timeline format (``otio``, ``fcpxml``, ``xml``, ``edl``, ``mlt``) →
    file; ``project``: the project bundle (zip) holding them with the media, the grade and
    the soundtrack. With ``project`` the timelines reference the bundle's relative paths
    (``media/<clip>``: a timeline downloaded alone finds its clips in ``media/`` beside it);
    without, the real files relative to the timelines' folder, and the soundtrack WAV is
    written to ``soundtrack``."""

    style_dna: str
    edit_plan: str | None = None
    lut: str | None = None
    output: str | None = None
    timelines: dict[str, str] | None = None
    project: str | None = None
    soundtrack: str | None = None


@dataclass
class VideoAnalysis:
    """The measurements of one video, filled stage by stage (seconds inside).

    ``role``: ``"style"`` (the video whose Style DNA is measured: everything) or
    ``"footage"`` (what the edit needs: shots, colour, motion, region of interest, speech).
    """

    source: Source
    info: VideoInfo
    role: str
    shots: ShotResult | None = None
    shots_s: list[tuple[float, float]] = field(default_factory=list)
    color: dict[str, Any] | None = None
    motion: dict[str, Any] | None = None
    text: TextResult | None = None
    audio: AudioAnalysis | None = None
    roi: RoiTrack | None = None
    quality: ClipQuality | None = None  # footage: focus, exposure, change and the usable verdict
    decoded_duration_s: float | None = None  # seconds of video that really decoded (STYLE_DNA.md)
    timings_s: dict[str, float] = field(default_factory=dict)
    pending: dict[str, Any] = field(default_factory=dict)  # analysers awaiting motion_analysis

    @property
    def is_footage(self) -> bool:
        return self.role == "footage"

    @property
    def coverage(self) -> float:
        """Share (0–1) of the container's claimed duration that decoded (1 before decoding)."""
        claimed = self.info.duration_seconds
        if self.decoded_duration_s is None or claimed <= 0:
            return 1.0
        return min(1.0, self.decoded_duration_s / claimed)

    @property
    def measured_info(self) -> VideoInfo:
        """The probed info with the duration that really decoded: what every measurement and
        the edit describe (never footage past the decoded end)."""
        if self.decoded_duration_s is None or self.coverage >= 1.0:
            return self.info
        return replace(self.info, duration_seconds=self.decoded_duration_s)


@dataclass
class JobState:
    """Everything a run's stages share (see the module docstring).

    ``style_source``: the video whose Style DNA is measured (the template of an apply job,
    the video of an extract job; None when ``style_dna`` is a saved style given up front);
    ``footage``: the clips an apply job edits, in the user's order (empty for an extract
    job); ``music``: the user's song; ``config``: the API ``config`` (defaults filled in by
    the planner).
    """

    style_source: Source | None
    footage: list[Source]
    config: dict[str, Any]
    artifacts: Artifacts
    models: ModelRegistry
    music: Source | None = None
    song: "SongAnalysis | None" = None
    style: VideoAnalysis | None = None
    clips: list[VideoAnalysis] = field(default_factory=list)
    style_dna: dict[str, Any] | None = None
    plan: EditPlan | None = None
    luts: dict[str, str | None] = field(default_factory=dict)  # LUT name → .cube path (None: identity)
    output_metadata: dict[str, Any] | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """``"apply"`` with footage, else ``"extract"``."""
        return "apply" if self.footage else "extract"

    @property
    def given_style(self) -> bool:
        """Whether the Style DNA was given (a saved style) rather than measured from a video."""
        return self.style_source is None and self.style_dna is not None

    def analyses(self) -> list[VideoAnalysis]:
        """The videos of this run, each probed once: [style video, footage clips...]."""
        if self.style is None and self.style_source is not None:
            self.style = VideoAnalysis(self.style_source, probe(self.style_source.path), "style")
        if len(self.clips) != len(self.footage):
            self.clips = [VideoAnalysis(src, probe(src.path), "footage") for src in self.footage]
        return ([self.style] if self.style is not None else []) + list(self.clips)


@dataclass
class SongAnalysis:
    """The user's song: its measured audio (beats, downbeats, loudness) and energy envelope."""

    source: Source
    duration_s: float
    audio: AudioAnalysis
    energy_times_s: Any  # np.ndarray, seconds
    energy: Any  # np.ndarray, mean power per step


StageStep = Callable[[JobState, Control], None]


@dataclass(frozen=True)
class Stage:
    """One stage of API.md: its served name, its progress band (percent) and its step."""

    name: str
    band: tuple[int, int]
    run: StageStep
    apply_only: bool = False


# -- the analysis steps, one video at a time ------------------------------------------


def _decode_pass(a: VideoAnalysis, models: ModelRegistry, control: Control) -> None:
    """Decode once; detect shots and collect colour, motion and text (footage: ROI) samples."""
    t0 = time.perf_counter()
    consumers: dict[str, Any] = {
        "shots": shots_mod.make_detector(a.info, models=models),
        "color": ColorAnalyzer(a.info),
        "motion": MotionAnalyzer(a.info),
    }
    if a.is_footage:
        consumers["roi"] = RoiTracker(a.info)
        consumers["quality"] = QualityAnalyzer(a.info)
    else:
        consumers["text"] = TextAnalyzer(a.info, models=models)
    pump = FramePump(a.source.path, consumers.values(), info=a.info)
    pump.run(control)
    a.decoded_duration_s = pump.decoded_duration_s
    a.shots = consumers["shots"].finish()
    a.shots_s = a.shots.shots_s(a.measured_info.duration_seconds)
    a.color = consumers["color"].finish(a.shots_s)
    if a.is_footage:
        a.roi = consumers["roi"].finish()
        a.quality = consumers["quality"].finish(a.measured_info.duration_seconds)
    a.pending = {k: consumers[k] for k in ("motion", "text") if k in consumers}
    a.timings_s["video_analysis"] = time.perf_counter() - t0


def _audio_pass(a: VideoAnalysis, models: ModelRegistry, control: Control) -> None:
    """Loudness, beats and speech (footage: speech only); nothing measured without audio."""
    t0 = time.perf_counter()
    # a video that stopped decoding early: its audio is measured over the same decoded span
    limit_s = a.decoded_duration_s if a.coverage < 1.0 else None
    track = decode_audio(a.source.path, max_duration_s=limit_s, control=control.span(0.0, 0.3)) \
        if a.info.has_audio else None
    if a.is_footage:
        a.audio = audio_mod.analyse_speech(track, models=models)
    else:
        a.audio = audio_mod.analyse_audio(track, control=control.span(0.3, 1.0), models=models)
    control.progress(1.0)
    a.timings_s["audio_analysis"] = time.perf_counter() - t0


def _shot_pooling(a: VideoAnalysis, control: Control) -> None:
    """Per-shot motion and the text overlays, from the samples of the decode pass."""
    if a.shots is None:
        raise RuntimeError("the video_analysis stage must run before motion_analysis")
    t0 = time.perf_counter()
    a.motion = a.pending.pop("motion").finish(a.shots_s)
    control.progress(0.5)
    control.check()
    if "text" in a.pending:
        a.text = a.pending.pop("text").finish(a.shots_s, duration_s=a.measured_info.duration_seconds)
    control.progress(1.0)
    a.timings_s["motion_analysis"] = time.perf_counter() - t0


def _each(state: JobState, control: Control, step: Callable[[VideoAnalysis, Control], None]) -> None:
    """Run ``step`` on every video of the run, sharing the stage's progress evenly."""
    items = state.analyses()
    for i, a in enumerate(items):
        step(a, control.span(i / len(items), (i + 1) / len(items)))


# -- the stages -------------------------------------------------------------------------


def video_analysis(state: JobState, control: Control) -> None:
    _each(state, control, lambda a, c: _decode_pass(a, state.models, c))


def audio_analysis(state: JobState, control: Control) -> None:
    if state.music is None:
        _each(state, control, lambda a, c: _audio_pass(a, state.models, c))
        return
    _each(state, control.span(0.0, 0.6), lambda a, c: _audio_pass(a, state.models, c))
    state.song = _song_pass(state.music, state.models, control.span(0.6, 1.0))


def _song_pass(src: Source, models: ModelRegistry, control: Control) -> SongAnalysis:
    """The song: beats, downbeats, loudness (the engine's own tracker) and its energy envelope."""
    track = decode_audio(src.path, control=control.span(0.0, 0.3))
    if track is None or track.samples.shape[0] == 0:
        raise InvalidMediaError("the song has no decodable audio")
    analysis = audio_mod.analyse_audio(track, control=control.span(0.3, 1.0), models=models)
    times, power = pacing.energy_envelope(track.mono(), sr=track.sample_rate)
    return SongAnalysis(src, track.duration_seconds, analysis, times, power)


def motion_analysis(state: JobState, control: Control) -> None:
    _each(state, control, _shot_pooling)


def style_extraction(state: JobState, control: Control) -> None:
    """The Style DNA of the style video, validated and written to its artifact (a saved
    style: the job's own copy of it, written as it is)."""
    if state.given_style:
        write_json_atomic(state.artifacts.style_dna, state.style_dna)
        control.progress(1.0)
        return
    a = state.style
    if a is None or a.text is None or a.audio is None or a.motion is None or a.shots is None:
        raise RuntimeError("the analysis stages must run before style_extraction")
    t0 = time.perf_counter()
    state.style_dna = dna_mod.assemble(info=a.measured_info, shots=a.shots, color=a.color or {}, motion=a.motion,
                                       text=a.text, audio=a.audio, timings_s=a.timings_s, coverage=a.coverage)
    # what this stage took: the assembly and validation just done (a number, so the DNA stays valid)
    a.timings_s["style_extraction"] = time.perf_counter() - t0
    state.style_dna["analysis"]["stage_seconds"]["style_extraction"] = round(a.timings_s["style_extraction"], 3)
    control.check()
    write_json_atomic(state.artifacts.style_dna, state.style_dna)
    control.progress(1.0)


def _clip_names(state: JobState) -> list[tuple[str, str, str]]:
    """(clip id, LUT name, .cube path) per clip. The clip id is the footage's video id (or
    ``clip<n>`` from the CLI). One clip: LUT ``global`` in the ``lut`` artifact; several: each
    clip's id and ``grade.cube``, ``grade_2.cube``, … beside it."""
    cube = state.artifacts.lut or "clip.cube"
    stem, ext = os.path.splitext(cube)
    ids = [c.source.id or f"clip{i + 1}" for i, c in enumerate(state.clips)]
    if len(ids) == 1:
        return [(ids[0], "global", cube)]
    return [(cid, cid, cube if i == 0 else f"{stem}_{i + 1}{ext}") for i, cid in enumerate(ids)]


def _footage_clip(a: VideoAnalysis, clip_id: str, lut: str) -> plan_mod.FootageClip:
    """What the planner reads of a footage analysis (shots on the DNA's millisecond grid)."""
    shots = [(plan_mod.whole_ms(s), plan_mod.whole_ms(e)) for s, e in a.shots_s]
    per_shot = (a.motion or {}).get("motion", {}).get("per_shot") or []
    return plan_mod.FootageClip(info=a.measured_info, shots_s=[(s, e) for s, e in shots if e > s],
                                motion_per_shot=[p.get("intensity") for p in per_shot], roi=a.roi,
                                speech_s=list(a.audio.speech_segments_s) if a.audio else [],
                                clip_id=clip_id, quality=a.quality, lut=lut)


def _song_grid(state: JobState, target_s: float) -> pacing.SongGrid | None:
    """The song's beat grid and the music start: the config's, or the downbeat that opens the
    most energetic stretch of ``target_s`` (:func:`.editing.pacing.music_start`)."""
    song = state.song
    if song is None:
        return None
    beats, downbeats = list(song.audio.beat_times_s), list(song.audio.downbeat_times_s)
    start = state.config.get("music_start_seconds")
    aligned = start is None
    if start is None:
        start = pacing.music_start(downbeats or beats, song.energy_times_s, song.energy, needed_s=target_s,
                                   duration_s=song.duration_s)
    return pacing.SongGrid(beats, downbeats, song.duration_s, float(start), aligned, song.source.id)


def style_application(state: JobState, control: Control) -> None:
    """The edit plan and one grade per clip: writes the ``.cube`` files and ``edit_plan.json``."""
    if state.style_dna is None or not state.clips:
        raise RuntimeError("style_extraction must run before style_application")
    cfg = plan_mod.effective_config(state.config)
    style = plan_mod.TemplateStyle.from_dna(state.style_dna)
    names = _clip_names(state)
    clips = [_footage_clip(c, cid, name) for c, (cid, name, _) in zip(state.clips, names)]
    target = float(cfg["duration_seconds"] or style.duration_s or sum(c.info.duration_seconds for c in clips))
    state.plan = plan_mod.build_plan(
        style, clips, cfg, song=_song_grid(state, target),
        template_has_audio=state.style.info.has_audio if state.style else False,
        luts={name: os.path.basename(path) for _, name, path in names})
    control.progress(0.6)
    control.check()
    state.luts = {}
    for a, (_, name, path) in zip(state.clips, names):
        lut = grade.build_lut(dna_mod.json_safe(a.color or {}).get("color_profile"),
                              state.style_dna.get("color_profile"), strength=float(cfg["color_strength"]))
        if state.artifacts.lut is not None:
            grade.write_cube(path, lut)
        state.luts[name] = None if state.artifacts.lut is None or grade.is_identity(lut) else path
    if state.artifacts.edit_plan:
        write_json_atomic(state.artifacts.edit_plan, state.plan.to_json())
    control.progress(1.0)


def rendering(state: JobState, control: Control) -> None:
    """Mix the soundtrack, grade, reframe and encode the MP4; record its probed metadata."""
    if state.plan is None or state.artifacts.output is None:
        raise RuntimeError("style_application must run before rendering, with an output path")
    clips = state.clips
    sound = soundtrack.build_soundtrack(
        state.plan, template_path=state.style.source.path if state.style else None,
        music_path=state.music.path if state.music else None,
        footage=[(c.source.path, list(c.audio.speech_segments_s) if c.audio else []) for c in clips],
        control=control.span(0.0, 0.05))
    if state.artifacts.edit_plan:
        write_json_atomic(state.artifacts.edit_plan, state.plan.to_json())
    info = render_mod.render(state.plan, footage=[(c.source.path, c.measured_info) for c in clips],
                             out_path=state.artifacts.output, luts=state.luts, audio=sound,
                             control=control.span(0.05, 0.97))
    state.output_metadata = info.metadata()
    if state.artifacts.timelines:
        _editor_timelines(state, sound)
    control.progress(1.0)


def _editor_timelines(state: JobState, sound: Any) -> None:
    """The editor timelines (and the project bundle) of the rendered edit; the soundtrack as a
    WAV beside them, or inside the bundle only (a temporary file removed after zipping)."""
    art = state.artifacts
    assert art.timelines and state.plan is not None
    names = timelines.media_names([c.source.name or os.path.basename(c.source.path) for c in state.clips])
    media = [timelines.TimelineMedia(c.source.path, name, c.measured_info) for c, name in zip(state.clips, names)]
    folder = os.path.dirname(os.path.abspath(art.project or next(iter(art.timelines.values()))))
    wav = art.soundtrack
    if wav is None:  # inside the bundle only: a hidden .part file (start-up cleaning removes strays)
        fd, wav = tempfile.mkstemp(prefix=".soundtrack.", suffix=".part.wav", dir=folder)
        os.close(fd)
    timelines.write_soundtrack_wav(wav, sound)
    try:
        timelines.export(state.plan, clips=media, paths=art.timelines, soundtrack_wav=wav, cubes=state.luts,
                         title=os.path.splitext(os.path.basename(art.output or "clipzy edit"))[0] or "clipzy edit",
                         zip_path=art.project,
                         relative_to=None if art.project else folder)
    finally:
        if art.soundtrack is None and os.path.exists(wav):
            os.remove(wav)


#: The stages of API.md, in order: the one place their names are written.
STAGES: tuple[Stage, ...] = (
    Stage("video_analysis", (1, 20), video_analysis),
    Stage("audio_analysis", (21, 35), audio_analysis),
    Stage("motion_analysis", (36, 55), motion_analysis),
    Stage("style_extraction", (56, 65), style_extraction),
    Stage("style_application", (66, 85), style_application, apply_only=True),
    Stage("rendering", (86, 99), rendering, apply_only=True),
)
STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
#: The stage names a job of each mode walks through.
STAGE_MODES: dict[str, tuple[str, ...]] = {"extract": tuple(s.name for s in STAGES if not s.apply_only),
                                           "apply": STAGE_NAMES}


def stages_for(state: JobState) -> list[Stage]:
    """The first four stages for an extract run, all six for an apply run."""
    return [s for s in STAGES if state.mode == "apply" or not s.apply_only]


def run_stage(stage: Stage, state: JobState, control: Control) -> None:
    """Run one stage (``control``'s 0..1 spans the stage) and record its time in seconds."""
    t0 = time.monotonic()
    stage.run(state, control)
    state.stage_seconds[stage.name] = round(time.monotonic() - t0, 3)


def run(state: JobState, control: Control | None = None) -> JobState:
    """Walk :func:`stages_for` ``state``; ``control``'s 0..1 maps onto the bands (percent/100)."""
    control = ensure(control)
    for stage in stages_for(state):
        control.check()
        lo, hi = stage.band
        run_stage(stage, state, control.span(lo / 100.0, hi / 100.0))
    control.progress(1.0)
    return state


def model_status(models: ModelRegistry) -> dict[str, dict[str, Any]]:
    """Every learned model the engine can use — the registry's and the text detector's —
    with whether it is available and what runs without it (for /health)."""
    from .analysis.text import ocr_status

    return {**models.status(), "ppocr": ocr_status()}


def extract_style(path: str | os.PathLike[str], control: Control | None = None, *,
                  models: ModelRegistry | None = None, style_dna_path: str | None = None) -> dict:
    """The Style DNA of ``path`` (the four extract stages); writes it to ``style_dna_path``
    when given. ``models`` None: :meth:`ModelRegistry.from_environ`."""
    with tempfile.TemporaryDirectory(prefix="clipzy-extract-") as tmp:
        state = JobState(style_source=Source.of(path), footage=[], config={},
                         artifacts=Artifacts(style_dna=style_dna_path or os.path.join(tmp, "style_dna.json")),
                         models=models or ModelRegistry.from_environ())
        run(state, control)
    assert state.style_dna is not None
    return state.style_dna
