"""The edit plan of an apply job (STYLE_DNA.md "The edit plan"): what goes where.

:func:`build_plan` is a pure, deterministic function of its inputs: what the planner reads
of the template's Style DNA (:class:`TemplateStyle`, seconds), the footage's analysis
(:class:`FootageClip`, seconds) and the config. It returns an
:class:`~clipzy.engine.editing.edit_plan.EditPlan`. It works in three steps, each a
function: output format and pacing (:func:`output_format`, :func:`_pacing`, beat snapping by
:func:`snap_to_beats`), transitions (:func:`_transitions`) and footage segments
(:func:`_segments`, choosing starts with :func:`_choose`). The rules:

* **Output frame**: frame rate = the template's (``frame_rate``; the footage's if the
  template has none). Aspect per ``config["aspect_ratio"]`` (``template`` → the template's
  ``aspect_ratio`` string, ``source`` → the footage's exact display aspect). Short side =
  ``config["resolution"]``, or the footage's short side capped at 1080. Both sides even.
* **Duration**: ``config["duration_seconds"]``, else the template's duration capped by the
  footage's duration ("usable footage" = all of it). Rounded to whole output frames.
* **Pacing**: the template's shot lengths (``shots``) scaled by output/template duration;
  an output shot longer than the longest footage shot is split into equal pieces joined by
  cuts (a segment never straddles a footage cut). With ``beat_sync`` and soundtrack beats,
  each cut moves to the nearest beat within half the local beat period; the cut frame is the
  first output frame at or after the beat; two cuts never share a beat, and a shot never
  gets shorter than :data:`MIN_SEGMENT_S`.
* **Transitions**: boundary *j* of the output takes the template's transition *j* (the
  sequences are resampled by index when their counts differ), so types, order and
  proportions follow the template; its duration is the template's, clipped to 40 % of the
  shorter neighbouring segment; under two frames → a cut. ``transitions: false`` → all cuts.
  A transition's frames belong to the segment it leads into (its ``output_in`` is the
  transition's first frame); the outgoing picture continues the previous segment's footage
  for ``tail_ms`` (footage left in its shot) and then holds its last frame.
* **Footage segments** (1:1 speed): chosen in output order; candidate starts every 0.05 s
  inside one footage shot (one footage frame of margin from each cut when the shot has room;
  the last shot may reach one output frame past the footage's end, where the renderer holds
  the last frame), long enough for the segment plus the outgoing transition's handle (without
  the handle when no shot has room for it). Beat snaps never make a segment longer than the
  longest footage shot. Score = mean per-shot motion (0..1, from
  the footage DNA ``motion.per_shot``) + faces share (ROI track) + 0.7 × speech share + 0.3
  × ROI evidence weight − 0.5 × distance from the segment's proportional place in the
  footage (in units of footage/segments) − ``SAME_SHOT_PENALTY`` when the candidate lies in the
  same footage shot as the previous segment (a cut to another shot reads as a cut; a jump
  inside one continuous shot often does not). Candidates start after the previous segment's end
  and leave room for the remaining segments (chronological, no repeats). Two consecutive
  segments from the same footage shot start at least ``MIN_JUMP_S`` after the previous one
  ends, so every cut is a visible change (a 0.3 s skip inside a continuous shot reads as a
  glitch, not a cut); when that is impossible the rule is dropped, then the search widens to
  the rest of the footage, then to footage no segment has shown yet (out of order), and only
  then (footage too short) to all of it, allowing repeats.
* **Crop**: :func:`clipzy.engine.crop.crop_path` per segment (keyframe ``t_ms`` relative
  to the segment's ``footage_in_ms``; x/y/width/height in footage display pixels).
* **Soundtrack**: ``audio_source`` resolved (``auto`` → ``template`` when the template DNA
  says ``loudness.music_present``, else ``footage``; a missing stream degrades to the other
  or to ``none`` = silence); ``target_lufs`` = template integrated loudness (null when not
  measurable: no normalisation); ``true_peak_ceiling_dbtp`` = min(template true peak,
  −1); ``gain_db``/``duck_db`` are filled in by the mix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..analysis.framing import RoiTrack
from ..media import VideoInfo
from ..terms import ASPECT_RATIOS, TRANSITION_TYPES
from . import crop
from .edit_plan import CropKey, EditPlan, OutputFormat, PlannedTransition, Segment, Soundtrack
from .settings import QUALITY, effective_config

MAX_SHORT_SIDE = 1080
MIN_SEGMENT_S = 0.3  # shortest output shot after beat snapping, seconds
MIN_JUMP_S = 1.0  # footage skipped between consecutive segments of one footage shot, seconds
SAME_SHOT_PENALTY = 1.5  # score units: more than the whole motion range (0..1), worth 3 units of distance
GRID_S = 0.1  # footage search grid, seconds
TRANSITION_MAX_SHARE = 0.4  # a transition takes at most this share of its shorter neighbour
EDGE_FADE_S = 0.04  # a template transition this close to its start or end is an opening/closing fade, seconds
MIN_TRANSITION_FRAMES = 2  # a planned transition shorter than this becomes a cut


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
    region-of-interest track (None: the frame centre); ``speech_s``: its speech spans.
    """

    info: VideoInfo
    shots_s: list[tuple[float, float]]
    motion_per_shot: list[float | None] = field(default_factory=list)
    roi: RoiTrack | None = None
    speech_s: list[tuple[float, float]] = field(default_factory=list)


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


