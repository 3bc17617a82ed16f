"""Audio test signals made in code, with exact ground truth.

Everything is float32 in [-1, 1], shape (n,) mono or (n, channels); sample rates in Hz,
times in seconds, levels in dBFS (sine peak amplitude 10**(dB/20)). Heavy work is
numpy/scipy vectorised: drum hits are placed by convolving an impulse train with one
synthesised hit, never by looping over samples.

- :func:`sine`, :func:`tone_sequence` — EBU Tech 3341/3342 style 1 kHz sines.
- :func:`pink_noise`, :func:`white_noise`.
- :func:`drum_track` / :func:`tempo_step_track` — kick/snare/hat patterns with swing,
  jitter and a chord bed; they return the true beat and downbeat times.
- :func:`low_shelf`, :func:`peaking_eq`, :func:`compress` — processing applied in tests.
- :func:`espeak` — speech from Debian's espeak-ng (None when it is not installed).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import signal


def db_to_amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def sine(freq_hz: float, dbfs: float, duration_s: float, *, sr: int = 48000, channels: int = 2,
         phase_deg: float = 0.0) -> np.ndarray:
    """A sine of peak level ``dbfs`` on every channel, shape (n, channels)."""
    t = np.arange(int(round(duration_s * sr))) / sr
    x = db_to_amp(dbfs) * np.sin(2 * np.pi * freq_hz * t + np.deg2rad(phase_deg))
    return np.repeat(x.astype(np.float32)[:, None], channels, axis=1)


def tone_sequence(parts: list[tuple[float, float]], *, freq_hz: float = 1000.0, sr: int = 48000,
                  channels: int = 2) -> np.ndarray:
    """Concatenated sines: ``parts`` = [(dbfs, duration_s), ...] (EBU 3341/3342 cases).

    A level of None or below −200 dBFS gives silence. Phase is continuous.
    """
    n = [int(round(d * sr)) for _, d in parts]
    t = np.arange(sum(n)) / sr
    gain = np.concatenate([np.full(k, 0.0 if (lv is None or lv < -200) else db_to_amp(lv)) for (lv, _), k in zip(parts, n)])
    x = (gain * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def white_noise(duration_s: float, *, sr: int = 48000, rms_dbfs: float = -20.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(round(duration_s * sr)))
    return (x * db_to_amp(rms_dbfs)).astype(np.float32)


def pink_noise(duration_s: float, *, sr: int = 48000, rms_dbfs: float = -20.0, seed: int = 0) -> np.ndarray:
    """Pink (1/f power: equal energy per octave) noise via spectral shaping, 20 Hz–Nyquist."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sr))
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sr)
    shape = np.zeros_like(f)
    shape[f >= 20] = 1.0 / np.sqrt(f[f >= 20])
    x = np.fft.irfft(spec * shape, n)
    x *= db_to_amp(rms_dbfs) / np.sqrt(np.mean(x ** 2))
    return x.astype(np.float32)


# ---------------------------------------------------------------------------
# Drums
# ---------------------------------------------------------------------------


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.35 * sr)) / sr
    f = 45 + 90 * np.exp(-t / 0.03)  # pitch drop 135 → 45 Hz
    ph = 2 * np.pi * np.cumsum(f) / sr
    return (np.sin(ph) * np.exp(-t / 0.12)).astype(np.float32)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    b, a = signal.butter(2, [1000, 5000], btype="band", fs=sr)
    noise = signal.lfilter(b, a, rng.standard_normal(t.size)) * 1.6
    body = 0.6 * np.sin(2 * np.pi * 190 * t)
    return ((noise * np.exp(-t / 0.05) + body * np.exp(-t / 0.04)) * 0.8).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    b, a = signal.butter(4, 7000, btype="high", fs=sr)
    return (signal.lfilter(b, a, rng.standard_normal(t.size)) * np.exp(-t / 0.012) * 0.5).astype(np.float32)


