"""Beats, tempo, downbeats and music presence (librosa on a fixed analysis grid).

Analysis grid: mono resampled to 22050 Hz (soxr), STFT n_fft 2048, hop 256 (11.6 ms),
96 mel bands up to 11025 Hz, log power (dB). Onset strength = mean positive log-mel
flux (librosa ``onset_strength``); band onsets use the mel bands whose centres lie in
bass (< 150 Hz), mid (150–4000 Hz) and treble (≥ 4000 Hz), each the mean positive flux
of its bands, in dB per frame (so bands are comparable without normalisation).
Frames quieter than −60 dBFS (RMS) contribute no onset. The flux of a centred STFT
frame peaks while a percussive onset is still entering the 93 ms window, about 23 ms
before it sounds; the envelope is therefore delayed by ONSET_DELAY_FRAMES = 2 frames
(23.2 ms), calibrated once on synthetic kick/snare/hat onsets (median beat error after
compensation within ±3 ms at 98–170 BPM).

Metrical level rule (stock estimators land at half or double tempo):
1. librosa's tempogram estimate T0 (log-normal prior at 120 BPM) is folded by octaves
   into the range of written tempi of typical music, [70, 189) BPM.
2. Beats are tracked at T. On the low+mid band onset (kick and snare; hats excluded)
   we compare the median strength at the beats (on) with that at the midpoints
   between beats (mid), and the median strength of even against odd beats.
   - mid ≥ 0.5·on and 2T ≤ 200: the midpoints carry kicks/snares → the beat is twice
     as fast (T := 2T).
   - otherwise, if min(even, odd) < 0.35·max(even, odd) and T/2 ≥ 60: every other beat
     carries only hats → the beat is half as fast (T := T/2).
   The beat level is thus the level at which every beat carries a low/mid onset and the
   off-beats do not — the kick/snare backbeat convention of popular music.
3. The reported tempo is 60 / P with P the median over the track of the 8-beat mean
   inter-beat interval of the tracked beats (frame quantisation / 8 ≈ 0.4 % at 180 BPM).
4. A local tempo curve (tempogram, octave-aligned to T, 3 s median filter) that moves
   more than 4 % from T for at least 3 s switches beat tracking to librosa's
   time-varying tempo (tempo steps, rubato).

Downbeats: for each beat an accent = z(bass onset at the beat) + z(chroma change at the
beat: cosine distance of the mean chroma over the beat before and after). For bar
lengths m ∈ {2, 3, 4} and phases p the contrast is mean(accent at i ≡ p mod m) −
mean(accent elsewhere); the bar length with the largest contrast wins, 4 preferred over
2 when within 15 % (4/4 is the common case); downbeats are the beats of the best phase.
Needs ≥ 8 beats, else None.

Per-beat ``confidence`` = onset strength at the beat / 95th percentile of the onset
strength over the track, clipped to 0–1; ``frequency`` = the band (bass/mid/treble, as
above) whose energy grows most at the beat (linear mel power added over 2 frames): a
whole-band energy jump, so a kick under a hi-hat is bass, a snare under a hi-hat mid,
a hi-hat alone treble.

Music presence (documented detector, no learned model):
  pulse clarity C = normalised autocorrelation of the (mean-removed) onset strength at
  the beat period (0–1); tonal share S = share of active frames, outside the speech
  segments found by the VAD, whose 150 Hz–4 kHz energy lies mostly (≥ 50 %) in spectral
  peaks ≥ 10 dB above the local (31-bin) mean of the dB spectrum — held notes and
  chords; noise of any colour almost never has such peaks (P < 0.4 % per bin).
  music_present = active and (C ≥ 0.30 or S ≥ 0.30). (Below 150 Hz a bass shelf on
  noise would look like a peak, so that range is left out.) Tempo and beats are only
  reported for music whose pulse clarity is ≥ 0.15 (a held chord has no tempo). Silence → False; speech alone
  (its voiced frames are inside speech segments, no steady pulse) → False; noise
  (no peaks, random onsets) → False.
  ``tempo_confidence`` = C.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ANALYSIS_SR = 22050
HOP = 256
N_FFT = 2048
N_MELS = 96
BASS_HZ = 150.0
TREBLE_HZ = 4000.0
TEMPO_RANGE = (70.0, 180.0)
SILENCE_DBFS = -60.0
PULSE_MIN = 0.30
SUSTAIN_MIN = 0.30
PEAK_DB = 10.0
TEMPO_MIN_PULSE = 0.15
BANDS = ("bass", "mid", "treble")
ONSET_DELAY_FRAMES = 2  # onset latency compensation, see module doc
DYNAMIC_RANGE_DB = 80.0  # log-mel floor below the loudest bin, dB
MIN_ACTIVE_SHARE = 0.05  # share of frames above SILENCE_DBFS for any pulse to be measured
DOUBLE_MID_SHARE = 0.5  # off-beat low/mid onsets ≥ this share of on-beat ones → double the tempo
HALVE_ALT_SHARE = 0.35  # every other beat's low/mid onset under this share of the others → halve
MAX_DOUBLED_BPM = 200.0  # doubling never goes above this tempo
MIN_HALVED_BPM = 60.0  # halving never goes below this tempo
LOCAL_TEMPO_SMOOTH_S = 3.0  # median filter of the local tempo curve, seconds
TEMPO_CHANGE_SHARE = 0.04  # local tempo this far from the global one counts as a change
TEMPO_CHANGE_MIN_S = 3.0  # ... when it lasts this long, seconds


@dataclass
class BeatResult:
    """Beat analysis. Times in seconds; None where not measurable."""

    tempo_bpm: float | None
    tempo_confidence: float | None
    beat_times_s: np.ndarray
    downbeat_times_s: np.ndarray
    beats_per_bar: int | None
    beat_confidence: np.ndarray
    beat_band: list[str]
    music_present: bool | None
    pulse_clarity: float | None = None
    tonal_sustain: float | None = None
    debug: dict = field(default_factory=dict)


def _empty(music: bool | None) -> BeatResult:
    return BeatResult(None, None, np.zeros(0), np.zeros(0), None, np.zeros(0), [], music)


def to_analysis_rate(mono: np.ndarray, *, sr: int) -> np.ndarray:
    """Mono float32 at :data:`ANALYSIS_SR` (soxr HQ)."""
    if sr <= 0:
        raise ValueError(f"sr must be > 0, got {sr}")
    x = np.asarray(mono, np.float32)
    if sr == ANALYSIS_SR:
        return x
    import soxr

    return soxr.resample(x, sr, ANALYSIS_SR, quality="HQ").astype(np.float32)


def _band_channels(n_mels: int) -> list[slice]:
    import librosa

    centres = librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=ANALYSIS_SR / 2)[1:-1]
    b = int(np.searchsorted(centres, BASS_HZ))
    t = int(np.searchsorted(centres, TREBLE_HZ))
    return [slice(0, max(b, 1)), slice(max(b, 1), t), slice(t, n_mels)]


def _at(env: np.ndarray, frames: np.ndarray, radius: int = 2) -> np.ndarray:
    """max of env within ±radius frames of each frame index."""
    if frames.size == 0:
        return np.zeros(0)
    idx = np.clip(np.asarray(frames, int)[:, None] + np.arange(-radius, radius + 1)[None, :], 0, env.size - 1)
    return env[idx].max(axis=1)


def _track(env: np.ndarray, bpm) -> np.ndarray:
    import librosa

    _, beats = librosa.beat.beat_track(onset_envelope=env, sr=ANALYSIS_SR, hop_length=HOP, bpm=bpm,
                                       tightness=100, trim=False, units="frames")
    return _trim(np.asarray(beats, int), env)


def _trim(beats: np.ndarray, env: np.ndarray) -> np.ndarray:
    """Drop leading/trailing beats that have no onset (< 0.3 × the median onset strength
    at beats) or sit off the grid (their interval > 15 % from the next interval inwards):
    the DP extrapolates the grid into silence and fades."""
    if beats.size < 4:
        return beats
    strength = _at(env, beats)
    med = float(np.median(strength))

    def bad(i: int, step: int) -> bool:  # beat i; step +1 from the start, -1 from the end
        d1 = abs(beats[i + step] - beats[i])
        d2 = abs(beats[i + 2 * step] - beats[i + step])
        return strength[i] < 0.3 * med or abs(d1 / max(d2, 1) - 1) > 0.15

    lo, hi = 0, beats.size - 1
    while hi - lo >= 3 and bad(lo, 1):
        lo += 1
    while hi - lo >= 3 and bad(hi, -1):
        hi -= 1
    return beats[lo:hi + 1]


def _pulse_clarity(env: np.ndarray, period_frames: float) -> float:
    x = env - env.mean()
    n = x.size
    if n < 4 * period_frames or not np.any(x):
        return 0.0
    f = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(np.abs(f) ** 2)[:n]
    ac = ac / ac[0]
    lag = int(round(period_frames))
    lo, hi = max(1, lag - 2), min(n - 1, lag + 3)
    # unbiased: correct for the shrinking overlap at lag L
    return float(np.clip(np.max(ac[lo:hi] * n / (n - np.arange(lo, hi))), 0.0, 1.0))


def _robust_period(beat_times: np.ndarray) -> float | None:
    if beat_times.size < 3:
        return None
    k = min(8, beat_times.size - 1)
    spans = (beat_times[k:] - beat_times[:-k]) / k
    return float(np.median(spans))


@dataclass
class _Onsets:
    """The onset features of one track on the analysis grid (frames of HOP samples)."""

    power: np.ndarray  # |STFT|², (1 + N_FFT/2, frames)
    mel: np.ndarray  # mel power, (N_MELS, frames)
    active: np.ndarray  # frame louder than SILENCE_DBFS, (frames,)
    env: np.ndarray  # onset strength, latency-compensated and gated, (frames,)
    bands: np.ndarray  # bass/mid/treble onset strength, (3, frames)

    @property
    def lowmid(self) -> np.ndarray:
        """Kick and snare onset strength (bass + mid; hats excluded)."""
        return self.bands[0] + self.bands[1]


def analyse_beats(mono: np.ndarray, *, sr: int, speech_segments_s: list[tuple[float, float]] | None = None,
                  control=None) -> BeatResult:
    """Tempo, beats, downbeats, per-beat band/confidence and music presence of ``mono``.

    ``mono`` is float (n,) at ``sr`` Hz. Empty or silent input → no beats,
    ``music_present`` False (measured). ``speech_segments_s`` (from the VAD) are left out
    of the tonal test of music presence. See the module docstring for every rule.
    """
    from ..control import ensure

    control = ensure(control)
    y = to_analysis_rate(mono, sr=sr)
    if y.size < ANALYSIS_SR:  # < 1 s: nothing to say about a pulse
        active = y.size > 0 and float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) > 10 ** (SILENCE_DBFS / 20)
        return _empty(False if not active else None)
    on = _onsets(y, control)
    if on is None:
        return _empty(False)
    control.check()
    control.progress(0.3)
    level = _metrical_level(on)
    if level is None:
        return _empty(False)
    t0, tempo, decision, beats = level
    control.check()
    control.progress(0.6)
    beats, decision = _follow_tempo_changes(on.env, tempo, beats, decision)
    import librosa

    fps = ANALYSIS_SR / HOP
    times = librosa.frames_to_time(beats, sr=ANALYSIS_SR, hop_length=HOP)
    period = _robust_period(times)
    pulse = _pulse_clarity(on.env, (60.0 / tempo) * fps)
    tempo_out = 60.0 / period if period else tempo
    control.check()
    control.progress(0.8)
    sustain = _tonal_share(on.power[:, : on.active.size], on.active, speech_segments_s)
    music = bool(pulse >= PULSE_MIN or sustain >= SUSTAIN_MIN)
    dbg = {"t0": t0, "decision": decision, "pulse_clarity": pulse, "tonal_sustain": sustain}
    if not music or beats.size < 2 or pulse < TEMPO_MIN_PULSE:
        r = _empty(music)
        r.pulse_clarity, r.tonal_sustain, r.debug = pulse, sustain, dbg
        return r
    return _beat_grid(on, beats, times, tempo_bpm=float(tempo_out), pulse=pulse, sustain=sustain, debug=dbg)


def _onsets(y: np.ndarray, control) -> _Onsets | None:
    """STFT, mel bands and the onset envelopes of ``y`` (at ANALYSIS_SR); None when (almost) silent."""
    import librosa

    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    control.check()
    mel = librosa.feature.melspectrogram(S=S, sr=ANALYSIS_SR, n_mels=N_MELS)
    rms = librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP)[0]
    active = 20 * np.log10(np.maximum(rms, 1e-10)) > SILENCE_DBFS
    active = active[: mel.shape[1]]
    if active.mean() < MIN_ACTIVE_SHARE:
        return None
    logmel = librosa.power_to_db(mel, ref=1.0, top_db=None)
    logmel = np.maximum(logmel, logmel.max() - DYNAMIC_RANGE_DB)
    env = librosa.onset.onset_strength(S=logmel, sr=ANALYSIS_SR, hop_length=HOP, center=False)
    bands = librosa.onset.onset_strength_multi(S=logmel, sr=ANALYSIS_SR, hop_length=HOP, center=False,
                                                channels=_band_channels(N_MELS))
    env = np.concatenate([np.zeros(ONSET_DELAY_FRAMES), env])[: env.size]
    bands = np.concatenate([np.zeros((3, ONSET_DELAY_FRAMES)), bands], axis=1)[:, : env.size]
    gate = np.ones_like(env)
    gate[: active.size] = active
    return _Onsets(S, mel, active, env * gate, bands * gate[None, :])


def _metrical_level(on: _Onsets) -> tuple[float, float, str, np.ndarray] | None:
    """(librosa's estimate, the tempo at the chosen metrical level, how it was chosen, beats
    tracked at it) by rules 1–2 of the module docstring; None without an estimate."""
    import librosa

    t0 = float(librosa.feature.tempo(onset_envelope=on.env, sr=ANALYSIS_SR, hop_length=HOP)[0])
    if not np.isfinite(t0) or t0 <= 0:
        return None
    tempo = t0
    while tempo < TEMPO_RANGE[0]:
        tempo *= 2
    while tempo >= TEMPO_RANGE[1] * 1.05:
        tempo /= 2
    decision = "folded"
    beats = _track(on.env, tempo)
    if beats.size >= 4:
        lowmid = on.lowmid
        mids = ((beats[:-1] + beats[1:]) // 2).astype(int)
        at_beat = float(np.median(_at(lowmid, beats)))
        mid = float(np.median(_at(lowmid, mids)))
        even = float(np.median(_at(lowmid, beats[0::2])))
        odd = float(np.median(_at(lowmid, beats[1::2])))
        if at_beat > 0 and mid >= DOUBLE_MID_SHARE * at_beat and 2 * tempo <= MAX_DOUBLED_BPM:
            tempo, decision = 2 * tempo, "doubled"
        elif max(even, odd) > 0 and min(even, odd) < HALVE_ALT_SHARE * max(even, odd) and tempo / 2 >= MIN_HALVED_BPM:
            tempo, decision = tempo / 2, "halved"
        if decision != "folded":
            beats = _track(on.env, tempo)
    return t0, tempo, decision, beats


def _follow_tempo_changes(env: np.ndarray, tempo: float, beats: np.ndarray, decision: str) -> tuple[np.ndarray, str]:
    """Rule 4: a local tempo (octave-aligned to ``tempo``) that moves more than
    TEMPO_CHANGE_SHARE for TEMPO_CHANGE_MIN_S re-tracks the beats with the time-varying tempo."""
    import librosa
    from scipy.ndimage import median_filter

    local = librosa.feature.tempo(onset_envelope=env, sr=ANALYSIS_SR, hop_length=HOP, aggregate=None)
    local = np.asarray(local, float).reshape(-1)[: env.size]
    local = local * 2.0 ** -np.round(np.log2(np.maximum(local, 1e-3) / tempo))
    fps = ANALYSIS_SR / HOP
    local = median_filter(local, size=max(3, int(LOCAL_TEMPO_SMOOTH_S * fps) | 1), mode="nearest")
    varying = np.abs(local / tempo - 1) > TEMPO_CHANGE_SHARE
    run = np.convolve(varying.astype(float), np.ones(int(TEMPO_CHANGE_MIN_S * fps)), mode="same")
    if run.max() >= int(TEMPO_CHANGE_MIN_S * fps) * 0.99:
        return _track(env, local), decision + "+varying"
    return beats, decision


def _beat_grid(on: _Onsets, beats: np.ndarray, times: np.ndarray, *, tempo_bpm: float, pulse: float, sustain: float,
               debug: dict) -> BeatResult:
    """Per-beat confidence and band, and the downbeats, of a track with a tempo."""
    import librosa

    p95 = float(np.percentile(on.env[on.env > 0], 95)) if np.any(on.env > 0) else 1.0
    conf = np.clip(_at(on.env, beats, 1) / max(p95, 1e-9), 0.0, 1.0)
    labels = _band_labels(on.mel, beats)
    chroma = librosa.feature.chroma_stft(S=on.power, sr=ANALYSIS_SR, n_fft=N_FFT)
    bpb, downbeats = _downbeats(beats, on.bands[0], chroma)
    return BeatResult(
        tempo_bpm=tempo_bpm,
        tempo_confidence=pulse,
        beat_times_s=times,
        downbeat_times_s=times[downbeats] if downbeats is not None else np.zeros(0),
        beats_per_bar=bpb,
        beat_confidence=conf,
        beat_band=labels,
        music_present=True,
        pulse_clarity=pulse,
        tonal_sustain=sustain,
        debug=debug,
    )


def _tonal_share(power: np.ndarray, active: np.ndarray, speech_segments_s) -> float:
    """Share of active frames outside speech whose 150 Hz–4 kHz energy is mostly in spectral
    peaks (bins ≥ 10 dB above the 31-bin local mean of the dB spectrum)."""
    from scipy.ndimage import uniform_filter1d

    if not active.any():
        return 0.0
    lo = int(np.ceil(BASS_HZ * N_FFT / ANALYSIS_SR))
    top = int(4000 * N_FFT / ANALYSIS_SR)
    p = power[lo:top] + 1e-12
    db = 10 * np.log10(p)
    peaks = db - uniform_filter1d(db, 31, axis=0, mode="nearest") >= PEAK_DB
    peak_share = (p * peaks).sum(axis=0) / p.sum(axis=0)
    tonal = (peak_share >= 0.5) & active
    if speech_segments_s:
        t = np.arange(active.size) * HOP / ANALYSIS_SR
        for a, b in speech_segments_s:
            tonal &= ~((t >= a) & (t < b))
    return float(tonal.sum() / active.sum())


def _band_labels(mel: np.ndarray, beats: np.ndarray) -> list[str]:
    """The band whose energy grows most (linear power over 2 frames, max within ±2
    frames of the beat, onset latency applied) at each beat."""
    energy = np.stack([mel[sl].sum(axis=0) for sl in _band_channels(mel.shape[0])])
    rise = np.zeros_like(energy)
    rise[:, 2:] = np.maximum(0.0, energy[:, 2:] - energy[:, :-2])
    rise = np.concatenate([np.zeros((3, ONSET_DELAY_FRAMES)), rise], axis=1)[:, : energy.shape[1]]
    at = np.stack([_at(rise[k], beats, 2) for k in range(3)])
    return [BANDS[i] for i in np.argmax(at, axis=0)]


def _z(x: np.ndarray) -> np.ndarray:
    s = x.std()
    return (x - x.mean()) / s if s > 1e-12 else np.zeros_like(x)


def _downbeats(beats: np.ndarray, bass_env: np.ndarray, chroma: np.ndarray) -> tuple[int | None, np.ndarray | None]:
    """(beats_per_bar, indices of downbeats in ``beats``) from accent contrast."""
    if beats.size < 8:
        return None, None
    n = chroma.shape[1]
    b = np.clip(beats, 1, n - 1)
    cs = np.concatenate([np.zeros((chroma.shape[0], 1)), np.cumsum(chroma, axis=1)], axis=1)
    prev = np.concatenate([[0], b[:-1]])
    nxt = np.concatenate([b[1:], [n]])
    before = (cs[:, b] - cs[:, prev]) / np.maximum(b - prev, 1)
    after = (cs[:, nxt] - cs[:, b]) / np.maximum(nxt - b, 1)
    cos = (before * after).sum(0) / np.maximum(np.linalg.norm(before, axis=0) * np.linalg.norm(after, axis=0), 1e-12)
    accent = _z(_at(bass_env, beats, 1)) + _z(1.0 - cos)
    idx = np.arange(beats.size)
    best: dict[int, tuple[float, int]] = {}
    for m in (2, 3, 4):
        scores = []
        for p in range(m):
            sel = idx % m == p
            scores.append(accent[sel].mean() - accent[~sel].mean())
        best[m] = (float(max(scores)), int(np.argmax(scores)))
    m = max(best, key=lambda k: best[k][0])
    if m == 2 and best[4][0] >= 0.85 * best[2][0]:
        m = 4
    if best[m][0] <= 0:
        return None, None
    return m, idx[idx % m == best[m][1]]
