"""The edit plan of an apply job (STYLE_DNA.md "The edit plan"): what goes where.

:func:`build_plan` is a pure, deterministic function of its inputs. The rules:

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
from typing import Any, Mapping, Sequence

import numpy as np

from . import crop
from ..analysis.framing import RoiTrack
from ..media import VideoInfo

VERSION = "1.0"
MAX_SHORT_SIDE = 1080
MIN_SEGMENT_S = 0.3  # shortest output shot after beat snapping, seconds
MIN_JUMP_S = 1.0  # footage skipped between consecutive segments of one footage shot, seconds
SAME_SHOT_PENALTY = 1.5  # score units: more than the whole motion range (0..1), worth 3 units of distance
GRID_S = 0.1  # footage search grid, seconds
TRANSITION_MAX_SHARE = 0.4  # a transition takes at most this share of its shorter neighbour
TRANSITION_TYPES = ("cut", "dissolve", "fade", "wipe")
ASPECTS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0, "4:5": 4 / 5, "4:3": 4 / 3, "21:9": 21 / 9}
#: API quality → x264 CRF and preset. The CRFs are the API's (28/23/18). The presets are the
#: documented faster equivalents of veryfast/medium/slow: medium → ``faster`` and high →
#: ``medium`` (two to three times faster on small servers; at a fixed CRF the picture quality
#: is about the same, files are somewhat larger).
QUALITY = {"low": {"crf": 28, "preset": "veryfast"}, "medium": {"crf": 23, "preset": "faster"}, "high": {"crf": 18, "preset": "medium"}}

DEFAULT_CONFIG: dict[str, Any] = {
    "quality": "high", "aspect_ratio": "template", "resolution": None, "duration_seconds": None,
    "audio_source": "auto", "color_strength": 1.0, "transitions": True, "beat_sync": True,
}


def effective_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` with API defaults filled in and validated (ValueError on bad values)."""
    c = dict(DEFAULT_CONFIG)
    for k, v in (config or {}).items():
        if k not in DEFAULT_CONFIG:
            raise ValueError(f"unknown config key {k!r}")
        c[k] = v
    if c["quality"] not in QUALITY:
        raise ValueError(f"quality must be low/medium/high, got {c['quality']!r}")
    if c["aspect_ratio"] not in (*ASPECTS.keys(), "source", "template") or c["aspect_ratio"] in ("4:3", "21:9"):
        raise ValueError(f"aspect_ratio must be 16:9/9:16/1:1/4:5/source/template, got {c['aspect_ratio']!r}")
    if c["resolution"] is not None and (isinstance(c["resolution"], bool) or not isinstance(c["resolution"], int) or not 240 <= c["resolution"] <= 2160):
        raise ValueError(f"resolution must be an integer 240..2160, got {c['resolution']!r}")
    d = c["duration_seconds"]
    if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not d > 0 or not math.isfinite(d)):
        raise ValueError(f"duration_seconds must be > 0, got {d!r}")
    if c["audio_source"] not in ("auto", "template", "footage", "mix"):
        raise ValueError(f"audio_source must be auto/template/footage/mix, got {c['audio_source']!r}")
    s = c["color_strength"]
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0.0 <= s <= 1.0:
        raise ValueError(f"color_strength must be within 0..1, got {s!r}")
    for k in ("transitions", "beat_sync"):
        if not isinstance(c[k], bool):
            raise ValueError(f"{k} must be a boolean, got {c[k]!r}")
    return c


