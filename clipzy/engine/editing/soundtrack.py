"""The soundtrack of an apply job: choose, edit, duck, normalise and limit (numpy, 48 kHz stereo).

:func:`build_soundtrack` follows the plan's ``soundtrack.source``:

* ``template``: the template's audio from its start (so its beats line up with the planned
  cuts), trimmed to the output length — or looped with a 50 ms crossfade when shorter — with
  a fade-out over the last min(1 s, 10 % of the output).
* ``music``: the user's song from the plan's music start, faded out over the last beat of
  the edit when the song goes on past it (looped like the template's audio when shorter).
* ``footage``: the footage audio edited like the picture: each segment's audio, from its own
  clip, at its output position (1:1), faded in over its incoming transition (at least 5 ms, so cuts
  do not click) and continued past its out point with a fade-out over the next segment's
  transition (at least 5 ms).
* ``mix``: both (the music being the song when there is one, else the template's audio); the
  music is first matched to the footage audio's integrated loudness,
  then ducked by :data:`DUCK_DB` (−12 dB) while the footage has speech (the footage's speech
  segments mapped through the edit; 150 ms ramps), so speech stays on top of the music.
* ``none``: silence.

The result is normalised to ``target_lufs`` (ITU-R BS.1770-4 integrated loudness, measured
by the engine's one meter, :mod:`clipzy.engine.analysis.loudness`) and passed through a look-ahead true-peak limiter with its ceiling at
``true_peak_ceiling_dbtp`` (≤ −1 dBTP): the peak of each sample is estimated 4× oversampled
(polyphase), the gain needed is spread by a running minimum over ±5 ms (look-ahead) and
smoothed with a 5 ms moving average (never above the needed gain). Gain and limiting are
iterated up to four times so the final loudness lands within ±0.5 LU of the target while
the true peak stays under the ceiling (:func:`build_soundtrack` limits
:data:`CODEC_MARGIN_DB` below the plan's ceiling so the AAC-encoded file stays under it). A silent soundtrack stays silent (no normalisation);
the output still gets a silent stereo AAC track so players behave.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from ..analysis import loudness
from ..control import Control, ensure
from ..media import decode_audio
from .edit_plan import EditPlan

SAMPLE_RATE = 48000
DUCK_DB = -12.0  # music level change under footage speech in "mix", dB
DUCK_RAMP_S = 0.15
LOOP_XFADE_S = 0.05
CUT_FADE_S = 0.005
LOOKAHEAD_S = 0.005
#: Headroom the limiter keeps below the requested ceiling for the AAC encoder's overshoot
#: (measured up to about 0.3 dB on click music at 192 kb/s), dB.
CODEC_MARGIN_DB = 0.6
OVERSAMPLE = 4


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def true_peak_dbtp(x: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> float | None:
    """True peak (dBTP) of float audio (n,) or (n, ch); None if silent."""
    return loudness.true_peak_dbtp(np.asarray(x, np.float32), sr=sample_rate)


def integrated_lufs(x: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> float | None:
    """BS.1770-4 integrated loudness (LUFS) or None (silent / shorter than one 400 ms block)."""
    return loudness.integrated_lufs(np.asarray(x, np.float32), sr=sample_rate, layout=None)


def limit(x: np.ndarray, *, sample_rate: int = SAMPLE_RATE, ceiling_dbtp: float = -1.0) -> np.ndarray:
    """Look-ahead true-peak limiter (see module docstring); returns a new float32 array."""
    a = np.asarray(x, np.float32)
    if a.ndim == 1:
        a = a[:, None]
    n = a.shape[0]
    if n == 0:
        return a.copy()
    ceil = db_to_gain(ceiling_dbtp)
    target = ceil
    out = a
    for _ in range(4):
        os_ = np.abs(resample_poly(a, OVERSAMPLE, 1, axis=0))[: n * OVERSAMPLE]
        peak = os_.reshape(n, OVERSAMPLE, -1).max(axis=(1, 2))
        # also look at the neighbouring sample's interpolated peaks (the gain change spreads)
        peak = np.maximum(peak, np.concatenate([peak[1:], peak[-1:]]))
        g = np.minimum(1.0, target / np.maximum(peak, 1e-12))
        la = max(1, int(LOOKAHEAD_S * sample_rate))
        g = minimum_filter1d(g, size=2 * la + 1, mode="nearest")
        g = uniform_filter1d(g, size=la, mode="nearest")
        out = (a * g[:, None].astype(np.float32)).astype(np.float32)
        tp = true_peak_dbtp(out, sample_rate=sample_rate)
        if tp is None or tp <= ceiling_dbtp + 1e-3:
            return out
        target *= db_to_gain(ceiling_dbtp - tp - 0.05)
    tp = true_peak_dbtp(out, sample_rate=sample_rate)
    if tp is not None and tp > ceiling_dbtp:
        out = out * np.float32(db_to_gain(ceiling_dbtp - tp - 0.01))
    return out


def normalise_loudness(x: np.ndarray, *, target_lufs: float | None, ceiling_dbtp: float,
                       sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, float | None, float | None]:
    """Gain to ``target_lufs`` then true-peak limit at ``ceiling_dbtp``.

    Returns (audio, gain_db applied before the limiter or None, final loudness LUFS or None).
    ``target_lufs`` None keeps the level (only the limiter runs).
    """
    if ceiling_dbtp > 0:
        raise ValueError(f"ceiling_dbtp must be <= 0, got {ceiling_dbtp}")
    a = np.asarray(x, np.float32)
    src = integrated_lufs(a, sample_rate=sample_rate)
    if src is None:
        return a.copy(), None, None
    if target_lufs is None:
        out = limit(a, sample_rate=sample_rate, ceiling_dbtp=ceiling_dbtp)
        return out, 0.0, integrated_lufs(out, sample_rate=sample_rate)
    gain_db = float(target_lufs) - src
    out = a
    final = src
    for _ in range(4):
        out = limit(a * np.float32(db_to_gain(gain_db)), sample_rate=sample_rate, ceiling_dbtp=ceiling_dbtp)
        final = integrated_lufs(out, sample_rate=sample_rate)
        if final is None or abs(final - target_lufs) <= 0.5:
            break
        gain_db += float(target_lufs) - final
        gain_db = min(gain_db, 60.0)
    return out, gain_db, final


def fit_length(x: np.ndarray, n: int, *, sample_rate: int = SAMPLE_RATE, fade_out_s: float | None = None) -> np.ndarray:
    """``x`` (m, ch) trimmed or looped (50 ms crossfades) to ``n`` samples, with a linear fade
    out over ``fade_out_s`` (default min(1 s, 10 % of the length))."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    a = np.asarray(x, np.float32)
    if a.ndim == 1:
        a = a[:, None]
    ch = a.shape[1]
    if a.shape[0] == 0:
        return np.zeros((n, ch), np.float32)
    xf = min(int(LOOP_XFADE_S * sample_rate), a.shape[0] // 4)
    if a.shape[0] >= n:
        out = a[:n].copy()
    else:
        out = np.zeros((n, ch), np.float32)
        ramp = np.linspace(0, 1, xf, endpoint=False, dtype=np.float32)[:, None]
        pos = 0
        while pos < n:  # one iteration per loop of the music, not per sample
            m = min(a.shape[0], n - pos)
            piece = a[:m].copy()
            if pos > 0 and xf > 0:
                k = min(xf, m)
                piece[:k] *= ramp[:k]
                out[pos: pos + k] *= 1 - ramp[:k]
            out[pos: pos + m] += piece
            pos += a.shape[0] - xf
    fo = int((min(1.0, 0.1 * n / sample_rate) if fade_out_s is None else fade_out_s) * sample_rate)
    if fo > 0:
        out[-fo:] *= np.linspace(1, 0, fo, dtype=np.float32)[:, None]
    return out


def edit_audio(track: np.ndarray, plan: EditPlan, n: int, *, sample_rate: int = SAMPLE_RATE,
               clip: int | None = None) -> np.ndarray:
    """Footage audio (m, ch) cut like the picture of ``plan`` (see module docstring) → (n, ch);
    ``clip``: only the segments of that clip (the others stay silent)."""
    a = np.asarray(track, np.float32)
    ch = a.shape[1] if a.ndim == 2 else 1
    out = np.zeros((n, ch), np.float32)
    if a.shape[0] == 0:
        return out
    cf = max(1, int(CUT_FADE_S * sample_rate))
    segs = plan.segments
    for i, s in enumerate(segs):
        if clip is not None and s.clip != clip:
            continue
        o0 = int(round(plan.output_in_s(s) * sample_rate))
        o1 = int(round(plan.output_out_s(s) * sample_rate))
        nxt = segs[i + 1].transition_in.duration_s(plan.fps) if i + 1 < len(segs) else 0.0
        tail = max(cf, int(round(nxt * sample_rate)))
        fin = max(cf, int(round(s.transition_in.duration_s(plan.fps) * sample_rate))) if i > 0 else 0
        f0 = int(round(s.footage_in_s * sample_rate))
        length = min(o1 - o0 + tail, n - o0)
        if length <= 0:
            continue
        piece = np.zeros((length, ch), np.float32)
        src = a[f0: f0 + length]
        piece[: src.shape[0]] = src
        env = np.ones(length, np.float32)
        if fin:
            k = min(fin, length)
            env[:k] = np.linspace(0, 1, k, endpoint=False, dtype=np.float32)
        t0 = o1 - o0
        if t0 < length:
            k = length - t0
            env[t0:] *= np.linspace(1, 0, tail, endpoint=False, dtype=np.float32)[:k]
        out[o0: o0 + length] += piece * env[:, None]
    return out


def speech_on_output(speech_s: Sequence[tuple[float, float]], plan: EditPlan, *,
                     clip: int | None = None) -> list[tuple[float, float]]:
    """Footage speech spans (seconds) mapped through the edit onto the output clock
    (``clip``: only that clip's segments)."""
    out = []
    for s in plan.segments:
        if clip is not None and s.clip != clip:
            continue
        fi, fo = s.footage_in_s, s.footage_out_s
        oi = plan.output_in_s(s)
        for a, b in speech_s:
            lo, hi = max(a, fi), min(b, fo)
            if hi > lo:
                out.append((oi + lo - fi, oi + hi - fi))
    return sorted(out)


def duck_envelope(spans_s: Sequence[tuple[float, float]], n: int, *, duck_db: float = DUCK_DB, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Gain (n,) that is ``duck_db`` inside ``spans_s`` and 1 elsewhere, with 150 ms ramps."""
    m = np.zeros(n, np.float32)
    for a, b in spans_s:
        m[max(0, int(a * sample_rate)): max(0, int(b * sample_rate))] = 1.0
    r = max(1, int(DUCK_RAMP_S * sample_rate))
    # dilate by half a ramp, then average over a ramp: fully ducked inside the spans,
    # linear-ish ramps of DUCK_RAMP_S outside them
    m = uniform_filter1d(maximum_filter1d(m, size=r + 1, mode="nearest"), size=r, mode="nearest")
    m = np.clip(m, 0, 1)
    return (1.0 - m * (1.0 - db_to_gain(duck_db))).astype(np.float32)


def _stereo(x: np.ndarray | None, n: int) -> np.ndarray:
    if x is None:
        return np.zeros((n, 2), np.float32)
    a = np.asarray(x, np.float32)
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[1] == 1:
        return np.repeat(a, 2, axis=1)
    if a.shape[1] > 2:
        return a[:, :2].copy()
    return a


def _music_bed(plan: EditPlan, n: int, *, template_path, music_path, control: Control) -> np.ndarray | None:
    """The music under the edit: the song from its start (faded out over the last beat when it
    outlasts the edit: from the last beat at least half a beat before the end, since the edit
    ends on a beat), or the template's audio from its start (looped when shorter)."""
    st = plan.soundtrack
    if st.uses_song and music_path is not None:
        start = int(round((st.music_start_s or 0.0) * SAMPLE_RATE))
        t = decode_audio(music_path, sample_rate=SAMPLE_RATE, layout="stereo", control=control,
                         max_duration_s=(start + n) / SAMPLE_RATE + 0.1)
        if t is None:
            return None
        song = t.samples[start:]
        end_s = n / SAMPLE_RATE
        grid = sorted(float(b) for b in plan.soundtrack_beats_s)
        period = float(np.median(np.diff(grid))) if len(grid) > 1 else 0.0
        beats = [b for b in grid if b <= end_s - 0.5 * period - 1e-3]  # the edit ends on (or near) a beat
        fade = (end_s - beats[-1]) if beats and song.shape[0] > n else None
        return fit_length(song, n, fade_out_s=fade)
    if st.source in ("template", "mix") and template_path is not None:
        t = decode_audio(template_path, sample_rate=SAMPLE_RATE, layout="stereo", control=control)
        return fit_length(t.samples, n) if t is not None else None
    return None


def _footage_audio(plan: EditPlan, n: int, footage: Sequence[tuple[str, Sequence[tuple[float, float]]]],
                   control: Control) -> tuple[np.ndarray | None, list[tuple[float, float]]]:
    """Every clip's audio cut like the picture, summed, and its speech on the output clock."""
    out: np.ndarray | None = None
    speech: list[tuple[float, float]] = []
    for u, (path, speech_s) in enumerate(footage):
        if not any(s.clip == u for s in plan.segments):
            continue
        f = decode_audio(path, sample_rate=SAMPLE_RATE, layout="stereo", control=control)
        control.check()
        if f is None:
            continue
        part = edit_audio(f.samples, plan, n, clip=u)
        out = part if out is None else out + part
        speech += speech_on_output(speech_s, plan, clip=u)
    return out, sorted(speech)


def build_soundtrack(
    plan: EditPlan,
    *,
    template_path: str | os.PathLike[str] | None,
    footage: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    music_path: str | os.PathLike[str] | None = None,
    control: Control | None = None,
) -> np.ndarray:
    """The normalised stereo soundtrack (n, 2) float32 at 48 kHz for ``plan``; ``n`` =
    output frames / fps × 48000 (so audio and video have the same length).

    ``footage[clip]`` = (path, speech spans in seconds) of each clip the segments name;
    ``music_path``: the user's song. Fills in ``plan.soundtrack``'s ``gain_db``, ``duck_db``,
    ``measured_lufs`` and ``true_peak_dbtp``."""
    control = ensure(control)
    st = plan.soundtrack
    n = int(round(plan.output.frame_count / plan.fps * SAMPLE_RATE))
    src = st.source
    duck = None
    music = _music_bed(plan, n, template_path=template_path, music_path=music_path, control=control) \
        if src in ("template", "mix", "music") else None
    control.check()
    edited, spans = _footage_audio(plan, n, footage, control) if src in ("footage", "mix") else (None, [])
    if src == "mix" and music is not None and edited is not None:
        lm, lf = integrated_lufs(music), integrated_lufs(edited)
        if lm is not None and lf is not None:
            music = music * np.float32(db_to_gain(lf - lm))
        if spans:
            duck = DUCK_DB
            music = music * duck_envelope(spans, n)[:, None]
        mixed = music + edited
    else:
        mixed = music if music is not None else edited
    mixed = _stereo(mixed, n)
    control.progress(0.5)
    y, gain, final = normalise_loudness(mixed, target_lufs=st.target_lufs,
                                        ceiling_dbtp=st.true_peak_ceiling_dbtp - CODEC_MARGIN_DB)
    control.progress(1.0)
    tp = true_peak_dbtp(y)
    st.gain_db = None if gain is None else round(gain, 2)
    st.duck_db = duck
    st.measured_lufs = None if final is None else round(final, 2)
    st.true_peak_dbtp = None if tp is None else round(tp, 2)
    st.mixed = True
    return np.ascontiguousarray(y, np.float32)