def _place(n: int, times_s: np.ndarray, gains: np.ndarray, hit: np.ndarray, sr: int) -> np.ndarray:
    """Sum of ``hit`` started at each time (sample-exact), by FFT convolution."""
    train = np.zeros(n + hit.size, np.float64)
    idx = np.round(np.asarray(times_s) * sr).astype(int)
    ok = (idx >= 0) & (idx < n)
    np.add.at(train, idx[ok], np.asarray(gains, float)[ok])
    return signal.fftconvolve(train, hit)[:n]


_CHORDS = [(220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (174.61, 220.0, 261.63), (196.0, 246.94, 311.13)]


def _chord_bed(n: int, bar_starts_s: np.ndarray, sr: int, level: float) -> np.ndarray:
    """Sustained triads (3 partials each note) changing on each bar start."""
    t = np.arange(n) / sr
    bar_idx = np.clip(np.searchsorted(bar_starts_s, t, side="right") - 1, 0, None)
    out = np.zeros(n)
    since = t - bar_starts_s[np.minimum(bar_idx, len(bar_starts_s) - 1)]
    since = np.maximum(since, 0.0)
    env = (1 - np.exp(-since / 0.02)) * np.exp(-since / 3.0) * (t >= bar_starts_s[0])
    for voice in range(3):
        freqs = np.array([c[voice] for c in _CHORDS])[bar_idx % len(_CHORDS)]
        ph = 2 * np.pi * np.cumsum(freqs) / sr
        for k, g in ((1, 1.0), (2, 0.4), (3, 0.2)):
            out += g * np.sin(k * ph)
    return (out * env * level / 3).astype(np.float32)


@dataclass
class DrumTrack:
    """A synthetic drum track and its truth (seconds)."""

    audio: np.ndarray  # mono float32
    sr: int
    beat_times_s: np.ndarray
    downbeat_times_s: np.ndarray
    bpm: float | list[float]
    beats_per_bar: int = 4
    kick_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snare_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    name: str = ""


def _beat_grid(bpms: list[float], durations_s: list[float], offset_s: float) -> np.ndarray:
    beats = []
    t0 = offset_s
    for bpm, dur in zip(bpms, durations_s):
        period = 60.0 / bpm
        k = np.arange(int(np.floor(dur / period + 1e-9)))
        beats.append(t0 + k * period)
        t0 = t0 + k.size * period
    return np.concatenate(beats)


def drum_track(bpm: float | list[float], duration_s: float | list[float] = 12.0, *, sr: int = 48000,
               swing: float = 0.0, jitter_s: float = 0.0, chords: bool = True, hats: bool = True,
               offset_s: float = 0.0, seed: int = 0, level_dbfs: float = -12.0) -> DrumTrack:
    """4/4 drums: kick on beats 1 and 3 (3 softer), snare on 2 and 4, hats on eighths.

    ``swing`` in 0..1/3 delays every off-beat eighth hat by ``swing`` of a beat (1/6 ≈
    triplet swing). ``jitter_s`` moves each hit by a uniform random amount in
    ±jitter_s (the truth beat grid stays exact). A list of tempi with a list of
    durations makes a tempo-step track (each section keeps whole beats). ``chords``
    adds a triad bed changing on each downbeat. Peak level about ``level_dbfs``.
    """
    rng = np.random.default_rng(seed)
    bpms = [float(bpm)] if np.isscalar(bpm) else [float(b) for b in bpm]
    durs = [float(duration_s)] * len(bpms) if np.isscalar(duration_s) else [float(d) for d in duration_s]
    if len(durs) != len(bpms):
        raise ValueError("bpm and duration_s lists must have the same length")
    total = offset_s + sum(durs)
    n = int(round(total * sr))
    beats = _beat_grid(bpms, durs, offset_s)
    idx = np.arange(beats.size)
    periods = np.diff(np.append(beats, beats[-1] + (beats[-1] - beats[-2] if beats.size > 1 else 0.5)))
    pos = idx % 4
    kick_t = beats[(pos == 0) | (pos == 2)]
    kick_g = np.where(pos[(pos == 0) | (pos == 2)] == 0, 1.0, 0.8)
    snare_t = beats[(pos == 1) | (pos == 3)]

    def jit(t: np.ndarray) -> np.ndarray:
        return t + (rng.uniform(-jitter_s, jitter_s, t.size) if jitter_s > 0 else 0.0)

    out = _place(n, jit(kick_t), kick_g, _kick(sr), sr)
    out += _place(n, jit(snare_t), np.ones(snare_t.size), _snare(sr, rng), sr)
    if hats:
        off = beats + periods * (0.5 + swing)
        hat_t = np.concatenate([beats, off])
        hat_g = np.concatenate([np.full(beats.size, 0.6), np.full(beats.size, 0.4)])
        out += _place(n, jit(hat_t), hat_g, _hat(sr, rng), sr)
    downbeats = beats[pos == 0]
    if chords:
        out += _chord_bed(n, downbeats, sr, 0.25)
    out *= db_to_amp(level_dbfs) / max(1e-9, np.max(np.abs(out)))
    return DrumTrack(out.astype(np.float32), sr, beats, downbeats, bpms[0] if len(bpms) == 1 else bpms,
                     4, kick_t, snare_t)


def tempo_step_track(bpm_a: float = 100.0, bpm_b: float = 125.0, section_s: float = 10.0, **kw) -> DrumTrack:
    """Drums that jump from ``bpm_a`` to ``bpm_b`` half-way."""
    return drum_track([bpm_a, bpm_b], [section_s, section_s], **kw)


# ---------------------------------------------------------------------------
# Processing used by tests
# ---------------------------------------------------------------------------


def _rbj_shelf(gain_db: float, f0: float, sr: int, *, high: bool) -> tuple[np.ndarray, np.ndarray]:
    a_ = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    alpha = np.sin(w0) / 2 * np.sqrt(2)  # shelf slope S = 1
    c = np.cos(w0)
    s = 1 if high else -1
    b = np.array([a_ * ((a_ + 1) + s * (a_ - 1) * c + 2 * np.sqrt(a_) * alpha) * 1,
                  -2 * s * a_ * ((a_ - 1) + s * (a_ + 1) * c),
                  a_ * ((a_ + 1) + s * (a_ - 1) * c - 2 * np.sqrt(a_) * alpha)])
    a = np.array([(a_ + 1) - s * (a_ - 1) * c + 2 * np.sqrt(a_) * alpha,
                  2 * s * ((a_ - 1) - s * (a_ + 1) * c),
                  (a_ + 1) - s * (a_ - 1) * c - 2 * np.sqrt(a_) * alpha])
    return b / a[0], a / a[0]


def low_shelf(x: np.ndarray, gain_db: float, f0_hz: float = 150.0, *, sr: int = 48000) -> np.ndarray:
    """RBJ low-shelf filter (gain below ``f0_hz``), along axis 0."""
    b, a = _rbj_shelf(gain_db, f0_hz, sr, high=False)
    return signal.lfilter(b, a, x, axis=0).astype(np.float32)


def peaking_eq(x: np.ndarray, gain_db: float, f0_hz: float = 2500.0, q: float = 0.8, *, sr: int = 48000) -> np.ndarray:
    """RBJ peaking EQ, along axis 0."""
    a_ = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0_hz / sr
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a_, -2 * np.cos(w0), 1 - alpha * a_])
    a = np.array([1 + alpha / a_, -2 * np.cos(w0), 1 - alpha / a_])
    return signal.lfilter(b / a[0], a / a[0], x, axis=0).astype(np.float32)