def output_size(config: Mapping[str, Any], template_dna: Mapping[str, Any], footage_info: VideoInfo) -> tuple[int, int]:
    """(width, height) of the output, even, per the rules in the module docstring."""
    ar = config.get("aspect_ratio", "template")
    aspect: float | None = None
    if ar == "template":
        aspect = ASPECTS.get(str(template_dna.get("aspect_ratio")))
        if aspect is None:
            res = template_dna.get("resolution") or {}
            if res.get("width") and res.get("height"):
                aspect = float(res["width"]) / float(res["height"])
    elif ar in ASPECTS:
        aspect = ASPECTS[ar]
    if aspect is None:  # "source", or a template without a usable aspect
        aspect = footage_info.width / footage_info.height
    short = config.get("resolution") or min(min(footage_info.width, footage_info.height), MAX_SHORT_SIDE)
    if aspect >= 1:
        h, w = short, short * aspect
    else:
        w, h = short, short / aspect
    return max(2, int(round(w / 2)) * 2), max(2, int(round(h / 2)) * 2)


def _spans_s(dna: Mapping[str, Any], duration_s: float) -> list[tuple[float, float]]:
    shots = dna.get("shots") or []
    spans = [(s["start_ms"] / 1000.0, s["end_ms"] / 1000.0) for s in shots if s.get("end_ms", 0) > s.get("start_ms", 0)]
    return spans or [(0.0, duration_s)]


def _duration(dna: Mapping[str, Any], info: VideoInfo | None = None) -> float:
    d = dna.get("source_duration_seconds")
    if d:
        return float(d)
    shots = dna.get("shots") or []
    if shots:
        return shots[-1]["end_ms"] / 1000.0
    return float(info.duration_seconds) if info else 0.0


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


