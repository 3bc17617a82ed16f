"""Pacing: how long each output shot lasts, in seconds or in beats of the soundtrack.

* **In seconds** (no song, or no beat grid on either side): the template's shot lengths
  scaled to the output duration (:func:`scaled_lengths`); with ``beat_sync`` each cut then
  moves to the nearest beat of the soundtrack within half the local beat period
  (:func:`snap_to_beats`; the cut frame is the first output frame at or after the beat; two
  cuts never share a beat, and a shot never gets shorter than the plan's minimum).
* **In musical time** (a song with a beat grid and a template whose music has one,
  :func:`musical_cuts`; API.md "Pacing in musical time"): every template cut is placed on
  its nearest template beat, so each template shot lasts a whole number of template beats;
  the output keeps that sequence on the song's own grid from the music start — a template
  at 120 BPM cutting every 2 beats, on a 96 BPM song, cuts every 2 song beats (1.25 s).
  When both sides know their downbeats, template bar starts go to song bar starts (the
  template's beat index counted from its bar start at or before time 0). The output lasts
  the target duration, ending on the song beat nearest to it; the beat sequence is followed
  from its start (repeated from the start if it runs out) and cut off there.

In both, an output shot longer than its clip's longest footage shot is split into equal
pieces (on whole beats in musical time) joined by cuts: a segment never straddles a footage
cut (:func:`split_to_fit`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class SongGrid:
    """The user's song as the planner reads it (song clock, seconds)."""

    beat_times_s: list[float]
    downbeat_times_s: list[float]
    duration_s: float
    start_s: float  # where the edit starts in the song
    bar_aligned: bool = True  # the start was picked on a downbeat (bar starts follow the template's)
    audio_id: str | None = None

    def on_output_clock(self, times_s: Sequence[float], end_s: float) -> list[float]:
        """Song times mapped to the output clock (0 = the music start), inside 0..end_s."""
        return [t - self.start_s for t in times_s if 0.0 < t - self.start_s < end_s]


@dataclass
class MusicalCuts:
    """Cut times (output clock, seconds), the song beats each output shot lasts, which cuts
    fall on song downbeats, and the output's end (on a song beat)."""

    cuts_s: list[float]
    beats: list[float]
    downbeat: list[bool]
    end_s: float
    origin: list[int] = field(default_factory=list)  # template boundary before each shot (-1: the first)


def snap_to_beats(cuts_s: Sequence[float], beats_s: Sequence[float], *, fps: float, total_frames: int, min_frames: int,
                  max_frames: int | Sequence[int] | None = None) -> tuple[list[int], list[bool]]:
    """Cut frames: each cut (seconds) moved to the nearest free beat within half the local beat
    period (frame = first at or after the beat), else kept (first frame at or after the cut).
    Returns (frames, on_beat flags); frames strictly increase with ≥ ``min_frames`` gaps, and a
    snap is refused when it would make a shot longer than ``max_frames`` (its clip's longest
    footage shot; one number for every shot, or one per shot) or leave too little room for
    the remaining shots."""
    b = np.sort(np.asarray([x for x in beats_s if x is not None], float))
    ncuts = len(cuts_s)
    limits = None if max_frames is None else (
        [int(max_frames)] * (ncuts + 1) if np.isscalar(max_frames) else [int(m) for m in max_frames])
    frames: list[int] = []
    flags: list[bool] = []
    prev = 0
    used: set[int] = set()
    for j, c in enumerate(cuts_s):
        room_end = total_frames - min_frames * (ncuts - j)
        chosen: int | None = None
        if b.size >= 2:
            i = int(np.searchsorted(b, c))
            lo, hi = max(0, i - 2), min(b.size, i + 2)
            for k in sorted(range(lo, hi), key=lambda k: (abs(b[k] - c), k)):
                period = float(np.median(np.diff(b[max(0, k - 4): k + 5]))) if b.size > 1 else 0.0
                if k in used or abs(b[k] - c) > period / 2 + 1e-9:
                    continue
                f = int(math.ceil(b[k] * fps - 1e-6))
                if limits is not None and (f - prev > limits[j] or total_frames - f > sum(limits[j + 1:])):
                    continue
                if prev + min_frames <= f <= room_end:
                    chosen = f
                    used.add(k)
                    break
        if chosen is None:
            f = int(math.ceil(c * fps - 1e-6))
            frames.append(min(max(f, prev + min_frames), room_end))
            flags.append(False)
        else:
            frames.append(chosen)
            flags.append(True)
        prev = frames[-1]
    return frames, flags