def compress(x: np.ndarray, *, threshold_db: float = -30.0, ratio: float = 6.0, attack_s: float = 0.005,
             release_s: float = 0.05, makeup_to_peak_db: float | None = -1.0, sr: int = 48000) -> np.ndarray:
    """A look-ahead peak compressor/limiter, then make-up gain to ``makeup_to_peak_db``.

    Level = max |x| over a centred ``attack_s`` window (look-ahead, so transients are
    caught), in dBFS; gain reduction (1 − 1/ratio)·(level − threshold) above the
    threshold, smoothed by a ``release_s`` moving minimum+average (scipy.ndimage);
    then a gain so the peak sits at ``makeup_to_peak_db`` (None: no make-up).
    """
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    mono = np.abs(x) if x.ndim == 1 else np.abs(x).max(axis=1)
    level = maximum_filter1d(mono.astype(np.float64), size=max(1, int(attack_s * sr)))
    level_db = 20 * np.log10(np.maximum(level, 1e-9))
    gr_db = np.minimum(0.0, (threshold_db - level_db) * (1 - 1 / ratio))
    win = max(1, int(release_s * sr))
    gr_db = uniform_filter1d(-maximum_filter1d(-gr_db, size=win), size=win)
    g = 10 ** (gr_db / 20)
    y = x * (g if x.ndim == 1 else g[:, None])
    if makeup_to_peak_db is not None:
        y = y * db_to_amp(makeup_to_peak_db) / max(1e-9, np.max(np.abs(y)))
    return y.astype(np.float32)


