"""Audio analysis of a template: loudness, beats/tempo, speech and the audio style.

Entry point: :func:`analyse_audio` (``AudioTrack`` from ``media.decode_audio`` → an
:class:`AudioAnalysis` whose ``fields()`` are the Style DNA's ``tempo_bpm``,
``detected_beats``, ``beats``, ``loudness`` and ``audio_style``). The pieces live in
:mod:`.loudness` (BS.1770-4 / EBU 3342 / true peak), :mod:`.beats` (librosa beat
tracking, metrical level, downbeats, music presence) and :mod:`.speech` (Silero VAD).

librosa's kernels are compiled by numba on first use: a cold process spends tens of
seconds in imports and compilation before its first analysis (bench/audio.py measures
it). The service sets ``NUMBA_CACHE_DIR`` to a folder in its instance folder so later
processes load what numba can cache, and calls :func:`warm_up` once per worker at
start so no job pays the rest.

Audio style maps (all documented constants below):

- ``normalization_level`` = true peak as linear amplitude, clipped to 0–1.
- ``compression_ratio`` (≥ 1.0): a compressor of ratio R divides level excursions
  above its threshold by R, so R ≈ reference dynamics / measured dynamics. Two
  dynamics are measured: the macro one, peak-to-loudness ratio PLR = true peak (dBTP)
  − integrated loudness (LUFS), and the micro one, peak-to-short-term-loudness ratio
  PSR = median over the gated 400 ms blocks (gates −70 LUFS and −20 LU) of block sample
  peak (dBFS) − block loudness (LUFS). References for uncompressed material: PLR_REF
  = 18 dB (dynamic, unlimited programme; limited pop masters sit at 8–10 dB) and
  PSR_REF = 14 dB (meters rate PSR < 8 dB as heavily compressed, > 12–14 as open).
  compression_ratio = max(1, PLR_REF/PLR · PSR_REF/PSR), capped at 20, two decimals;
  None when silent. A limited master (PLR 8, PSR 7) reads ≈ 4.5; a steady sine (PLR
  and PSR ≈ 3 dB) reads as heavily compressed, which for a dynamics measure it is.
- ``bass_boost`` (0–100): Welch spectrum of the mono mix; low share = energy 20–150 Hz
  over energy 150 Hz–16 kHz (or Nyquist), compared in dB with pink noise (equal energy
  per octave), whose share is ln(150/20)/ln(16000/150). bass_boost = clip(excess_dB ·
  100/12, 0, 100): pink or thinner → 0, +12 dB of extra low end → 100. None when silent.
- ``enhance_speech`` (speech present and its speech band emphasised): a measurement of
  the voice, not of the mix. Speech covers ≥ MIN_SPEECH_SHARE (5 %) of the track (else
  False), and the voice's presence ratio R = energy in the third-octave bands 2–4 kHz
  (1778–4467 Hz) over that in the bands 160–800 Hz (141–891 Hz) reaches
  PRESENCE_LOUD_REF_DB + PRESENCE_MARGIN_DB = −8.2 + 2.0 = −6.2 dB.
  The voice's spectrum: mean power spectrum (64 ms Hann frames at 16 kHz, hop 32 ms) of
  the frames wholly inside the VAD's speech segments, minus that of the bed — the frames
  at least BED_GUARD_S (0.15 s) from any segment — when there is ≥ MIN_BED_S (0.5 s) of
  it (speech all through: no compensation). A bed ducked under the voice (produced
  reels lower the music while someone talks) is scaled by its level under speech, read
  in DUCK_BAND_HZ = 20–80 Hz where no voice has energy (adult fundamentals are ≥ 85 Hz):
  gain = min(1, speech-frame power / bed power there). A bed is stationary enough over a reel for
  its long-term spectrum to come off: on espeak-ng voices over music, pads, pink and
  white noise at −10..−20 dB the compensated R reads within 0.2 dB of the voice alone,
  where the raw mix read up to 1.3 dB brighter (white bed at −10 dB). When the voice is
  not at least SPEECH_OVER_BED_MIN_DB (−3 dB) against the bed in both bands, R cannot be
  measured and ``enhance_speech`` is None.
  Derivation of the threshold: there is no record of the talker's own spectrum, so the
  reference is the brightest natural voice: ANSI S3.5-1997 Table 3 standard speech
  spectra (band level = spectrum level + 10·log10 of the band width) give R = −14.3 dB
  at normal, −11.3 raised, −8.2 loud and −3.8 shouted vocal effort. A presenter talks at
  most loudly; a voice brighter than loud effort by more than the content spread of R
  (the sentence-to-sentence SD of R for one talker is 1.6 dB, so ±0.8 dB pooled over 4
  utterances; margin 2 dB ≈ 2.5 SD) has had its presence band emphasised. Measured on
  6 espeak-ng voices (en, en-us, en+f3, en+m3, de, fr; clean, over music at −10 dB and
  white noise at −15 dB; bench/audio.py sweeps the en voice over every bed and level):
  un-EQ'd voices −10.2..−7.5 dB → False, −6 dB at 2.5 kHz −14.9..−12.2 → False, +6 dB
  at 2.5 kHz −5.3..−2.7 and +10 dB −2.2..+0.3 → True, a broadcast chain (90 Hz high-pass, +6 dB at 3 kHz, +3 dB
  shelf at 6 kHz, 4:1 compressor) −5.9..−3.8 → True. A shouted unprocessed voice also
  reads True (its band is emphasised, by the voice). False when there is no speech;
  None without audio.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import beats as beats_mod
from . import loudness as loud_mod
from . import speech as speech_mod
from ..control import Control, ensure
from ..models import ModelRegistry

PLR_REF_DB = 18.0
PSR_REF_DB = 14.0
MAX_RATIO = 20.0
BASS_HZ = 150.0
BASS_FULL_SCALE_DB = 12.0
PRESENCE_LOW_HZ = (141.0, 891.0)  # third-octave bands 160–800 Hz (IEC 61260 edges)
PRESENCE_HIGH_HZ = (1778.0, 4467.0)  # third-octave bands 2–4 kHz
PRESENCE_LOUD_REF_DB = -8.2  # ANSI S3.5-1997 Table 3, loud vocal effort: 2–4 kHz bands vs 160–800 Hz bands, dB
PRESENCE_MARGIN_DB = 2.0  # above the loud-effort voice, dB (module doc)
PRESENCE_FRAME = 1024  # STFT frame at 16 kHz (64 ms), samples
BED_GUARD_S = 0.15  # bed frames lie at least this far from any speech segment, seconds
MIN_BED_S = 0.5  # less bed than this (speech all through): no bed compensation, seconds
SPEECH_OVER_BED_MIN_DB = -3.0  # the voice's band energy must reach this relative to the bed's, dB
DUCK_BAND_HZ = (20.0, 80.0)  # under a voice's fundamental: gives the level of a ducked bed under speech, Hz
MIN_SPEECH_SHARE = 0.05


@dataclass
class AudioAnalysis:
    """Measured audio of one track, seconds and dB; None where not measurable.

    The Style DNA's audio fields are written from it by :func:`clipzy.engine.dna.audio_fields`.
    """

    tempo_bpm: float | None = None
    alternative_tempo_bpm: float | None = None  # the other metrical level (beats module doc, rule 5)
    alternative_beat_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beat_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    downbeat_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beats_per_bar: int | None = None
    tempo_confidence: float | None = None
    beat_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beat_band: list[str] = field(default_factory=list)
    integrated_lufs: float | None = None
    loudness_range_lu: float | None = None
    true_peak_dbtp: float | None = None
    speech_ratio: float | None = None
    music_present: bool | None = None
    normalization_level: float | None = None
    compression_ratio: float | None = None
    bass_boost: float | None = None
    enhance_speech: bool | None = None
    presence_db: float | None = None  # the voice's presence ratio R (module doc), dB
    speech_segments_s: list[tuple[float, float]] = field(default_factory=list)
    speech_detector: str = "none"
    duration_s: float = 0.0
    timings_s: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Style maps
# ---------------------------------------------------------------------------


def compression_ratio(res: loud_mod.LoudnessResult) -> float | None:
    """Estimated compression ratio (≥ 1) from PLR and PSR (module doc); None if silent."""
    if res.integrated_lufs is None or res.true_peak_dbtp is None:
        return None
    plr = max(res.true_peak_dbtp - res.integrated_lufs, 0.5)
    mom = res.momentary_lufs[: res.momentary_peak_db.size]
    gated = mom > loud_mod.ABS_GATE_LUFS
    if gated.sum() < 1:
        return None
    power_mean = 10 * np.log10(np.mean(10 ** (mom[gated] / 10)))
    gated &= mom >= power_mean + loud_mod.LRA_REL_GATE_LU
    psr = max(float(np.median(res.momentary_peak_db[gated] - mom[gated])), 0.5)
    ratio = (PLR_REF_DB / plr) * (PSR_REF_DB / psr)
    return float(min(MAX_RATIO, max(1.0, ratio)))


def _band_energy(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    sel = (f >= lo) & (f < hi)
    return float(p[sel].sum())


def bass_boost(mono: np.ndarray, *, sr: int) -> float | None:
    """0–100 low-band (20–150 Hz) excess over pink noise (module doc); None if silent."""
    from scipy import signal

    if mono.size < 1024 or not np.any(mono):
        return None
    nper = min(8192, 1 << int(np.log2(mono.size)))
    f, p = signal.welch(mono, fs=sr, nperseg=nper)
    top = min(16000.0, sr / 2)
    low = _band_energy(f, p, 20.0, BASS_HZ)
    rest = _band_energy(f, p, BASS_HZ, top)
    if low + rest <= 0 or rest <= 0:
        return None
    ref = np.log(BASS_HZ / 20.0) / np.log(top / BASS_HZ)
    excess = 10 * np.log10(max(low, 1e-30) / rest / ref)
    return float(np.clip(excess * 100.0 / BASS_FULL_SCALE_DB, 0.0, 100.0))


def _frame_power(x: np.ndarray, *, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin frequencies Hz, frame start times s, |STFT|² (bins, frames)) of ``x``: Hann
    frames of PRESENCE_FRAME samples, hop PRESENCE_FRAME/2."""
    from scipy import signal

    hop = PRESENCE_FRAME // 2
    f, t, z = signal.stft(np.asarray(x, np.float64), fs=sr, window="hann", nperseg=PRESENCE_FRAME,
                          noverlap=PRESENCE_FRAME - hop, boundary=None, padded=False)
    return f, t - PRESENCE_FRAME / (2 * sr), np.abs(z) ** 2