def _template_transitions(dna: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The template's boundaries (excluding fades at the very start/end), in order."""
    dur_ms = _duration(dna) * 1000.0
    out = []
    easing = {}
    for key in ("primary_transition", "secondary_transition"):
        p = dna.get(key)
        if p and p.get("type"):
            easing[p["type"]] = p.get("easing") or "linear"
    for t in dna.get("transitions") or []:
        if t.get("end_ms", 0) <= 40 or t.get("start_ms", 0) >= dur_ms - 40:
            continue
        typ = t.get("type") if t.get("type") in TRANSITION_TYPES else "dissolve"
        d = 0 if typ == "cut" else max(0, int(t.get("end_ms", 0)) - int(t.get("start_ms", 0)))
        out.append({"type": typ, "duration_ms": d, "easing": t.get("easing") or easing.get(typ, "linear")})
    return out


def _soundtrack(template_dna: Mapping[str, Any], footage_info: VideoInfo, config: Mapping[str, Any], template_has_audio: bool) -> dict[str, Any]:
    loud = template_dna.get("loudness") or {}
    music = bool(loud.get("music_present"))
    src = config.get("audio_source", "auto")
    if src == "auto":
        src = "template" if music and template_has_audio else "footage"
    if src == "mix" and not template_has_audio:
        src = "footage"
    if src == "mix" and not footage_info.has_audio:
        src = "template"
    if src == "template" and not template_has_audio:
        src = "footage"
    if src == "footage" and not footage_info.has_audio:
        src = "template" if template_has_audio and config.get("audio_source") != "footage" else "none"
    tp = loud.get("true_peak_dbtp")
    ceiling = -1.0 if tp is None else min(float(tp), -1.0)
    target = loud.get("integrated_lufs")
    return {"source": src, "gain_db": None, "duck_db": None, "target_lufs": None if target is None else float(target), "true_peak_ceiling_dbtp": ceiling}


def _footage_scores(footage_dna: Mapping[str, Any], info: VideoInfo, roi: RoiTrack, speech_s: Sequence[tuple[float, float]], spans: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-grid-cell score and cell times (cell k covers [k·GRID_S, (k+1)·GRID_S))."""
    n = max(1, int(math.ceil(info.duration_seconds / GRID_S)))
    tc = (np.arange(n) + 0.5) * GRID_S
    per_shot = ((footage_dna.get("motion") or {}).get("per_shot")) or []
    motion = np.zeros(n)
    if per_shot and len(per_shot) == len(spans):
        vals = np.array([float(p.get("intensity") or 0.0) for p in per_shot])
        vmax = max(1e-9, float(vals.max()))
        for (a, b), v in zip(spans, vals):  # one assignment per shot
            motion[(tc >= a) & (tc < b)] = v / vmax
    speech = np.zeros(n)
    for a, b in speech_s:
        speech[(tc >= a) & (tc < b)] = 1.0
    faces = np.zeros(n)
    if roi.faces.size == roi.times_s.size and roi.times_s.size:
        faces = np.interp(tc, roi.times_s, (roi.faces > 0).astype(float))
    _, _, w = roi.at(tc)
    return motion + faces + 0.7 * speech + 0.3 * w, tc


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


def build_plan(
    template_dna: Mapping[str, Any],
    footage_dna: Mapping[str, Any],
    footage_info: VideoInfo,
    roi: RoiTrack | None,
    speech_s: Sequence[tuple[float, float]] | None,
    soundtrack_beats_s: Sequence[float] | None,
    config: Mapping[str, Any] | None,
    *,
    template_has_audio: bool = True,
    lut_name: str = "clip.cube",
) -> dict[str, Any]:
    """The edit plan (JSON-ready dict, STYLE_DNA.md shape plus ``output_in_frame``/
    ``output_out_frame``/``footage_shot`` per segment and ``encoder``/``config`` blocks).

    ``soundtrack_beats_s`` are beat times (seconds) on the output clock of the chosen
    soundtrack (template music starts at output time 0); None/empty → no beat sync.
    ``template_has_audio`` says whether the template file has an audio stream.
    """
    cfg = effective_config(config)
    if footage_info.duration_seconds <= 0:
        raise ValueError("footage has no duration")
    roi = roi or RoiTrack.centre(footage_info.duration_seconds)
    speech_s = list(speech_s or [])
    fps = float(template_dna.get("frame_rate") or footage_info.frame_rate or 30.0)
    if not 1.0 <= fps <= 240.0:
        fps = float(footage_info.frame_rate) if 1.0 <= footage_info.frame_rate <= 240.0 else 30.0
    fps = round(fps, 3)
    width, height = output_size(cfg, template_dna, footage_info)
    footage_s = float(footage_info.duration_seconds)
    tmpl_s = _duration(template_dna) or footage_s
    duration = float(cfg["duration_seconds"]) if cfg["duration_seconds"] else min(tmpl_s, footage_s)
    total_frames = max(1, int(round(duration * fps)))
    duration = total_frames / fps

    # pacing: template shot lengths scaled, long ones split to fit footage shots
    f_spans = _spans_s(footage_dna, footage_s)
    f_spans = [(a, min(b, footage_s)) for a, b in f_spans if a < footage_s] or [(0.0, footage_s)]
    # the output is rounded to whole frames and the renderer holds the footage's last frame:
    # let the last shot reach one output frame past the footage's end
    f_spans[-1] = (f_spans[-1][0], footage_s + 1.0 / fps)
    longest = max(b - a for a, b in f_spans)
    t_spans = _spans_s(template_dna, tmpl_s)
    lens = np.array([b - a for a, b in t_spans], float)
    lens = lens * duration / lens.sum()
    tmpl_tr = _template_transitions(template_dna)
    pieces: list[float] = []
    origin: list[int] = []  # template boundary index that precedes each piece (-1 = split cut)
    for j, ln in enumerate(lens):
        k = max(1, int(math.ceil(ln / max(longest, 1e-3) - 1e-9)))
        for p in range(k):
            pieces.append(ln / k)
            origin.append(j - 1 if p == 0 else -2)
    cuts_s = list(np.cumsum(pieces)[:-1])
    min_frames = max(2, int(math.ceil(MIN_SEGMENT_S * fps)))
    min_frames = min(min_frames, max(1, total_frames // max(1, len(pieces))))
    beats = list(soundtrack_beats_s or []) if cfg["beat_sync"] else []
    cut_frames, on_beat = snap_to_beats(cuts_s, beats, fps=fps, total_frames=total_frames, min_frames=min_frames,
                                        max_frames=max(min_frames, int(math.floor(longest * fps + 1e-6))))
    bounds = [0, *cut_frames, total_frames]

    # transitions
    n_tb = len(lens) - 1
    trans: list[dict[str, Any]] = [{"type": "cut", "duration_ms": 0, "easing": "linear"}]
    for i in range(1, len(pieces)):
        tb = origin[i]
        t = {"type": "cut", "duration_ms": 0, "easing": "linear"}
        if cfg["transitions"] and tb >= 0 and tmpl_tr:
            src = tmpl_tr[tb] if len(tmpl_tr) == n_tb else tmpl_tr[min(len(tmpl_tr) - 1, int(round(tb * (len(tmpl_tr) - 1) / max(1, n_tb - 1))))]
            if src["type"] != "cut":
                nb = min(bounds[i] - bounds[i - 1], bounds[i + 1] - bounds[i])
                dfr = min(int(round(src["duration_ms"] * fps / 1000.0)), int(TRANSITION_MAX_SHARE * nb))
                if dfr >= 2:
                    t = {"type": src["type"], "duration_ms": int(round(dfr * 1000.0 / fps)), "easing": src["easing"]}
        trans.append(t)

    # footage segments
    seg_len = [(bounds[i + 1] - bounds[i]) / fps for i in range(len(pieces))]
    handles = [trans[i + 1]["duration_ms"] / 1000.0 if i + 1 < len(trans) else 0.0 for i in range(len(pieces))]
    score, _ = _footage_scores(footage_dna, footage_info, roi, speech_s, f_spans)
    starts = _choose(seg_len, handles, f_spans, score, footage_s, footage_info.frame_rate)

    aspect = width / height
    segments = []
    for i, a in enumerate(starts):
        ln = seg_len[i]
        keys = crop.crop_path(roi, footage_info.width, footage_info.height, aspect, a, a + ln + handles[i])
        shot = int(np.clip(np.searchsorted([s[1] for s in f_spans], a, side="right"), 0, len(f_spans) - 1))
        # footage available after the out point inside the same shot, for the outgoing side of
        # the next transition (the renderer holds the last frame beyond it)
        tail = max(0.0, min(handles[i], f_spans[shot][1] - (a + ln)))
        segments.append({
            "index": i,
            "footage_in_ms": int(round(a * 1000)),
            "footage_out_ms": int(round((a + ln) * 1000)),
            "output_in_ms": int(round(bounds[i] * 1000.0 / fps)),
            "output_out_ms": int(round(bounds[i + 1] * 1000.0 / fps)),
            "output_in_frame": bounds[i],
            "output_out_frame": bounds[i + 1],
            "footage_shot": shot,
            "tail_ms": int(math.floor(tail * 1000)),
            "transition_in": trans[i],
            "crop": [{"t_ms": int(round((k["t_s"] - a) * 1000)), "x": k["x"], "y": k["y"], "width": k["width"], "height": k["height"]} for k in keys],
            "lut": "global",
            "on_beat": bool(on_beat[i - 1]) if i > 0 else False,
        })
    q = QUALITY[cfg["quality"]]
    return {
        "version": VERSION,
        "output": {"width": width, "height": height, "frame_rate": fps, "duration_ms": int(round(duration * 1000)), "frame_count": total_frames},
        "soundtrack": _soundtrack(template_dna, footage_info, cfg, template_has_audio),
        "luts": {"global": lut_name},
        "segments": segments,
        "encoder": {"codec": "libx264", "profile": "high", "pix_fmt": "yuv420p", "crf": q["crf"], "preset": q["preset"], "audio": "aac 48 kHz stereo"},
        "config": cfg,
        "footage": {"width": footage_info.width, "height": footage_info.height, "duration_ms": int(round(footage_s * 1000)), "roi_face_detector": roi.face_detector},
        "beat_sync": {"beats": len(beats), "cuts": len(cut_frames), "cuts_on_beat": int(sum(on_beat))},
    }