def broadcast_voice(x: np.ndarray, sr: int = 48000) -> np.ndarray:
    """A broadcast-style voice chain: 2nd-order 90 Hz high-pass, +6 dB presence peak at
    3 kHz (Q 0.9), +3 dB high shelf at 6 kHz, then a 4:1 compressor at −24 dBFS."""
    b, a = signal.butter(2, 90.0, btype="high", fs=sr)
    y = signal.lfilter(b, a, np.asarray(x, np.float64))
    y = peaking_eq(y, 6.0, 3000.0, 0.9, sr=sr)
    bs, as_ = _rbj_shelf(3.0, 6000.0, sr, high=True)
    y = signal.lfilter(bs, as_, y)
    return compress(y, threshold_db=-24.0, ratio=4.0, sr=sr)


def voice_eq(kind: str):
    """A ``voice_fx`` for :func:`speech_mix`: "plain" (None), "dull" (−6 dB at 2.5 kHz),
    "boost6" / "boost10" (+6 / +10 dB peaking at 2.5 kHz, Q 0.7), "broadcast"."""
    if kind == "plain":
        return None
    if kind == "broadcast":
        return broadcast_voice
    gain = {"dull": -6.0, "boost6": 6.0, "boost10": 10.0}[kind]
    return lambda x, sr: peaking_eq(x, gain, 2500.0, 0.7, sr=sr)


def resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    if sr_from == sr_to:
        return x.astype(np.float32)
    f = Fraction(sr_to, sr_from)
    return signal.resample_poly(x, f.numerator, f.denominator, axis=0).astype(np.float32)


# ---------------------------------------------------------------------------
# Speech
# ---------------------------------------------------------------------------

SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "please meet me at the station at nine tomorrow",
    "colour grading changes the mood of every scene",
    "we measured the loudness of the whole programme",
    "a good edit follows the rhythm of the music",
    "turn left after the bridge and keep going",
]