def output_size(config: Mapping[str, Any], style: TemplateStyle, footage_info: VideoInfo) -> tuple[int, int]:
    """(width, height) of the output, even, per the rules in the module docstring."""
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
    short = config.get("resolution") or min(min(footage_info.width, footage_info.height), MAX_SHORT_SIDE)
    if aspect >= 1:
        h, w = short, short * aspect
    else:
        w, h = short, short / aspect
    return max(2, int(round(w / 2)) * 2), max(2, int(round(h / 2)) * 2)


def output_format(config: Mapping[str, Any], style: TemplateStyle, footage_info: VideoInfo) -> OutputFormat:
    """Size, frame rate (the template's, else the footage's, 1–240 fps) and length in frames."""
    fps = float(style.frame_rate or footage_info.frame_rate or 30.0)
    if not 1.0 <= fps <= 240.0:
        fps = float(footage_info.frame_rate) if 1.0 <= footage_info.frame_rate <= 240.0 else 30.0
    fps = round(fps, 3)
    width, height = output_size(config, style, footage_info)
    footage_s = float(footage_info.duration_seconds)
    tmpl_s = style.duration_s or footage_s
    duration_s = float(config["duration_seconds"]) if config["duration_seconds"] else min(tmpl_s, footage_s)
    return OutputFormat(width, height, fps, max(1, int(round(duration_s * fps))))


def choose_soundtrack(style: TemplateStyle, footage_info: VideoInfo, config: Mapping[str, Any],
                      template_has_audio: bool) -> Soundtrack:
    """The soundtrack source per ``audio_source`` (module docstring), its target loudness and ceiling."""
    src = config.get("audio_source", "auto")
    if src == "auto":
        src = "template" if style.music_present and template_has_audio else "footage"
    if src == "mix" and not template_has_audio:
        src = "footage"
    if src == "mix" and not footage_info.has_audio:
        src = "template"
    if src == "template" and not template_has_audio:
        src = "footage"
    if src == "footage" and not footage_info.has_audio:
        src = "template" if template_has_audio and config.get("audio_source") != "footage" else "none"
    tp = style.true_peak_dbtp
    ceiling = -1.0 if tp is None else min(tp, -1.0)
    return Soundtrack(source=src, target_lufs=style.integrated_lufs, true_peak_ceiling_dbtp=ceiling)


def snap_to_beats(cuts_s: Sequence[float], beats_s: Sequence[float], *, fps: float, total_frames: int, min_frames: int,
                  max_frames: int | None = None) -> tuple[list[int], list[bool]]:
    """Cut frames: each cut (seconds) moved to the nearest free beat within half the local beat
    period (frame = first at or after the beat), else kept (first frame at or after the cut).
    Returns (frames, on_beat flags); frames strictly increase with ≥ ``min_frames`` gaps, and a
    snap is refused when it would make a shot longer than ``max_frames`` (the longest footage
    shot) or leave too little room for the remaining shots."""
    b = np.sort(np.asarray([x for x in beats_s if x is not None], float))
    frames: list[int] = []
    flags: list[bool] = []
    prev = 0
    used: set[int] = set()
    ncuts = len(cuts_s)
    for j, c in enumerate(cuts_s):
        room_end = total_frames - min_frames * (ncuts - j)
        chosen: int | None = None
        if b.size >= 2:
            i = int(np.searchsorted(b, c))
            lo, hi = max(0, i - 2), min(b.size, i + 2)
            cands = sorted(range(lo, hi), key=lambda k: (abs(b[k] - c), k))
            for k in cands:
                period = float(np.median(np.diff(b[max(0, k - 4): k + 5]))) if b.size > 1 else 0.0
                if k in used or abs(b[k] - c) > period / 2 + 1e-9:
                    continue
                f = int(math.ceil(b[k] * fps - 1e-6))
                if max_frames is not None and (f - prev > max_frames or total_frames - f > max_frames * (ncuts - j)):
                    continue
                if prev + min_frames <= f <= room_end:
                    chosen = f
                    used.add(k)
                    break
        if chosen is None:
            f = int(math.ceil(c * fps - 1e-6))
            f = min(max(f, prev + min_frames), room_end)
            frames.append(f)
            flags.append(False)
        else:
            frames.append(chosen)
            flags.append(True)
        prev = frames[-1]
    return frames, flags


