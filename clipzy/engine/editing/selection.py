"""Choosing the footage: which clip fills each template shot, and which moment of it.

**Usable clips.** A clip whose quality verdict names a reason (black, out of focus,
overexposed, frozen, too short: :mod:`clipzy.engine.analysis.quality`) is left out while
any usable clip remains; when none does, every clip is used (an edit of poor footage beats
no edit) and the plan still names each reason.

**Which clip** (:func:`allocate`). ``footage_order: keep`` — the clips in the given order,
each taking a run of consecutive template shots, at least one each when there are at least
as many shots as usable clips (else the best clips, by mean quality, in their order); the
runs fit their clips and keep each clip's share of the output near its share of the footage
(:func:`_keep_runs`). ``any`` — shot by shot, the clip whose motion is closest to the
template shot's (mean per-shot intensity, 0–100) and whose quality is best, a clip's share
of the output kept near its share of the footage and within its duration; while clips
remain unused and the shots left are as many, only unused clips are offered, so every usable
clip appears.

**Which moment** (:func:`choose_starts`), inside each clip, in output order and
chronologically (a moment is never shown twice while unused footage remains): candidate
starts every 0.05 s inside one footage shot (one footage frame of margin from each cut when
the shot has room), long enough for the segment plus the outgoing transition's handle.
Score per 0.1 s cell (:func:`moment_scores`), averaged over the segment:

* motion: with the template shot's motion known, 1 − |clip motion − template motion| / 100
  (steady footage for a steady shot, moving for a moving one); else the clip's per-shot
  motion normalised to 0..1 (v1.0: movement is preferred);
* + the faces share (ROI track) + 0.7 × speech share + 0.3 × ROI evidence weight;
* − :data:`QUALITY_WEIGHT` × badness (black, blown out, soft at that moment);
* − 0.5 × the distance from the segment's proportional place in the clip (in units of
  clip length / segments) − :data:`SAME_SHOT_PENALTY` when the candidate lies in the same
  footage shot as the clip's previous segment.

Two consecutive segments of one footage shot start at least :data:`MIN_JUMP_S` after the
previous one ends, and each segment leaves room for the later segments' jumps (a segment
placed late by the even spread must not leave the next ones a few frames apart); when that
is impossible the room is given up first, then the rule is dropped, then the search widens to
the rest of the clip, then to footage no segment has shown yet (out of order), and only then
(footage too short) to all of it, showing as little footage twice as it can.

**Every cut reads as a cut** (:func:`cut_reads`, :func:`framing_changes`). A cut inside one
take, or a transition between two similar pictures, is checked on the clip's analysis
thumbnails: the pictures either side must differ by at least :data:`CUT_DIFFERENCE` (mean
absolute difference of 32×18 grey thumbnails, 0–255) and by :data:`NATURAL_FACTOR` × the
take's own change between samples there. ``bench/cut_difference.py`` joins long takes of the
shared clips to later moments of themselves and asks the shot detector: every jump whose
thumbnails differ by ≥ 20 was seen as a cut (10 of 10), 9 of the 32 under it (static motion
graphics and slow scenes hardly change in 1–4 s). The moment search prefers starts whose
cut reads: within each step of the search above, a start whose cut reads always wins over
one whose cut does not (among those, the score decides); when none does, the incoming segment changes its framing: a
punch-in of :data:`PUNCH_IN` × (or back out when the previous one was punched in), as editors
do with one camera — which viewers read as a cut, though the shot detector sees only half
of them (6 of 12 in the same bench: it misses punch-ins on shaky handheld footage), so
another clip is the surest cut of all.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..analysis.framing import RoiTrack

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.quality import ClipQuality
    from .plan import FootageClip

MIN_JUMP_S = 1.0  # footage skipped between consecutive segments of one footage shot, seconds
SAME_SHOT_PENALTY = 1.5  # score units: more than the whole motion range (0..1), worth 3 units of distance
GRID_S = 0.1  # footage search grid, seconds
QUALITY_WEIGHT = 2.0  # score units a fully bad moment loses (more than motion, faces and speech together)
CUT_DIFFERENCE = 20.0  # thumbnail difference (grey levels) a cut must show to read as a cut (bench/cut_difference.py)
NATURAL_FACTOR = 2.0  # ... and how many times the clip's own sample-to-sample change
OVERFLOW_WEIGHT = 10.0  # cost of a second of footage shown twice, in seconds of share error
PUNCH_IN = 1.25  # framing change of a cut that would not read otherwise (crop scale)


def usable_clips(clips: Sequence["FootageClip"]) -> list[int]:
    """Indices of the clips the edit may use (every clip when none is usable)."""
    good = [i for i, c in enumerate(clips) if c.quality is None or c.quality.usable]
    return good or list(range(len(clips)))


def _clip_quality(clip: "FootageClip") -> float:
    """Mean goodness 0..1 of a clip's samples (1 without measurements)."""
    if clip.quality is None or clip.quality.times_s.size == 0:
        return 1.0
    return float(1.0 - clip.quality.badness().mean())