def espeak(text: str, *, sr: int = 48000, voice: str = "en", speed_wpm: int = 160) -> np.ndarray | None:
    """``text`` spoken by espeak-ng, trimmed to its non-silent part, at ``sr`` (mono float32).

    Returns None when espeak-ng is not installed. The trim uses |x| > 1e-3 (−60 dBFS)
    so the whole array is speech (ground truth = its extent).
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    from scipy.io import wavfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.wav")
        subprocess.run([exe, "-v", voice, "-s", str(speed_wpm), "-w", path, text], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rate, data = wavfile.read(path)
    x = data.astype(np.float32) / 32768.0
    nz = np.flatnonzero(np.abs(x) > 1e-3)
    x = x[nz[0]:nz[-1] + 1]
    return resample(x, rate, sr)


def speech_mix(n_utterances: int = 4, *, sr: int = 16000, gap_s: float = 1.5, lead_s: float = 1.0,
               bed: str | None = None, bed_db: float = -12.0, seed: int = 0, voice_fx=None):
    """Utterances at known offsets over an optional bed: "music" (110 BPM drums and
    chords), "pads" (96 BPM drums under a bright pad), "noise" (pink), "white" (a
    bright noise bed) or None.

    ``voice_fx`` (a function of (audio, sr)) processes each utterance before it is
    mixed (e.g. a presence EQ: the bed is left as it is). Speech is then normalised to
    a −20 dBFS RMS; the bed's RMS sits ``bed_db`` relative to it.
    Returns (audio, [(start_s, end_s), ...]) or None without espeak-ng.
    """
    parts = []
    truth = []
    t = lead_s
    for i in range(n_utterances):
        u = espeak(SENTENCES[i % len(SENTENCES)], sr=sr)
        if u is None:
            return None
        if voice_fx is not None:
            u = np.asarray(voice_fx(u, sr), np.float32)
        u = u * db_to_amp(-20.0) / np.sqrt(np.mean(u ** 2))
        parts.append((t, u))
        truth.append((t, t + u.size / sr))
        t += u.size / sr + gap_s
    n = int(round((t - gap_s + lead_s) * sr))
    out = np.zeros(n, np.float32)
    for start, u in parts:
        i = int(round(start * sr))
        out[i:i + u.size] += u
    if bed is not None:
        if bed == "music":
            b = drum_track(110.0, n / sr + 0.1, sr=sr, seed=seed).audio[:n]
        elif bed == "pads":
            b = pattern_track(96.0, "backbeat", n / sr + 3.0, sr=sr, bed="pad", bed_db=0.0, seed=seed).audio[:n]
        elif bed == "noise":
            b = pink_noise(n / sr, sr=sr, seed=seed)
        elif bed == "white":
            b = white_noise(n / sr, sr=sr, seed=seed)
        else:
            raise ValueError(f"unknown bed {bed!r}")
        b = b * db_to_amp(-20.0 + bed_db) / np.sqrt(np.mean(b ** 2))
        out = out + b
    return out.astype(np.float32), truth


# ---------------------------------------------------------------------------
# Metrics (written here, mir_eval-style)
# ---------------------------------------------------------------------------


def beat_f_measure(estimated_s, reference_s, *, tolerance_s: float = 0.07) -> float:
    """Beat F-measure: one-to-one matches within ±``tolerance_s`` (greedy by distance,
    as mir_eval's bipartite matching for well-separated beats), no trimming."""
    est = np.sort(np.asarray(estimated_s, float))
    ref = np.sort(np.asarray(reference_s, float))
    if est.size == 0 or ref.size == 0:
        return 0.0
    d = np.abs(est[:, None] - ref[None, :])
    pairs = np.argwhere(d <= tolerance_s)
    order = np.argsort(d[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_e: set[int] = set()
    used_r: set[int] = set()
    for i, j in pairs[order]:
        if i in used_e or j in used_r:
            continue
        used_e.add(int(i))
        used_r.add(int(j))
    m = len(used_e)
    if m == 0:
        return 0.0
    p, r = m / est.size, m / ref.size
    return 2 * p * r / (p + r)


def segment_f1(estimated, reference, *, min_iou: float = 0.5) -> float:
    """Segment-level F1: a reference segment counts as found when an unused estimated
    segment overlaps it with intersection-over-union ≥ ``min_iou``."""
    used: set[int] = set()
    hits = 0
    for rs, re in reference:
        for k, (es, ee) in enumerate(estimated):
            if k in used:
                continue
            inter = max(0.0, min(re, ee) - max(rs, es))
            union = max(re, ee) - min(rs, es)
            if union > 0 and inter / union >= min_iou:
                used.add(k)
                hits += 1
                break
    if hits == 0:
        return 0.0
    p, r = hits / len(estimated), hits / len(reference)
    return 2 * p * r / (p + r)


def steady_set(n: int = 8, *, duration_s: float = 12.0, sr: int = 48000, lo: float = 72.0,
               hi: float = 176.0, seed: int = 0) -> list[DrumTrack]:
    """``n`` steady tracks with tempi spread over [lo, hi] BPM, cycling swing (0, 1/6,
    1/3 of a beat), ±10 ms jitter, chords on, music starting 0.3 s in."""
    tempi = np.linspace(lo, hi, n)
    return [drum_track(float(b), duration_s, sr=sr, swing=(k % 3) / 6, jitter_s=0.01, seed=seed + k,
                       offset_s=0.3) for k, b in enumerate(tempi)]


# ---------------------------------------------------------------------------
# The widened beat-tracking set: patterns on a 16th grid, beds, intros
# ---------------------------------------------------------------------------

# Patterns on a 4/4 bar of 16 sixteenth steps (step s sits s/4 of a beat after the bar
# start): {"kick"|"snare"|"hat": ((step, gain), ...)}. ``bpm`` of pattern_track is the
# beat (quarter-note) tempo of the pattern as written here; every pattern has its
# backbeat (snare on alternate beats, or on beat 3 for the half-time feel) written in.
_EIGHTH_HATS = tuple((s, 0.6 if s % 4 == 0 else 0.4) for s in range(0, 16, 2))
_SIXTEENTH_HATS = tuple((s, (0.6, 0.3, 0.45, 0.3)[s % 4]) for s in range(16))
PATTERNS: dict[str, dict[str, tuple[tuple[int, float], ...]]] = {
    # rock/pop backbeat: kick 1 and 3, snare 2 and 4, hats on eighths
    "backbeat": {"kick": ((0, 1.0), (8, 0.8)), "snare": ((4, 1.0), (12, 1.0)), "hat": _EIGHTH_HATS},
    # drum-and-bass two-step: kick on 1 and the "and" of 3, snare on 2 and 4, a ghost
    # snare on the last sixteenth of beat 2; never a kick on beats 2–4
    "dnb": {"kick": ((0, 1.0), (10, 0.9)), "snare": ((4, 1.0), (7, 0.25), (12, 1.0)), "hat": _EIGHTH_HATS},
    # broken beat: kick 1, the "a" of 2 and the "and" of 3; snare 2 and 4; 16th hats
    "broken": {"kick": ((0, 1.0), (7, 0.7), (10, 0.9)), "snare": ((4, 1.0), (12, 1.0), (15, 0.3)),
               "hat": _SIXTEENTH_HATS},
    # half-time feel: kick on 1 (and the "and" of 3), the snare only on beat 3, hats on eighths
    "halftime": {"kick": ((0, 1.0), (10, 0.7)), "snare": ((8, 1.0),), "hat": _EIGHTH_HATS},
    # sparse kicks: one kick a bar, snare 2 and 4, hats on eighths
    "sparse": {"kick": ((0, 1.0),), "snare": ((4, 0.9), (12, 0.9)), "hat": _EIGHTH_HATS},
    # dense 16th hats over a backbeat
    "hats16": {"kick": ((0, 1.0), (8, 0.8)), "snare": ((4, 1.0), (12, 1.0)), "hat": _SIXTEENTH_HATS},
    # four-on-the-floor: kick on every beat, snare/clap 2 and 4, open hat on the off-beats
    "four": {"kick": ((0, 1.0), (4, 1.0), (8, 1.0), (12, 1.0)), "snare": ((4, 0.7), (12, 0.7)),
             "hat": ((2, 0.6), (6, 0.6), (10, 0.6), (14, 0.6))},
}


def _pad(n: int, start_s: float, sr: int, level: float, seed: int) -> np.ndarray:
    """A slow-attack pad: detuned triads (7 partials, 0.6 s attack) changing every 4 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    chord = (np.maximum(t - start_s, 0.0) // 4.0).astype(int) % len(_CHORDS)
    out = np.zeros(n)
    for voice in range(3):
        freqs = np.array([c[voice] for c in _CHORDS])[chord]
        for detune in (0.997, 1.003):
            ph = 2 * np.pi * np.cumsum(freqs * detune) / sr + rng.uniform(0, 2 * np.pi)
            for k in range(1, 8):
                out += np.sin(k * ph) / k
    env = (1 - np.exp(-np.maximum(t - start_s, 0.0) / 0.6)) * (t >= start_s)
    return (out * env * level / 6).astype(np.float32)


def _bed(kind: str | None, n: int, sr: int, downbeats: np.ndarray, start_s: float, seed: int) -> np.ndarray:
    """The bed under the drums (before level matching): chords, pad, pink/white noise or nothing."""
    if kind is None:
        return np.zeros(n)
    if kind == "chords":
        return _chord_bed(n, downbeats, sr, 1.0).astype(np.float64)
    if kind == "pad":
        return _pad(n, start_s, sr, 1.0, seed).astype(np.float64)
    if kind in ("pink", "white"):
        gen = pink_noise if kind == "pink" else white_noise
        return gen(n / sr, sr=sr, seed=seed + 7)[:n].astype(np.float64)
    raise ValueError(f"unknown bed {kind!r}")


def pattern_track(bpm: float, pattern: str = "backbeat", duration_s: float = 12.0, *, sr: int = 48000,
                  swing: float = 0.0, jitter_s: float = 0.0, bed: str | None = "chords", bed_db: float = -6.0,
                  intro_bars: int = 0, intro: str = "pads", offset_s: float = 0.3, seed: int = 0,
                  level_dbfs: float = -12.0, name: str = "") -> DrumTrack:
    """Drums playing ``PATTERNS[pattern]`` at ``bpm`` (beats per minute of the written beat).

    ``swing`` (0..1/3 of a beat) delays the off-beat eighths by ``swing`` beats, and with
    16th hats the odd sixteenths by ``swing``/2 beats. ``jitter_s``: each hit moves by a
    uniform amount in ±jitter_s and its gain by a factor in 0.85–1.0 (seeded). ``bed``:
    "chords" (triads changing each bar), "pad" (slow-attack pad), "pink"/"white" noise, or
    None; its RMS sits ``bed_db`` dB relative to the drums' RMS (over the drums' part).
    ``intro_bars`` bars before the drums hold only the bed ("pads") or only the hats
    ("hats"). Beats start at ``offset_s``.

    Truth (seconds): ``beat_times_s`` are the written beats from where a pulse sounds
    (the first hat of a hats intro, else the first kick), exact (jitter moves hits only);
    ``downbeat_times_s`` the first beat of every bar from there; ``kick_times_s`` /
    ``snare_times_s`` the hits' nominal times. For "halftime" the beat stays the written
    one (its backbeat would sit at bpm/2, below the 70 BPM a dancer claps).
    """
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}")
    if intro not in ("pads", "hats"):
        raise ValueError(f"unknown intro {intro!r}")
    rng = np.random.default_rng(seed)
    period = 60.0 / bpm
    n_bars = int(np.floor(duration_s / (4 * period) + 1e-9))
    n = round((offset_s + n_bars * 4 * period + 0.4) * sr)
    bar_starts = offset_s + np.arange(n_bars) * 4 * period
    sixteenth_swing = len(PATTERNS[pattern]["hat"]) == 16
    out = np.zeros(n)
    nominal: dict[str, np.ndarray] = {}
    for voice in ("kick", "snare", "hat"):
        steps = np.array([s for s, _ in PATTERNS[pattern][voice]], float)
        gains = np.array([g for _, g in PATTERNS[pattern][voice]], float)
        first_bar = 0 if (voice == "hat" and intro == "hats") else intro_bars
        bars = bar_starts[first_bar:]
        shift = np.where(steps % 2 == 1, swing / 2, 0.0) if sixteenth_swing else np.where(steps % 4 == 2, swing, 0.0)
        t = (bars[:, None] + (steps / 4 + shift)[None, :] * period).ravel()
        g = np.tile(gains, bars.size)
        nominal[voice] = t
        if jitter_s > 0:
            t = t + rng.uniform(-jitter_s, jitter_s, t.size)
            g = g * rng.uniform(0.85, 1.0, t.size)
        hit = {"kick": _kick(sr), "snare": _snare(sr, rng), "hat": _hat(sr, rng)}[voice]
        out += _place(n, t, g, hit, sr)
    beats_all = offset_s + np.arange(n_bars * 4) * period
    first = 0 if intro == "hats" else intro_bars
    drums_part = slice(int(bar_starts[min(intro_bars, n_bars - 1)] * sr), n)
    drum_rms = np.sqrt(np.mean(out[drums_part] ** 2))
    b = _bed(bed, n, sr, bar_starts, offset_s, seed)
    if bed is not None:
        b *= drum_rms * db_to_amp(bed_db) / max(1e-12, np.sqrt(np.mean(b[drums_part] ** 2)))
    out += b
    out *= db_to_amp(level_dbfs) / max(1e-9, np.max(np.abs(out)))
    return DrumTrack(out.astype(np.float32), sr, beats_all[first * 4:], bar_starts[first:], float(bpm), 4,
                     np.sort(nominal["kick"]), np.sort(nominal["snare"]), name or f"{pattern}-{bpm:g}")


def widened_set(*, sr: int = 48000, duration_s: float = 12.0, subset: bool = False,
                variant: int = 0) -> list[DrumTrack]:
    """The widened steady set (seeded, deterministic): every pattern of :data:`PATTERNS`
    over its tempo range, straight and swung, with chords, pads, pink and white noise beds,
    and pads-only / hats-only intros (the intro comes on top of ``duration_s``).
    ``subset``: every 4th track (a representative sample for fast tests); the full set is
    for bench/audio.py. ``variant`` > 0 gives a held-out set of the same kinds: tempi
    moved by 2.5·variant BPM (wrapped round inside each kind's range), other seeds, and
    the swing, bed and bed level cycles shifted by ``variant``.

    Half-time feels stop at 135 BPM: from 140 on their backbeat (snare on 3) sits at ≥ 70
    BPM, which a dancer claps, so the beat is that level, not the written one."""
    specs: list[dict] = []
    beds = ("chords", "pad", "pink", "white", None)

    def add(pattern: str, tempi, **kw) -> None:
        tempi = [float(b) for b in tempi]
        lo, width = min(tempi), max(tempi) - min(tempi) + 2.5
        for bpm in tempi:
            k = len(specs) + variant
            spec = {"pattern": pattern, "bpm": lo + (bpm - lo + 2.5 * variant) % width,
                    "swing": (0.0, 1 / 6, 0.0, 1 / 3)[k % 4] if pattern != "dnb" else (0.0, 0.0, 1 / 12)[k % 3],
                    "bed": beds[k % len(beds)], "bed_db": (-6.0, -12.0, -18.0)[k % 3], "jitter_s": 0.008,
                    "seed": 1000 + 100 * variant + len(specs)}
            spec.update(kw)
            specs.append(spec)

    add("backbeat", range(70, 181, 10))
    add("four", range(118, 135, 4))
    add("dnb", range(160, 191, 5))
    add("broken", range(160, 191, 10))
    add("halftime", range(85, 136, 10))
    add("sparse", range(80, 171, 15))
    add("hats16", range(70, 131, 10))
    add("backbeat", (96, 128, 150, 174), intro_bars=2, intro="pads", bed="pad")
    add("backbeat", (100, 140, 165), intro_bars=2, intro="hats", bed="chords")
    add("dnb", (172, 186), intro_bars=2, intro="hats", bed="pink", bed_db=-12.0)
    chosen = specs[::4] if subset else specs
    out = []
    for s in chosen:
        s = dict(s)
        bpm, pattern = s.pop("bpm"), s.pop("pattern")
        tag = f"{pattern}-{bpm:g}-sw{s['swing']:.2f}-{s['bed']}{'' if s['bed'] is None else int(s['bed_db'])}"
        length = duration_s
        if s.get("intro_bars"):
            tag += f"-intro-{s['intro']}"
            length += s["intro_bars"] * 4 * 60.0 / bpm  # the intro comes on top of duration_s of drums
        out.append(pattern_track(bpm, pattern, length, sr=sr, name=tag, **s))
    return out