@dataclass(frozen=True)
class _Pacing:
    """Output shot lengths before beat snapping: template shots scaled to the output and
    split where longer than the longest footage shot."""

    pieces_s: list[float]
    origin: list[int]  # template boundary before each piece (-1: the first; -2: a split cut)
    footage_spans_s: list[tuple[float, float]]  # footage shots; the last one reaches a frame past the end
    longest_s: float  # longest footage shot, seconds


def _pacing(style: TemplateStyle, clip: FootageClip, fmt: OutputFormat) -> _Pacing:
    fps = fmt.frame_rate
    footage_s = float(clip.info.duration_seconds)
    duration_s = fmt.duration_s
    spans = [(a, min(b, footage_s)) for a, b in (clip.shots_s or [(0.0, footage_s)]) if a < footage_s]
    spans = spans or [(0.0, footage_s)]
    # the output is rounded to whole frames and the renderer holds the footage's last frame:
    # let the last shot reach one output frame past the footage's end
    spans[-1] = (spans[-1][0], footage_s + 1.0 / fps)
    longest = max(b - a for a, b in spans)
    t_spans = style.shots_s or [(0.0, style.duration_s or footage_s)]
    lengths = np.array([b - a for a, b in t_spans], float)
    lengths = lengths * duration_s / lengths.sum()
    pieces: list[float] = []
    origin: list[int] = []
    for j, ln in enumerate(lengths):
        k = max(1, int(math.ceil(ln / max(longest, 1e-3) - 1e-9)))
        for p in range(k):
            pieces.append(ln / k)
            origin.append(j - 1 if p == 0 else -2)
    return _Pacing(pieces, origin, spans, longest)


def _transitions(style: TemplateStyle, cfg: Mapping[str, Any], pacing: _Pacing, bounds: list[int],
                 fps: float) -> list[PlannedTransition]:
    """Boundary j of the output takes the template's transition j (resampled by index when
    the counts differ), clipped to TRANSITION_MAX_SHARE of the shorter neighbour."""
    n_tb = len(style.shots_s or [None]) - 1
    tmpl_tr = style.transitions
    out = [PlannedTransition("cut", 0)]
    for i in range(1, len(pacing.pieces_s)):
        tb = pacing.origin[i]
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


def _segments(clip: FootageClip, fmt: OutputFormat, pacing: _Pacing, bounds: list[int],
              trans: list[PlannedTransition], on_beat: list[bool], lut_name: str) -> list[Segment]:
    """Footage for every output shot (chosen by :func:`_choose`) with its crop path."""
    fps = fmt.frame_rate
    info = clip.info
    footage_s = float(info.duration_seconds)
    roi = clip.roi or RoiTrack.centre(footage_s)
    n = len(pacing.pieces_s)
    seg_len_s = [(bounds[i + 1] - bounds[i]) / fps for i in range(n)]
    handles = [_handle_s(trans[i + 1], fps) if i + 1 < len(trans) else 0.0 for i in range(n)]
    spans = pacing.footage_spans_s
    score = _footage_scores(clip, roi, spans)
    starts = _choose(seg_len_s, handles, spans, score, footage_s, info.frame_rate)
    aspect = fmt.width / fmt.height
    ends = [s[1] for s in spans]
    out = []
    for i, a in enumerate(starts):
        ln = seg_len_s[i]
        keys = crop.crop_path(roi, info.width, info.height, aspect, a, a + ln + handles[i])
        shot = int(np.clip(np.searchsorted(ends, a, side="right"), 0, len(spans) - 1))
        # footage after the out point inside the same shot, for the outgoing side of the next
        # transition (the renderer holds the last frame beyond it)
        tail = max(0.0, min(handles[i], spans[shot][1] - (a + ln)))
        out.append(Segment(
            index=i, footage_in_s=a, footage_out_s=a + ln, output_in_frame=bounds[i], output_out_frame=bounds[i + 1],
            footage_shot=shot, tail_s=tail, transition_in=trans[i],
            crop=[CropKey(k["t_s"] - a, k["x"], k["y"], k["width"], k["height"]) for k in keys],
            lut=lut_name, on_beat=bool(on_beat[i - 1]) if i > 0 else False))
    return out


