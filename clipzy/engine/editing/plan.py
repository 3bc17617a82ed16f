"""The edit plan of an apply job (STYLE_DNA.md "The edit plan"): what goes where.

:func:`build_plan` is a pure, deterministic function of its inputs: what the planner reads
of the template's Style DNA or a saved style (:class:`TemplateStyle`, seconds), of every
footage clip's analysis (:class:`FootageClip`, seconds), of the user's song
(:class:`~clipzy.engine.editing.pacing.SongGrid`) and the config. It returns an
:class:`~clipzy.engine.editing.edit_plan.EditPlan`, in steps that each have a function:
the output frame (:func:`output_format`), the soundtrack (:func:`choose_soundtrack`), the
pacing (:mod:`.pacing`: in seconds snapped to beats, or in musical time), which clip fills
each shot (:func:`.selection.allocate`), the transitions (:func:`_transitions`) and the
footage moments with their crop paths (:func:`_segments`, :mod:`.selection`). The rules:

* **Output frame**: frame rate = the template's (``frame_rate``; the first usable clip's if
  the template has none). Aspect per ``config["aspect_ratio"]`` (``template`` → the
  template's ``aspect_ratio`` string, ``source`` → the first usable clip's display aspect).
  Short side = ``config["resolution"]``, or the largest short side of the usable clips
  capped at 1080. Both sides even.
* **Duration**: ``config["duration_seconds"]``, else the template's duration capped by the
  usable footage (all usable clips together). Rounded to whole output frames; with a song
  and musical pacing it ends on the song beat nearest to it.
* **Pacing**: :mod:`.pacing` (template shot lengths scaled and snapped to the soundtrack's
  beats with ``beat_sync``, or kept in beats on the song's grid); a shot longer than its
  clip's longest footage shot is split (a segment never straddles a footage cut).
* **Transitions**: boundary *j* of the output takes the template's transition *j* (the
  sequences are resampled by index when their counts differ), so types, order and
  proportions follow the template; its duration is the template's, clipped to 40 % of the
  shorter neighbouring segment; under two frames → a cut. ``transitions: false`` → all cuts.
  A transition's frames belong to the segment it leads into (its ``output_in`` is the
  transition's first frame); the outgoing picture continues the previous segment's footage
  for ``tail_ms`` (footage left in its shot) and then holds its last frame.
* **Footage**: :mod:`.selection` (usable clips, which clip fills each shot, which moment;
  every cut reads as a cut, with a punch-in where it would not).
* **Crop**: :func:`clipzy.engine.editing.crop.crop_path` per segment (keyframe ``t_ms``
  relative to the segment's ``footage_in_ms``; x/y/width/height in the clip's display pixels).
* **Soundtrack**: ``audio_source`` resolved (``auto`` → ``music`` with a song, else
  ``template`` when the template says ``loudness.music_present``, else ``footage``; a missing
  stream degrades to the other or to ``none`` = silence); ``target_lufs`` = the template's
  (or saved style's) integrated loudness (null when not measurable: no normalisation);
  ``true_peak_ceiling_dbtp`` = min(template true peak, −1); ``gain_db``/``duck_db`` are
  filled in by the mix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from ..analysis.framing import RoiTrack
from ..analysis.quality import ClipQuality
from ..media import VideoInfo
from ..terms import ASPECT_RATIOS, TRANSITION_TYPES
from . import crop, pacing, selection
from .edit_plan import CropKey, EditPlan, OutputFormat, PlannedTransition, Segment, Soundtrack
from .pacing import SongGrid
from .settings import QUALITY, effective_config

MAX_SHORT_SIDE = 1080
MIN_SEGMENT_S = 0.3  # shortest output shot after beat snapping, seconds
TRANSITION_MAX_SHARE = 0.4  # a transition takes at most this share of its shorter neighbour
EDGE_FADE_S = 0.04  # a template transition this close to its start or end is an opening/closing fade, seconds
MIN_TRANSITION_FRAMES = 2  # a planned transition shorter than this becomes a cut
MIN_JUMP_S = selection.MIN_JUMP_S


def whole_ms(t_s: float) -> float:
    """``t_s`` on the Style DNA's millisecond grid (seconds), so that a plan made from an
    analysis and one made from the stored Style DNA of the same video agree."""
    return int(round(t_s * 1000)) / 1000.0


@dataclass(frozen=True)
class TemplateTransition:
    """One boundary of the template as the planner reuses it."""

    type: str
    duration_ms: int  # 0 for a cut
    easing: str


@dataclass(frozen=True)
class TemplateStyle:
    """What the planner reads of a Style DNA (a template's, or a saved style's), in seconds."""

    duration_s: float
    frame_rate: float | None
    aspect_ratio: str | None
    resolution: tuple[int, int] | None
    shots_s: list[tuple[float, float]]
    transitions: list[TemplateTransition]  # boundaries in order, opening/closing fades left out
    beat_times_s: list[float]
    music_present: bool
    integrated_lufs: float | None
    true_peak_dbtp: float | None
    downbeat_times_s: list[float] = field(default_factory=list)
    motion_per_shot: list[float | None] = field(default_factory=list)  # intensity 0–100 of each template shot

    @classmethod
    def from_dna(cls, dna: Mapping[str, Any]) -> "TemplateStyle":
        """Read a Style DNA dict (STYLE_DNA.md; times in ms)."""
        shots = dna.get("shots") or []
        duration_s = float(dna.get("source_duration_seconds") or 0.0)
        if not duration_s and shots:
            duration_s = shots[-1]["end_ms"] / 1000.0
        res = dna.get("resolution") or {}
        loud = dna.get("loudness") or {}
        beats = [b / 1000.0 for b in ((dna.get("beats") or {}).get("beat_times_ms") or [])]
        if not beats:
            beats = [b["timestamp_ms"] / 1000.0 for b in (dna.get("detected_beats") or []) if "timestamp_ms" in b]
        return cls(
            duration_s=duration_s,
            frame_rate=float(dna["frame_rate"]) if dna.get("frame_rate") else None,
            aspect_ratio=dna.get("aspect_ratio"),
            resolution=(int(res["width"]), int(res["height"])) if res.get("width") and res.get("height") else None,
            shots_s=[(s["start_ms"] / 1000.0, s["end_ms"] / 1000.0) for s in shots
                     if s.get("end_ms", 0) > s.get("start_ms", 0)],
            transitions=_template_transitions(dna, duration_s),
            beat_times_s=beats,
            music_present=bool(loud.get("music_present")),
            integrated_lufs=None if loud.get("integrated_lufs") is None else float(loud["integrated_lufs"]),
            true_peak_dbtp=None if loud.get("true_peak_dbtp") is None else float(loud["true_peak_dbtp"]),
            downbeat_times_s=[b / 1000.0 for b in ((dna.get("beats") or {}).get("downbeat_times_ms") or [])],
            motion_per_shot=[p.get("intensity") for p in ((dna.get("motion") or {}).get("per_shot") or [])],
        )


def _template_transitions(dna: Mapping[str, Any], duration_s: float) -> list[TemplateTransition]:
    """The template's boundaries (excluding fades at the very start/end), in order."""
    dur_ms = duration_s * 1000.0
    edge_ms = EDGE_FADE_S * 1000.0
    easing = {}
    for key in ("primary_transition", "secondary_transition"):
        p = dna.get(key)
        if p and p.get("type"):
            easing[p["type"]] = p.get("easing") or "linear"
    out = []
    for t in dna.get("transitions") or []:
        if t.get("end_ms", 0) <= edge_ms or t.get("start_ms", 0) >= dur_ms - edge_ms:
            continue
        typ = t.get("type") if t.get("type") in TRANSITION_TYPES else "dissolve"
        d = 0 if typ == "cut" else max(0, int(t.get("end_ms", 0)) - int(t.get("start_ms", 0)))
        out.append(TemplateTransition(typ, d, t.get("easing") or easing.get(typ, "linear")))
    return out