def _clip_motion(clip: "FootageClip") -> float | None:
    vals = [float(v) for v in clip.motion_per_shot if v is not None]
    return float(np.mean(vals)) if vals else None


def _largest_remainder(weights: Sequence[float], n: int, minimum: int) -> list[int]:
    """``n`` items split by ``weights`` (whole numbers, each ≥ ``minimum``)."""
    k = len(weights)
    counts = [minimum] * k
    left = n - minimum * k
    total = sum(weights) or 1.0
    shares = [left * w / total for w in weights]
    floors = [int(math.floor(s)) for s in shares]
    counts = [c + f for c, f in zip(counts, floors)]
    order = sorted(range(k), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def allocate(lengths_s: Sequence[float], clips: Sequence["FootageClip"], usable: list[int], *, order: str,
             shot_motion: Sequence[float | None] = ()) -> list[int]:
    """The clip index for each template shot of ``lengths_s`` seconds (module docstring)."""
    n_shots = len(lengths_s)
    if len(usable) == 1 or n_shots == 0:
        return [usable[0]] * n_shots
    durations = [float(clips[u].info.duration_seconds) for u in usable]
    if n_shots < len(usable):  # not every clip fits: the best ones, in their order
        best = sorted(sorted(range(len(usable)), key=lambda i: (-_clip_quality(clips[usable[i]]), i))[:n_shots])
        return [usable[i] for i in best]
    if order == "keep":
        counts = _keep_runs(lengths_s, durations)
        return [u for u, c in zip(usable, counts) for _ in range(c)]
    return _allocate_any(lengths_s, clips, usable, durations, shot_motion)


def _keep_runs(lengths_s: Sequence[float], durations_s: Sequence[float]) -> list[int]:
    """How many consecutive shots each clip takes, in order (each ≥ 1): the split whose runs
    fit their clips and keep each clip's share of the output near its share of the footage.
    Cost per clip, in seconds: :data:`OVERFLOW_WEIGHT` × (the run's length past the clip's
    duration + 1 when there is any: footage shown twice) + what the run with :data:`MIN_JUMP_S` between its shots
    does not fit (jumps shortened) + |run − its proportional share|; exact by dynamic
    programming over (clip, shots so far), vectorised over the split point."""
    n, k = len(lengths_s), len(durations_s)
    cum = np.concatenate([[0.0], np.cumsum(lengths_s)])
    share = cum[-1] / max(1e-9, sum(durations_s))
    inf = float("inf")
    cost = np.full((k + 1, n + 1), inf)
    back = np.zeros((k + 1, n + 1), dtype=int)
    cost[0, 0] = 0.0
    for i in range(1, k + 1):
        dur = durations_s[i - 1]
        for j in range(i, n - (k - i) + 1):  # clip i ends after shot j; every clip keeps ≥ 1 shot
            m = np.arange(i - 1, j)  # its run starts after shot m
            run = cum[j] - cum[m]
            need = run + MIN_JUMP_S * (j - m - 1)
            repeat = np.maximum(0.0, run - dur)
            c = (cost[i - 1, m] + OVERFLOW_WEIGHT * (repeat + (repeat > 0)) + np.maximum(0.0, need - dur)
                 + np.abs(run - share * dur))
            best = int(np.argmin(c))
            cost[i, j], back[i, j] = float(c[best]), int(m[best])
    counts, j = [], n
    for i in range(k, 0, -1):
        m = back[i, j]
        counts.append(j - m)
        j = m
    return counts[::-1]


def _allocate_any(lengths_s: Sequence[float], clips: Sequence["FootageClip"], usable: list[int],
                  durations: list[float], shot_motion: Sequence[float | None]) -> list[int]:
    """Shot by shot, the best-fitting clip: motion closeness + quality − over-use of its share
    of the footage (− 1 for each second it would run past its duration), every clip at least once."""
    total = sum(lengths_s)
    share = [total * d / max(1e-9, sum(durations)) for d in durations]
    motion = [_clip_motion(clips[u]) for u in usable]
    quality = [_clip_quality(clips[u]) for u in usable]
    used_s = [0.0] * len(usable)
    shots = [0] * len(usable)
    out = []
    for j, ln in enumerate(lengths_s):
        unused = [i for i in range(len(usable)) if shots[i] == 0]
        candidates = unused if len(unused) >= len(lengths_s) - j else range(len(usable))
        target = shot_motion[j] if j < len(shot_motion) else None

        def fit(i: int) -> tuple[float, int]:
            close = 0.0 if target is None or motion[i] is None else 1.0 - abs(motion[i] - target) / 100.0
            after = used_s[i] + ln + MIN_JUMP_S * shots[i]
            return (close + quality[i] - used_s[i] / max(1e-9, share[i]) - max(0.0, after - durations[i]), -i)

        best = max(candidates, key=fit)
        used_s[best] += ln
        shots[best] += 1
        out.append(usable[best])
    return out


def moment_scores(clip: "FootageClip", roi: RoiTrack, spans: list[tuple[float, float]],
                  target_motion: float | None = None) -> np.ndarray:
    """Per-grid-cell score of ``clip`` (cell k covers [k·GRID_S, (k+1)·GRID_S)); module docstring."""
    n = max(1, int(math.ceil(clip.info.duration_seconds / GRID_S)))
    tc = (np.arange(n) + 0.5) * GRID_S
    per_shot = clip.motion_per_shot
    motion = np.zeros(n)
    if per_shot and len(per_shot) == len(spans):
        vals = np.array([float(v or 0.0) for v in per_shot])
        if target_motion is None:
            vals = vals / max(1e-9, float(vals.max()))
        else:
            vals = 1.0 - np.abs(vals - float(target_motion)) / 100.0
        for (a, b), v in zip(spans, vals):  # one assignment per shot
            motion[(tc >= a) & (tc < b)] = v
    speech = np.zeros(n)
    for a, b in clip.speech_s:
        speech[(tc >= a) & (tc < b)] = 1.0
    faces = np.zeros(n)
    if roi.faces.size == roi.times_s.size and roi.times_s.size:
        faces = np.interp(tc, roi.times_s, (roi.faces > 0).astype(float))
    _, _, w = roi.at(tc)
    score = motion + faces + 0.7 * speech + 0.3 * w
    q = clip.quality
    if q is not None and q.times_s.size:
        score = score - QUALITY_WEIGHT * np.interp(tc, q.times_s, q.badness())
    return score


def choose_starts(lengths: list[float], handles: list[float], spans: list[tuple[float, float]],
                  scores: Sequence[np.ndarray], footage_s: float, fps_footage: float, *,
                  quality: "ClipQuality | None" = None, adjacent: Sequence[bool] = ()) -> list[float]:
    """Footage start (seconds) of each segment of one clip, in output order (module docstring).

    ``scores[i]``: the per-cell scores for segment i (:func:`moment_scores`); ``adjacent[i]``:
    segment i directly follows this clip's previous segment in the output (its cut should
    read: only starts where :func:`cut_reads` are kept when there are any)."""
    margin = 1.0 / fps_footage if fps_footage > 0 else 0.04
    starts_all = np.arange(0.0, max(footage_s, GRID_S), GRID_S / 2)
    shot_idx = np.clip(np.searchsorted([s[1] for s in spans], starts_all, side="right"), 0, len(spans) - 1)
    sh_a = np.array([spans[i][0] for i in shot_idx])
    sh_b = np.array([spans[i][1] for i in shot_idx])
    need = [ln + h for ln, h in zip(lengths, handles)]
    total = sum(need)
    unit = footage_s / max(1, len(lengths))
    out: list[float] = []
    prev_end, prev_shot = 0.0, -1
    used: list[tuple[float, float]] = []
    for i, (ln, h) in enumerate(zip(lengths, handles)):
        ideal = footage_s * sum(need[:i]) / total if total > 0 else 0.0
        after = sum(need[i + 1:]) * 0.999
        jumps_after = MIN_JUMP_S * (len(lengths) - i - 1)  # room the later segments' jumps need
        cum = np.concatenate([[0.0], np.cumsum(scores[i] * GRID_S)])
        jump_ok = (shot_idx != prev_shot) | (starts_all >= prev_end + MIN_JUMP_S - 1e-9)
        chosen, used_h = None, 0.0
        for lo, hi, hh, jump in ((prev_end, footage_s - after - jumps_after - ln - h, h, True),
                                 (prev_end, footage_s - after - jumps_after - ln, 0.0, True),
                                 (prev_end, footage_s - after - ln - h, h, True),
                                 (prev_end, footage_s - after - ln, 0.0, True),
                                 (prev_end, footage_s - after - ln - h, h, False),
                                 (prev_end, footage_s - after - ln, 0.0, False),
                                 (prev_end, footage_s - ln, 0.0, False), (0.0, footage_s - ln, 0.0, None),
                                 (0.0, footage_s - ln, 0.0, False)):
            mg = np.where(sh_b - sh_a > ln + hh + 2 * margin, margin, 0.0)
            a0 = np.maximum(sh_a + mg, starts_all)
            ok = (starts_all >= lo - 1e-9) & (starts_all <= hi + 1e-9) & (a0 + ln + hh <= sh_b - mg + 1e-9)
            overlap = sum((np.maximum(0.0, np.minimum(a0 + ln, ub) - np.maximum(a0, ua)) for ua, ub in used),
                          np.zeros(a0.shape))
            if jump:
                ok &= jump_ok
            elif jump is None:  # out of order, but still footage no segment has shown yet
                ok &= overlap <= 1e-9
            elif np.any(ok):  # footage too short: as little shown twice as can be
                ok &= overlap <= overlap[ok].min() + GRID_S / 2
            if not np.any(ok):
                continue
            a, shot = a0[ok], shot_idx[ok]
            i0 = np.clip(np.floor(a / GRID_S).astype(int), 0, cum.size - 1)
            i1 = np.clip(np.ceil((a + ln) / GRID_S).astype(int), 0, cum.size - 1)
            s = (cum[i1] - cum[i0]) / np.maximum(1e-9, (i1 - i0) * GRID_S) - 0.5 * np.abs(a - ideal) / max(unit, 1e-9)
            s = s - SAME_SHOT_PENALTY * (shot == prev_shot)
            if quality is not None and i > 0 and i < len(adjacent) and adjacent[i]:
                reads = cut_reads(quality, prev_end - 1.0 / max(fps_footage, 1.0), a)
                if np.any(reads):  # a start whose cut reads wins over any that does not
                    a, s, shot = a[reads], s[reads], shot[reads]
            k = int(np.argmax(s))  # first best: deterministic
            chosen, used_h, prev_shot = float(a[k]), hh, int(shot[k])
            break
        if chosen is None:  # segment longer than every shot (cannot happen after splitting) — start of footage
            chosen, used_h = 0.0, 0.0
        out.append(round(chosen, 3))
        used.append((chosen, chosen + ln))
        prev_end = chosen + ln + used_h  # a reserved outgoing handle is shown during the next transition
    return out


def cut_reads(q: "ClipQuality", t_out_s: float, t_in_s: np.ndarray) -> np.ndarray:
    """Whether a cut from the picture at ``t_out_s`` to each of ``t_in_s`` (one clip's clock)
    reads as a cut: the thumbnails differ by at least :data:`CUT_DIFFERENCE` and by at least
    :data:`NATURAL_FACTOR` × the clip's own change from one sample to the next around both
    times (a jump in a shaky take must stand out from the shake)."""
    t_in = np.atleast_1d(np.asarray(t_in_s, float))
    diff = q.differences(t_out_s, t_in)
    natural = np.maximum(q.natural_change(t_in), float(q.natural_change(t_out_s)[0]))
    return (diff >= CUT_DIFFERENCE) & (diff >= NATURAL_FACTOR * natural)


def framing_changes(cuts: Sequence[tuple[int, int, float, float, bool]], clips: Sequence["FootageClip"]) -> list[float]:
    """The crop scale of each segment: 1.0, or a punch-in where a cut would not read.

    ``cuts[i]`` = (clip of segment i, clip of segment i − 1 (−1 for the first), the time shown
    last before the boundary (previous clip's clock), the time shown first after it (this
    clip's clock), whether the two lie in one footage shot or the boundary is a transition).
    """
    zoom = []
    for i, (clip, prev_clip, t_out, t_in, check) in enumerate(cuts):
        z = 1.0
        q = clips[clip].quality
        if i > 0 and check and clip == prev_clip and q is not None and q.times_s.size:
            if not bool(cut_reads(q, t_out, np.array([t_in]))[0]):
                z = 1.0 if zoom[-1] > 1.0 else PUNCH_IN
        zoom.append(z)
    return zoom