def _speech_and_bed_frames(starts_s: np.ndarray, frame_s: float, segments_s: list[tuple[float, float]],
                           duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(frames wholly inside a speech segment, frames at least BED_GUARD_S from every one)."""
    grid = 0.01  # 10 ms occupancy grid, seconds
    n = int(np.ceil(duration_s / grid)) + 2
    speech = np.zeros(n, bool)
    near = np.zeros(n, bool)
    for a, b in segments_s:  # a few segments, not samples
        speech[int(np.ceil(a / grid)):int(b / grid)] = True
        near[max(0, int((a - BED_GUARD_S) / grid)):int(np.ceil((b + BED_GUARD_S) / grid))] = True
    lo = np.clip((starts_s / grid).astype(int), 0, n - 1)
    hi = np.clip(((starts_s + frame_s) / grid).astype(int), 0, n - 1)
    c_speech = np.concatenate([[0], np.cumsum(speech)])
    c_near = np.concatenate([[0], np.cumsum(near)])
    inside = (c_speech[hi + 1] - c_speech[lo]) == (hi + 1 - lo)
    outside = (c_near[hi + 1] - c_near[lo]) == 0
    return inside, outside


def presence_db(mono_16k: np.ndarray, segments_s: list[tuple[float, float]]) -> float | None:
    """The voice's presence ratio (dB): energy in the third-octave bands 2–4 kHz
    (1778–4467 Hz) over that in the bands 160–800 Hz (141–891 Hz), of the mean power
    spectrum of the speech frames minus that of the bed (module doc). ``mono_16k`` at
    16 kHz; None without speech frames, or when the voice does not stand
    SPEECH_OVER_BED_MIN_DB above the bed in both bands."""
    x = np.asarray(mono_16k, np.float32)
    sr = speech_mod.SR
    if x.size < PRESENCE_FRAME or not segments_s:
        return None
    f, starts, power = _frame_power(x, sr=sr)
    inside, outside = _speech_and_bed_frames(starts, PRESENCE_FRAME / sr, segments_s, x.size / sr)
    if not inside.any():
        return None
    mixed = power[:, inside].mean(axis=1)
    bed = power[:, outside].mean(axis=1) if outside.sum() * (PRESENCE_FRAME / 2) / sr >= MIN_BED_S else np.zeros_like(mixed)
    duck = (f >= DUCK_BAND_HZ[0]) & (f < DUCK_BAND_HZ[1])  # below any voice: the bed's own level under speech
    if bed[duck].sum() > 0:
        bed = bed * min(1.0, float(mixed[duck].sum() / bed[duck].sum()))
    bands = [(f >= lo) & (f < hi) for lo, hi in (PRESENCE_LOW_HZ, PRESENCE_HIGH_HZ)]
    voice = [float((mixed[b] - bed[b]).sum()) for b in bands]
    floor = [float(bed[b].sum()) * 10 ** (SPEECH_OVER_BED_MIN_DB / 10) for b in bands]
    if any(v <= 0 or v < fl for v, fl in zip(voice, floor)):
        return None
    return float(10 * np.log10(voice[1] / voice[0]))


def warm_up(models: ModelRegistry | None = None) -> float:
    """Import librosa's lazy modules, compile its numba kernels (constant and
    time-varying beat tracking) and open the VAD session; returns seconds taken.
    Call once per worker process at start (idempotent, cheap when already warm)."""
    t0 = time.perf_counter()
    sr = beats_mod.ANALYSIS_SR
    n = sr * 6
    x = np.zeros(n, np.float32)
    x[(np.arange(0, 6, 0.5) * sr).astype(int)] = 1.0  # 120 BPM clicks
    x += np.random.default_rng(0).standard_normal(n).astype(np.float32) * 1e-3
    beats_mod.analyse_beats(x, sr=sr)
    env = np.zeros(n // beats_mod.HOP + 1)
    env[:: int(round(0.5 * sr / beats_mod.HOP))] = 1.0
    beats_mod._dp(env, np.full(env.size, 120.0))
    speech_mod.detect_speech(np.zeros(speech_mod.SR, np.float32), models=models)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def analyse_audio(track, *, control: Control | None = None, models: ModelRegistry | None = None,
                  use_vad_model: bool = True) -> AudioAnalysis:
    """Measure loudness, beats, speech and style of ``track`` (media.AudioTrack or None).

    None (no audio stream) → every measurement None, ``music_present`` None, no beats.
    Silence → loudness None, ``music_present`` False, tempo None, no beats.
    ``models``: where the VAD model is (None: :meth:`ModelRegistry.from_environ`).
    ``control`` gets progress over loudness (0–0.3), speech (0.3–0.4), beats (0.4–1).
    """
    control = ensure(control)
    if track is None:
        return AudioAnalysis()
    samples = np.asarray(track.samples)
    sr = int(track.sample_rate)
    if samples.ndim != 2:
        raise ValueError(f"track.samples must be (n, channels), got shape {samples.shape}")
    out = AudioAnalysis(duration_s=samples.shape[0] / float(sr) if sr > 0 else 0.0)
    mono = track.mono() if samples.shape[0] else np.zeros(0, np.float32)
    t = {}
    t0 = time.perf_counter()
    _measure_loudness(out, samples, mono, sr=sr, layout=track.layout)
    t["loudness_s"] = time.perf_counter() - t0
    control.progress(0.3)
    control.check()
    t0 = time.perf_counter()
    if samples.shape[0]:
        _measure_speech(out, mono, sr=sr, models=models, use_model=use_vad_model)
    t["speech_s"] = time.perf_counter() - t0
    control.progress(0.4)
    control.check()
    t0 = time.perf_counter()
    b = beats_mod.analyse_beats(mono, sr=sr, speech_segments_s=out.speech_segments_s, control=control.span(0.4, 1.0))
    _take_beats(out, b, has_samples=bool(samples.shape[0]))
    t["beats_s"] = time.perf_counter() - t0
    control.progress(1.0)
    out.timings_s = {k: round(v, 4) for k, v in t.items()}
    return out


def analyse_speech(track, *, models: ModelRegistry | None = None, use_vad_model: bool = True) -> AudioAnalysis:
    """Only the speech of ``track`` (segments, ratio, detector): what an edit needs of footage
    audio. None → nothing measured, as :func:`analyse_audio`."""
    if track is None:
        return AudioAnalysis()
    samples = np.asarray(track.samples)
    sr = int(track.sample_rate)
    out = AudioAnalysis(duration_s=samples.shape[0] / float(sr) if sr > 0 else 0.0)
    if samples.shape[0]:
        t0 = time.perf_counter()
        _measure_speech(out, track.mono(), sr=sr, models=models, use_model=use_vad_model)
        out.timings_s = {"speech_s": round(time.perf_counter() - t0, 4)}
    return out


def _measure_loudness(out: AudioAnalysis, samples: np.ndarray, mono: np.ndarray, *, sr: int, layout: str) -> None:
    """Integrated loudness, LRA, true peak and the level/dynamics/bass style maps."""
    res = loud_mod.measure(samples, sr=sr, layout=layout)
    out.integrated_lufs = res.integrated_lufs
    out.loudness_range_lu = res.loudness_range_lu
    out.true_peak_dbtp = res.true_peak_dbtp
    out.normalization_level = float(min(1.0, res.true_peak_amp)) if samples.shape[0] else None
    out.compression_ratio = compression_ratio(res)
    out.bass_boost = bass_boost(mono, sr=sr) if res.integrated_lufs is not None else None


def _measure_speech(out: AudioAnalysis, mono: np.ndarray, *, sr: int, models: ModelRegistry | None,
                    use_model: bool) -> None:
    """Speech segments, speech ratio and the enhance-speech decision."""
    mono16 = speech_mod.to_16k(mono, sr=sr)
    segs, name = speech_mod.detect_speech(mono16, sr=speech_mod.SR, models=models, use_model=use_model)
    out.speech_segments_s = segs
    out.speech_detector = name
    out.speech_ratio = speech_mod.speech_ratio(segs, out.duration_s)
    out.presence_db = presence_db(mono16, segs) if segs else None
    out.enhance_speech = enhance_speech(out.speech_ratio, out.presence_db)


def enhance_speech(speech_share: float | None, presence: float | None) -> bool | None:
    """The enhance-speech decision (module doc): None without audio; False without speech
    (share < MIN_SPEECH_SHARE); None when the voice's presence could not be measured over
    the bed; else presence ≥ PRESENCE_LOUD_REF_DB + PRESENCE_MARGIN_DB."""
    if speech_share is None:
        return None
    if speech_share < MIN_SPEECH_SHARE:
        return False
    if presence is None:
        return None
    return bool(presence >= PRESENCE_LOUD_REF_DB + PRESENCE_MARGIN_DB)


def _take_beats(out: AudioAnalysis, b: beats_mod.BeatResult, *, has_samples: bool) -> None:
    """Music presence always; tempo and the beat grid only for music with a tempo."""
    out.music_present = b.music_present if has_samples else None
    if b.music_present and b.tempo_bpm is not None:
        out.tempo_bpm = b.tempo_bpm
        out.tempo_confidence = b.tempo_confidence
        out.beat_times_s = b.beat_times_s
        out.downbeat_times_s = b.downbeat_times_s
        out.beats_per_bar = b.beats_per_bar
        out.beat_confidence = b.beat_confidence
        out.beat_band = b.beat_band
        out.alternative_tempo_bpm = b.alternative_tempo_bpm
        out.alternative_beat_times_s = b.alternative_beat_times_s