def _footage_scores(clip: FootageClip, roi: RoiTrack, spans: list[tuple[float, float]]) -> np.ndarray:
    """Per-grid-cell score (cell k covers [k·GRID_S, (k+1)·GRID_S))."""
    n = max(1, int(math.ceil(clip.info.duration_seconds / GRID_S)))
    tc = (np.arange(n) + 0.5) * GRID_S
    per_shot = clip.motion_per_shot
    motion = np.zeros(n)
    if per_shot and len(per_shot) == len(spans):
        vals = np.array([float(v or 0.0) for v in per_shot])
        vmax = max(1e-9, float(vals.max()))
        for (a, b), v in zip(spans, vals):  # one assignment per shot
            motion[(tc >= a) & (tc < b)] = v / vmax
    speech = np.zeros(n)
    for a, b in clip.speech_s:
        speech[(tc >= a) & (tc < b)] = 1.0
    faces = np.zeros(n)
    if roi.faces.size == roi.times_s.size and roi.times_s.size:
        faces = np.interp(tc, roi.times_s, (roi.faces > 0).astype(float))
    _, _, w = roi.at(tc)
    return motion + faces + 0.7 * speech + 0.3 * w


def _choose(lengths: list[float], handles: list[float], spans: list[tuple[float, float]], score: np.ndarray, footage_s: float, fps_footage: float) -> list[float]:
    """Footage start (seconds) per segment; see module docstring."""
    cum = np.concatenate([[0.0], np.cumsum(score * GRID_S)])
    margin = 1.0 / fps_footage if fps_footage > 0 else 0.04
    starts_all = np.arange(0.0, max(footage_s, GRID_S), GRID_S / 2)
    shot_idx = np.clip(np.searchsorted([s[1] for s in spans], starts_all, side="right"), 0, len(spans) - 1)
    sh_a = np.array([spans[i][0] for i in shot_idx])
    sh_b = np.array([spans[i][1] for i in shot_idx])
    need = [l + h for l, h in zip(lengths, handles)]
    total = sum(need)
    unit = footage_s / max(1, len(lengths))
    out: list[float] = []
    prev_end = 0.0
    prev_shot = -1
    used: list[tuple[float, float]] = []
    for i, (ln, h) in enumerate(zip(lengths, handles)):
        ideal = footage_s * sum(need[:i]) / total if total > 0 else 0.0
        after = sum(need[i + 1:]) * 0.999
        chosen = None
        used_h = 0.0
        jump_ok = (shot_idx != prev_shot) | (starts_all >= prev_end + MIN_JUMP_S - 1e-9)
        for lo, hi, hh, jump in ((prev_end, footage_s - after - ln - h, h, True),
                                 (prev_end, footage_s - after - ln, 0.0, True),
                                 (prev_end, footage_s - after - ln - h, h, False),
                                 (prev_end, footage_s - after - ln, 0.0, False),
                                 (prev_end, footage_s - ln, 0.0, False), (0.0, footage_s - ln, 0.0, None),
                                 (0.0, footage_s - ln, 0.0, False)):
            mg = np.where(sh_b - sh_a > ln + hh + 2 * margin, margin, 0.0)
            a0 = np.maximum(sh_a + mg, starts_all)
            ok = (starts_all >= lo - 1e-9) & (starts_all <= hi + 1e-9) & (a0 + ln + hh <= sh_b - mg + 1e-9)
            if jump:
                ok &= jump_ok
            elif jump is None:  # out of order, but still footage no segment has shown yet
                for ua, ub in used:
                    ok &= (a0 + ln <= ua + 1e-9) | (a0 >= ub - 1e-9)
            if not np.any(ok):
                continue
            a = a0[ok]
            i0 = np.clip(np.floor(a / GRID_S).astype(int), 0, score.size)
            i1 = np.clip(np.ceil((a + ln) / GRID_S).astype(int), 0, score.size)
            s = (cum[i1] - cum[i0]) / np.maximum(1e-9, (i1 - i0) * GRID_S) - 0.5 * np.abs(a - ideal) / max(unit, 1e-9)
            s = s - SAME_SHOT_PENALTY * (shot_idx[ok] == prev_shot)
            k = int(np.argmax(s))  # first best: deterministic
            chosen = float(a[k])
            used_h = hh
            prev_shot = int(shot_idx[ok][k])
            break
        if chosen is None:  # segment longer than every shot (cannot happen after splitting) — start of footage
            chosen, used_h = 0.0, 0.0
        out.append(round(chosen, 3))
        used.append((chosen, chosen + ln))
        prev_end = chosen + ln + used_h  # a reserved outgoing handle is shown during the next transition
    return out