def scaled_lengths(template_shots_s: Sequence[tuple[float, float]], duration_s: float) -> list[float]:
    """The template's shot lengths scaled to ``duration_s`` (seconds)."""
    lengths = np.array([b - a for a, b in template_shots_s], float)
    return list(lengths * duration_s / lengths.sum())


def split_to_fit(lengths_s: Sequence[float], longest_s: Sequence[float], *,
                 beats: Sequence[float | None] | None = None) -> tuple[list[float], list[int], list[int], list[float | None]]:
    """Split each shot longer than its clip's longest footage shot (``longest_s[j]``) into equal
    pieces — whole beats each when ``beats[j]`` (its length in beats) is given. Returns
    (piece lengths, the shot each piece comes from, −1 for the first piece of a shot else −2
    (a split cut), each piece's beats)."""
    pieces: list[float] = []
    shot: list[int] = []
    origin: list[int] = []
    piece_beats: list[float | None] = []
    for j, ln in enumerate(lengths_s):
        k = max(1, int(math.ceil(ln / max(longest_s[j], 1e-3) - 1e-9)))
        nb = beats[j] if beats is not None else None
        if nb is not None:
            k = min(k, max(1, int(nb)))  # never a piece shorter than a beat
            parts = [float(nb) // k + (1 if p < int(nb) % k else 0) for p in range(k)]
            lens = [ln * p / nb for p in parts]
        else:
            parts, lens = [None] * k, [ln / k] * k
        for p in range(k):
            pieces.append(lens[p])
            shot.append(j)
            origin.append(-1 if p == 0 else -2)
            piece_beats.append(parts[p])
    return pieces, shot, origin, piece_beats


def _beat_position(times: np.ndarray, t: float) -> float:
    """Fractional beat index of time ``t`` on the grid ``times`` (extrapolated at the ends)."""
    if t <= times[0]:
        return (t - times[0]) / float(times[1] - times[0])
    if t >= times[-1]:
        return times.size - 1 + (t - times[-1]) / float(times[-1] - times[-2])
    return float(np.interp(t, times, np.arange(times.size)))


@dataclass(frozen=True)
class TemplateBeats:
    """The template's pacing in beats: each cut's beat index and the template's end, counted
    from the bar start at or before its time 0 (a bar start is then a multiple of
    ``beats_per_bar``; 0 when the bar is unknown)."""

    cuts: list[int]
    end: int
    beats_per_bar: int


def template_beats(shots_s: Sequence[tuple[float, float]], beat_times_s: Sequence[float],
                   downbeat_times_s: Sequence[float]) -> TemplateBeats | None:
    """Each template cut placed on its nearest template beat (module docstring); None without a
    usable grid (fewer than four beats)."""
    b = np.asarray(beat_times_s, float)
    if b.size < 4 or not shots_s:
        return None
    i0 = int(round(_beat_position(b, 0.0)))
    ref, bpb = i0, 0
    d = [int(np.argmin(np.abs(b - t))) for t in downbeat_times_s]
    if len(d) >= 2 and int(np.median(np.diff(d))) > 0:
        bpb = int(np.median(np.diff(d)))
        ref = d[0] - bpb * int(math.ceil((d[0] - i0) / bpb))  # the bar start at or before time 0
    cuts = [int(round(_beat_position(b, s))) - ref for s, _ in shots_s[1:]]
    end = int(round(_beat_position(b, shots_s[-1][1]))) - ref
    return TemplateBeats(cuts, max(end, max(cuts, default=0) + 1), bpb)


def musical_cuts(template: TemplateBeats, song: SongGrid, target_s: float, min_gap_s: float) -> MusicalCuts | None:
    """The template's cut beats on the song's grid from the music start, repeated when they run
    out, up to the song beat nearest ``target_s`` (module docstring); None without a song grid."""
    sb = np.asarray(song.beat_times_s, float)
    first = int(np.searchsorted(sb, song.start_s - 1e-6))  # the song beat the edit starts on
    if sb.size < 4 or first >= sb.size:
        return None
    ends = sb[first:] - song.start_s
    end_s = float(ends[int(np.argmin(np.abs(ends - target_s)))])
    if end_s < min_gap_s:
        end_s = target_s
    seq: list[tuple[int, int]] = []  # (beat, template boundary), strictly increasing beats
    for j, c in enumerate(template.cuts):
        if 0 < c < template.end and (not seq or c > seq[-1][0]):
            seq.append((c, j))
    period = template.end
    if template.beats_per_bar:
        period = int(math.ceil(period / template.beats_per_bar) * template.beats_per_bar)  # repeat from a bar start
    downs = {int(np.argmin(np.abs(sb - t))) for t in song.downbeat_times_s}
    cuts: list[float] = []
    beat_of: list[int] = []
    origin: list[int] = []
    rep = 0
    while True:
        marks = ([(0, len(template.cuts) - 1)] if rep else []) + seq  # a repeat starts with a cut
        for c, j in marks:
            k = first + c + rep * period
            t = float(sb[k] - song.start_s) if k < sb.size else math.inf
            if t >= end_s - min_gap_s:
                break
            if (not cuts and t >= min_gap_s) or (cuts and t - cuts[-1] >= min_gap_s):
                cuts.append(t)
                beat_of.append(k)
                origin.append(j)
        else:
            rep += 1
            continue
        break
    starts = [first] + beat_of
    lengths = [float(b - a) for a, b in zip(starts, starts[1:])]
    tail = round(_beat_position(sb, song.start_s + end_s) - starts[-1], 3)
    return MusicalCuts(cuts, lengths + [tail], [k in downs for k in beat_of], end_s, [-1] + origin)


START_TOLERANCE_DB = 0.5  # stretches this close to the loudest count as loud as it
OPENING_S = 2.0  # the opening a start must have loud, seconds
OPENING_DROP_DB = 3.0  # how far under its stretch the opening may be
ENERGY_STEP_S = 0.1  # energy envelope step, seconds


def energy_envelope(mono: np.ndarray, *, sr: int, step_s: float = ENERGY_STEP_S) -> tuple[np.ndarray, np.ndarray]:
    """(step start times in seconds, mean power per step) of a mono signal."""
    if sr <= 0:
        raise ValueError(f"sr must be > 0, got {sr}")
    hop = max(1, int(round(step_s * sr)))
    n = mono.size // hop
    x = np.asarray(mono[: n * hop], np.float64).reshape(n, hop) if n else np.zeros((0, hop))
    return np.arange(n) * hop / float(sr), (x * x).mean(axis=1)


def music_start(candidates_s: Sequence[float], times_s: np.ndarray, power: np.ndarray, *, needed_s: float,
                duration_s: float) -> float:
    """Where the edit starts in the song: a candidate (downbeat, else beat) that opens the
    stretch of ``needed_s`` with the highest mean power — the chorus or the drop, not the intro.

    Only candidates with the whole stretch inside the song compete while any has it; without
    candidates the start of the energy grid itself is searched. Every candidate whose
    stretch is within :data:`START_TOLERANCE_DB` of the loudest and whose first
    :data:`OPENING_S` are no more than :data:`OPENING_DROP_DB` under its stretch (it opens
    loud: the drop itself, not a bar before it) qualifies; the earliest of them wins, so a
    uniformly loud section starts where it begins."""
    cands = [float(c) for c in candidates_s if c >= 0] or [float(t) for t in times_s]
    if not cands or power.size == 0:
        return 0.0
    fitting = [c for c in cands if c + needed_s <= duration_s + 1e-6] or [min(cands)]
    cum = np.concatenate([[0.0], np.cumsum(power)])

    def level_db(a: float, length_s: float) -> float:
        i0 = min(int(np.searchsorted(times_s, a - 1e-9)), power.size - 1)
        i1 = min(max(i0 + 1, int(np.searchsorted(times_s, a + length_s - 1e-9))), power.size)
        return 10.0 * math.log10(max(1e-12, float((cum[i1] - cum[i0]) / max(1, i1 - i0))))

    stretch = {c: level_db(c, needed_s) for c in fitting}
    best = max(stretch.values())
    good = [c for c in fitting if stretch[c] >= best - START_TOLERANCE_DB
            and level_db(c, min(OPENING_S, needed_s)) >= stretch[c] - OPENING_DROP_DB]
    return min(good) if good else max(fitting, key=lambda c: (stretch[c], -c))