@dataclass(frozen=True)
class FootageClip:
    """What the planner reads of one footage clip's analysis, in seconds.

    ``shots_s`` lie on the millisecond grid (:func:`whole_ms`); ``motion_per_shot``: the
    motion intensity (0–100, None when unmeasured) of each of those shots; ``roi``: its
    region-of-interest track (None: the frame centre); ``speech_s``: its speech spans;
    ``clip_id``: what the plan names it by (the video_id); ``quality``: its focus/exposure
    measurements and verdict (None: not measured, usable); ``lut``: the grade its segments name.
    """

    info: VideoInfo
    shots_s: list[tuple[float, float]]
    motion_per_shot: list[float | None] = field(default_factory=list)
    roi: RoiTrack | None = None
    speech_s: list[tuple[float, float]] = field(default_factory=list)
    clip_id: str | None = None
    quality: ClipQuality | None = None
    lut: str = "global"

    def spans(self, fps: float) -> list[tuple[float, float]]:
        """Its shots inside the clip; the last reaches one output frame past the end (the output
        is rounded to whole frames and the renderer holds the clip's last frame)."""
        dur = float(self.info.duration_seconds)
        spans = [(a, min(b, dur)) for a, b in (self.shots_s or [(0.0, dur)]) if a < dur] or [(0.0, dur)]
        spans[-1] = (spans[-1][0], dur + 1.0 / fps)
        return spans