def build_plan(style: TemplateStyle, clip: FootageClip, config: Mapping[str, Any] | None, *,
               soundtrack_beats_s: Sequence[float] | None = None, template_has_audio: bool = True,
               lut_name: str = "global", lut_file: str = "clip.cube") -> EditPlan:
    """The edit plan of ``clip`` cut to ``style`` (module docstring).

    With ``beat_sync``, cuts snap to the soundtrack's beats (seconds on the output clock):
    ``soundtrack_beats_s`` when given, else the template's music beats
    (:func:`soundtrack_beats`) when the soundtrack is the template's music (``template`` or
    ``mix``); with footage audio there is no beat grid independent of the edit, so cuts
    keep the template's pacing unsnapped. ``template_has_audio``:
    whether the template file has an audio stream. ``lut_name``/``lut_file``: the grade
    every segment names and its ``.cube`` file.
    """
    cfg = effective_config(config)
    info = clip.info
    if info.duration_seconds <= 0:
        raise ValueError("footage has no duration")
    fmt = output_format(cfg, style, info)
    fps, total_frames = fmt.frame_rate, fmt.frame_count
    soundtrack = choose_soundtrack(style, info, cfg, template_has_audio)
    grid: list[float] = []  # the soundtrack's beats on the output clock (also the timelines' markers)
    downbeats: list[float] = []
    if soundtrack_beats_s is not None:
        grid = [float(b) for b in soundtrack_beats_s if b is not None]
    elif soundtrack.source in ("template", "mix"):
        grid = soundtrack_beats(style, fmt.duration_s)
        downbeats = soundtrack_beats(style, fmt.duration_s, downbeats=True)
    beats = grid if cfg["beat_sync"] else []
    pacing = _pacing(style, clip, fmt)
    cuts_s = list(np.cumsum(pacing.pieces_s)[:-1])
    min_frames = max(2, int(math.ceil(MIN_SEGMENT_S * fps)))
    min_frames = min(min_frames, max(1, total_frames // max(1, len(pacing.pieces_s))))
    cut_frames, on_beat = snap_to_beats(cuts_s, beats, fps=fps, total_frames=total_frames, min_frames=min_frames,
                                        max_frames=max(min_frames, int(math.floor(pacing.longest_s * fps + 1e-6))))
    bounds = [0, *cut_frames, total_frames]
    trans = _transitions(style, cfg, pacing, bounds, fps)
    segments = _segments(clip, fmt, pacing, bounds, trans, on_beat, lut_name)
    q = QUALITY[cfg["quality"]]
    roi = clip.roi or RoiTrack.centre(info.duration_seconds)
    return EditPlan(
        output=fmt, soundtrack=soundtrack, luts={lut_name: lut_file}, segments=segments,
        encoder={"codec": "libx264", "profile": "high", "pix_fmt": "yuv420p", "crf": q["crf"], "preset": q["preset"],
                 "audio": "aac 48 kHz stereo"},
        config=cfg,
        footage={"width": info.width, "height": info.height, "duration_ms": int(round(float(info.duration_seconds) * 1000)),
                 "roi_face_detector": roi.face_detector},
        beat_sync={"beats": len(beats), "cuts": len(cut_frames), "cuts_on_beat": int(sum(on_beat))},
        soundtrack_beats_s=grid, soundtrack_downbeats_s=downbeats,
    )
