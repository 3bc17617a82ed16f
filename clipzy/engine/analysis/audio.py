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
- ``enhance_speech``: speech covers ≥ 5 % of the track and, pooled over the speech
  segments, the 1–4 kHz presence band (relative to 100 Hz–1 kHz) sits ≥
  PRESENCE_MARGIN_DB (3 dB) above its place in the standard speech spectrum:
  PRESENCE_REF_DB = −8.3 dB, from the ANSI S3.5-1997 (SII) standard speech spectrum at
  normal vocal effort (third-octave bands 160–800 Hz against 1–3.15 kHz plus half of
  the 4 kHz band). False when there is no speech; None without audio.
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
PRESENCE_REF_DB = -8.3
PRESENCE_MARGIN_DB = 3.0
MIN_SPEECH_SHARE = 0.05


@dataclass
class AudioAnalysis:
    """Measured audio of one track, seconds and dB; None where not measurable.

    The Style DNA's audio fields are written from it by :func:`clipzy.engine.dna.audio_fields`.
    """

    tempo_bpm: float | None = None
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


def presence_db(mono_16k: np.ndarray, segments_s: list[tuple[float, float]]) -> float | None:
    """Energy 1–4 kHz relative to 100 Hz–1 kHz (dB) pooled over the speech segments."""
    from scipy import signal

    sr = speech_mod.SR
    parts = [mono_16k[int(s * sr):int(e * sr)] for s, e in segments_s]
    parts = [p for p in parts if p.size >= 512]
    if not parts:
        return None
    x = np.concatenate(parts)
    f, p = signal.welch(x, fs=sr, nperseg=1024)
    low = _band_energy(f, p, 100.0, 1000.0)
    pres = _band_energy(f, p, 1000.0, 4000.0)
    if low <= 0 or pres <= 0:
        return None
    return float(10 * np.log10(pres / low))


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
    beats_mod._track(env, np.full(env.size, 120.0))
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
    if out.speech_ratio is not None and out.speech_ratio >= MIN_SPEECH_SHARE:
        pres = presence_db(mono16, segs)
        out.enhance_speech = bool(pres is not None and pres >= PRESENCE_REF_DB + PRESENCE_MARGIN_DB)
    else:
        out.enhance_speech = False if out.speech_ratio is not None else None


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