def soundtrack_beats(style: TemplateStyle, duration_s: float, *, downbeats: bool = False) -> list[float]:
    """Template beat (or ``downbeats``) times, seconds on the output clock, repeated per loop of the music."""
    beats = list(style.downbeat_times_s if downbeats else style.beat_times_s)
    if not beats:
        return []
    period = style.duration_s
    out = list(beats)
    k = 1
    while period > 0 and k * period < duration_s:
        out.extend(b + k * period for b in beats)
        k += 1
    return sorted(x for x in out if 0 < x < duration_s)


def output_size(config: Mapping[str, Any], style: TemplateStyle, footage_info: VideoInfo,
                short_side: int | None = None) -> tuple[int, int]:
    """(width, height) of the output, even, per the rules in the module docstring
    (``short_side``: the footage's short side, default ``footage_info``'s)."""
    ar = config.get("aspect_ratio", "template")
    aspect: float | None = None
    if ar == "template":
        aspect = ASPECT_RATIOS.get(str(style.aspect_ratio))
        if aspect is None and style.resolution:
            aspect = float(style.resolution[0]) / float(style.resolution[1])
    elif ar in ASPECT_RATIOS:
        aspect = ASPECT_RATIOS[ar]
    if aspect is None:  # "source", or a template without a usable aspect
        aspect = footage_info.width / footage_info.height
    if short_side is None:
        short_side = min(footage_info.width, footage_info.height)
    short = config.get("resolution") or min(short_side, MAX_SHORT_SIDE)
    if aspect >= 1:
        h, w = short, short * aspect
    else:
        w, h = short, short / aspect
    return max(2, int(round(w / 2)) * 2), max(2, int(round(h / 2)) * 2)


def output_format(config: Mapping[str, Any], style: TemplateStyle, footage_info: VideoInfo, *,
                  footage_s: float | None = None, short_side: int | None = None) -> OutputFormat:
    """Size, frame rate (the template's, else the footage's, 1–240 fps) and length in frames
    (``footage_s``: the usable footage's seconds, default ``footage_info``'s)."""
    fps = float(style.frame_rate or footage_info.frame_rate or 30.0)
    if not 1.0 <= fps <= 240.0:
        fps = float(footage_info.frame_rate) if 1.0 <= footage_info.frame_rate <= 240.0 else 30.0
    fps = round(fps, 3)
    width, height = output_size(config, style, footage_info, short_side)
    footage_s = float(footage_info.duration_seconds) if footage_s is None else footage_s
    tmpl_s = style.duration_s or footage_s
    duration_s = float(config["duration_seconds"]) if config["duration_seconds"] else min(tmpl_s, footage_s)
    return OutputFormat(width, height, fps, max(1, int(round(duration_s * fps))))


def choose_soundtrack(style: TemplateStyle, footage_has_audio: bool, config: Mapping[str, Any],
                      template_has_audio: bool, song: SongGrid | None = None) -> Soundtrack:
    """The soundtrack source per ``audio_source`` (module docstring), its target loudness and
    ceiling. With a song, ``mix`` is the song with the footage's speech ducked under it."""
    src = config.get("audio_source", "auto")
    music = song is not None or template_has_audio  # is there music to lay under the footage?
    if src == "auto":
        src = "music" if song is not None else ("template" if style.music_present and template_has_audio else "footage")
    if src == "music" and song is None:
        src = "footage"
    if src == "mix" and not music:
        src = "footage"
    if src == "mix" and not footage_has_audio:
        src = "music" if song is not None else "template"
    if src == "template" and not template_has_audio:
        src = "footage"
    if src == "footage" and not footage_has_audio:
        fallback = "music" if song is not None else "template" if template_has_audio else "none"
        src = fallback if config.get("audio_source") != "footage" else "none"
    tp = style.true_peak_dbtp
    return Soundtrack(source=src, target_lufs=style.integrated_lufs,
                      true_peak_ceiling_dbtp=-1.0 if tp is None else min(tp, -1.0),
                      audio_id=song.audio_id if song is not None and src in ("music", "mix") else None,
                      music_start_s=song.start_s if song is not None and src in ("music", "mix") else None)


def _transitions(style: TemplateStyle, cfg: Mapping[str, Any], origin: Sequence[int], bounds: list[int],
                 fps: float) -> list[PlannedTransition]:
    """Boundary j of the output takes the template's transition ``origin[j]`` (resampled by
    index when the counts differ; −1/−2: a cut), clipped to TRANSITION_MAX_SHARE of the
    shorter neighbour."""
    n_tb = len(style.shots_s or [None]) - 1
    tmpl_tr = style.transitions
    out = [PlannedTransition("cut", 0)]
    for i in range(1, len(origin)):
        tb = origin[i]
        t = PlannedTransition("cut", 0)
        if cfg["transitions"] and tb >= 0 and tmpl_tr:
            src = tmpl_tr[tb] if len(tmpl_tr) == n_tb else \
                tmpl_tr[min(len(tmpl_tr) - 1, int(round(tb * (len(tmpl_tr) - 1) / max(1, n_tb - 1))))]
            if src.type != "cut":
                nb = min(bounds[i] - bounds[i - 1], bounds[i + 1] - bounds[i])
                dfr = min(int(round(src.duration_ms * fps / 1000.0)), int(TRANSITION_MAX_SHARE * nb))
                if dfr >= MIN_TRANSITION_FRAMES:
                    t = PlannedTransition(src.type, dfr, src.easing)
        out.append(t)
    return out


def _handle_s(t: PlannedTransition, fps: float) -> float:
    """Footage an outgoing segment keeps for the next transition: its length in whole ms."""
    return int(round(t.frames * 1000.0 / fps)) / 1000.0


@dataclass
class _Cuts:
    """The output's shots before footage is chosen: frames, their clip, where each comes from."""

    bounds: list[int]  # output frames: 0, every cut, the end
    clip: list[int]  # the clip of each shot
    origin: list[int]  # template boundary before each shot (−1 the first, −2 a split cut)
    on_beat: list[bool]  # per cut
    beats: list[float | None]  # each shot's length in soundtrack beats (None without a grid)
    motion: list[float | None]  # the template shot's motion intensity, 0–100


def _cuts(style: TemplateStyle, clips: Sequence[FootageClip], usable: list[int], cfg: Mapping[str, Any],
          fmt: OutputFormat, song: SongGrid | None, beats_s: Sequence[float]) -> tuple[_Cuts, OutputFormat]:
    """Pacing (seconds or musical time, :mod:`.pacing`), which clip fills each template shot,
    the split of shots longer than their clip's longest footage shot, and the cut frames."""
    fps = fmt.frame_rate
    musical = None
    tb = pacing.template_beats(style.shots_s, style.beat_times_s, style.downbeat_times_s) if song else None
    if tb is not None and song is not None:
        musical = pacing.musical_cuts(tb, song, fmt.duration_s, MIN_SEGMENT_S)
    if musical is not None:
        fmt = replace(fmt, frame_count=max(1, int(round(musical.end_s * fps))))
        edges = [0.0, *musical.cuts_s, fmt.duration_s]
        lengths = [b - a for a, b in zip(edges, edges[1:])]
        shot_origin, shot_beats = musical.origin, musical.beats
    else:
        lengths = pacing.scaled_lengths(style.shots_s or [(0.0, style.duration_s or fmt.duration_s)], fmt.duration_s)
        shot_origin, shot_beats = [j - 1 for j in range(len(lengths))], None
    template_shot = [o + 1 if o >= 0 else (0 if k == 0 else None) for k, o in enumerate(shot_origin)]
    motions = [style.motion_per_shot[j] if j is not None and j < len(style.motion_per_shot) else None
               for j in template_shot]
    alloc = selection.allocate(lengths, clips, usable, order=cfg["footage_order"], shot_motion=motions)
    longest = {u: max(b - a for a, b in clips[u].spans(fps)) for u in set(alloc)}
    pieces, shot_of, first_or_split, piece_beats = pacing.split_to_fit(
        lengths, [longest[u] for u in alloc], beats=shot_beats)
    origin = [shot_origin[j] if f == -1 else -2 for j, f in zip(shot_of, first_or_split)]
    total = fmt.frame_count
    min_frames = max(2, int(math.ceil(MIN_SEGMENT_S * fps)))
    min_frames = min(min_frames, max(1, total // max(1, len(pieces))))
    cut_times = list(np.cumsum(pieces)[:-1])
    if musical is not None:  # cuts already on song beats: the first frame at or after each
        frames, prev = [], 0
        for c in cut_times:
            prev = min(max(int(math.ceil(c * fps - 1e-6)), prev + 1), total - 1)
            frames.append(prev)
        on_beat = [b is not None and float(b).is_integer() for b in np.cumsum([p or 0 for p in piece_beats])[:-1]]
    else:
        limits = [max(min_frames, int(math.floor(longest[alloc[j]] * fps + 1e-6))) for j in shot_of]
        frames, on_beat = pacing.snap_to_beats(cut_times, beats_s, fps=fps, total_frames=total, min_frames=min_frames,
                                               max_frames=limits)
    return _Cuts([0, *frames, total], [alloc[j] for j in shot_of], origin, on_beat,
                 piece_beats if musical is not None else [None] * len(pieces),
                 [motions[j] for j in shot_of]), fmt


def _segments(clips: Sequence[FootageClip], fmt: OutputFormat, cuts: _Cuts, trans: list[PlannedTransition]) -> list[Segment]:
    """Footage for every output shot (each clip's moments chosen by :func:`.selection.choose_starts`)
    with its crop path, and a punch-in where a cut would not read (:func:`.selection.framing_changes`)."""
    fps = fmt.frame_rate
    bounds = cuts.bounds
    n = len(cuts.clip)
    seg_len_s = [(bounds[i + 1] - bounds[i]) / fps for i in range(n)]
    handles = [_handle_s(trans[i + 1], fps) if i + 1 < len(trans) else 0.0 for i in range(n)]
    starts: list[float] = [0.0] * n
    shot_in_clip: list[int] = [0] * n
    for u in sorted(set(cuts.clip)):
        clip = clips[u]
        idx = [i for i in range(n) if cuts.clip[i] == u]
        spans = clip.spans(fps)
        roi = clip.roi or RoiTrack.centre(float(clip.info.duration_seconds))
        scores = [selection.moment_scores(clip, roi, spans, cuts.motion[i]) for i in idx]
        got = selection.choose_starts([seg_len_s[i] for i in idx], [handles[i] for i in idx], spans, scores,
                                      float(clip.info.duration_seconds), clip.info.frame_rate, quality=clip.quality,
                                      adjacent=[i > 0 and cuts.clip[i - 1] == u for i in idx])
        ends = [e for _, e in spans]
        for i, a in zip(idx, got):
            starts[i] = a
            shot_in_clip[i] = int(np.clip(np.searchsorted(ends, a, side="right"), 0, len(spans) - 1))
    tails = [max(0.0, min(handles[i], clips[cuts.clip[i]].spans(fps)[shot_in_clip[i]][1] - (starts[i] + seg_len_s[i])))
             for i in range(n)]
    zoom = selection.framing_changes(
        [(cuts.clip[i], cuts.clip[i - 1] if i else -1,
          starts[i - 1] + seg_len_s[i - 1] + (tails[i - 1] if trans[i].type != "cut" else 0.0) - 1.0 / fps if i else 0.0,
          starts[i], i > 0 and (trans[i].type != "cut" or shot_in_clip[i] == shot_in_clip[i - 1]))
         for i in range(n)], clips)
    aspect = fmt.width / fmt.height
    out = []
    for i, a in enumerate(starts):
        clip = clips[cuts.clip[i]]
        keys = crop.crop_path(clip.roi or RoiTrack.centre(float(clip.info.duration_seconds)), clip.info.width,
                              clip.info.height, aspect, a, a + seg_len_s[i] + handles[i], zoom=zoom[i])
        out.append(Segment(
            index=i, footage_in_s=a, footage_out_s=a + seg_len_s[i], output_in_frame=bounds[i],
            output_out_frame=bounds[i + 1], footage_shot=shot_in_clip[i], tail_s=tails[i], transition_in=trans[i],
            crop=[CropKey(k["t_s"] - a, k["x"], k["y"], k["width"], k["height"]) for k in keys],
            lut=clip.lut, on_beat=bool(cuts.on_beat[i - 1]) if i > 0 else False, clip=cuts.clip[i],
            video_id=clip.clip_id, beats=cuts.beats[i]))
    return out


def _selection(clips: Sequence[FootageClip], usable: list[int], segments: Sequence[Segment]) -> list[dict[str, Any]]:
    """Every clip given: usable or not, why not, and how much of it the edit shows (ms)."""
    out = []
    for u, c in enumerate(clips):
        used_s = sum(s.footage_out_s - s.footage_in_s for s in segments if s.clip == u)
        reason = c.quality.reason if c.quality is not None else None
        if reason is None and used_s == 0:
            reason = "not_needed"
        out.append({"video_id": c.clip_id, "usable": u in usable and (c.quality is None or c.quality.usable),
                    "reason": reason, "used_ms": int(round(used_s * 1000))})
    return out


def build_plan(style: TemplateStyle, clips: Sequence[FootageClip] | FootageClip, config: Mapping[str, Any] | None, *,
               song: SongGrid | None = None, soundtrack_beats_s: Sequence[float] | None = None,
               template_has_audio: bool = True, luts: Mapping[str, str] | None = None) -> EditPlan:
    """The edit plan of the footage ``clips`` cut to ``style`` (module docstring).

    With ``beat_sync``, cuts snap to the soundtrack's beats (seconds on the output clock):
    ``soundtrack_beats_s`` when given; else the song's (musical pacing when the template has
    a beat grid, else snapping); else the template's music beats (:func:`soundtrack_beats`)
    when the soundtrack is the template's music (``template`` or ``mix``); with footage audio
    there is no beat grid independent of the edit, so cuts keep the template's pacing
    unsnapped. ``template_has_audio``: whether the template file has an audio stream
    (False for a saved style). ``luts``: LUT name → ``.cube`` file name (default
    ``{"global": "clip.cube"}``); each clip names its own.
    """
    cfg = effective_config(config)
    clips = [clips] if isinstance(clips, FootageClip) else list(clips)
    if not clips or any(c.info.duration_seconds <= 0 for c in clips):
        raise ValueError("footage has no duration")
    usable = selection.usable_clips(clips)
    first = clips[usable[0]].info
    fmt = output_format(cfg, style, first, footage_s=sum(float(clips[u].info.duration_seconds) for u in usable),
                        short_side=max(min(clips[u].info.width, clips[u].info.height) for u in usable))
    soundtrack = choose_soundtrack(style, any(clips[u].info.has_audio for u in usable), cfg, template_has_audio, song)
    grid, downbeats = _beat_grid(style, song, soundtrack, fmt, soundtrack_beats_s)
    cuts, fmt = _cuts(style, clips, usable, cfg, fmt, song if soundtrack.uses_song else None,
                      grid if cfg["beat_sync"] else [])
    if song is not None and soundtrack.uses_song:
        grid = song.on_output_clock(song.beat_times_s, fmt.duration_s)
        downbeats = song.on_output_clock(song.downbeat_times_s, fmt.duration_s)
    trans = _transitions(style, cfg, cuts.origin, cuts.bounds, fmt.frame_rate)
    segments = _segments(clips, fmt, cuts, trans)
    q = QUALITY[cfg["quality"]]
    info = first
    roi = clips[usable[0]].roi or RoiTrack.centre(info.duration_seconds)
    return EditPlan(
        output=fmt, soundtrack=soundtrack, luts=dict(luts or {"global": "clip.cube"}), segments=segments,
        encoder={"codec": "libx264", "profile": "high", "pix_fmt": "yuv420p", "crf": q["crf"], "preset": q["preset"],
                 "audio": "aac 48 kHz stereo"},
        config=cfg,
        footage={"width": info.width, "height": info.height, "duration_ms": int(round(float(info.duration_seconds) * 1000)),
                 "roi_face_detector": roi.face_detector},
        beat_sync={"beats": len(grid) if cfg["beat_sync"] else 0, "cuts": len(segments) - 1,
                   "cuts_on_beat": int(sum(s.on_beat for s in segments))},
        soundtrack_beats_s=grid, soundtrack_downbeats_s=downbeats, selection=_selection(clips, usable, segments),
    )


def _beat_grid(style: TemplateStyle, song: SongGrid | None, soundtrack: Soundtrack, fmt: OutputFormat,
               explicit: Sequence[float] | None) -> tuple[list[float], list[float]]:
    """The soundtrack's beats and downbeats on the output clock: given, the song's, or the
    template music's (looped); none for footage audio."""
    if explicit is not None:
        return [float(b) for b in explicit if b is not None], []
    if song is not None and soundtrack.uses_song:
        return (song.on_output_clock(song.beat_times_s, fmt.duration_s),
                song.on_output_clock(song.downbeat_times_s, fmt.duration_s))
    if soundtrack.source in ("template", "mix"):
        return soundtrack_beats(style, fmt.duration_s), soundtrack_beats(style, fmt.duration_s, downbeats=True)
    return [], []
