"""Speech detection: Silero VAD (v5/v6 ONNX) on onnxruntime, with an energy fallback.

Silero VAD (the ``silero_vad`` model of :class:`clipzy.engine.models.ModelRegistry`, from the silero-vad 6.2.3 wheel) runs at
16 kHz on 512-sample chunks (32 ms). Its ONNX graph takes ``input`` [batch, 576] = the
last 64 samples of the previous chunk (context) + 512 new samples, ``state``
[2, batch, 128] (recurrent state, zeros at the start) and ``sr`` (int64, 16000), and
returns ``output`` [batch, 1] (speech probability) and ``stateN``.

The context is raw audio, so every chunk's input is built up front with one strided
view; only the state is carried from call to call, so the model runs sequentially, one
``session.run`` per chunk with pre-built arrays (no per-chunk numpy work). The session
runs on one intra-op thread (``models.SESSION_THREADS``): ~130 µs per chunk here against
~530 µs with the default pool, so a minute of audio (1875 chunks) takes ~0.25 s.
Batching independent parts of the signal was measured and rejected: Silero's state
keeps more than 1 s of memory (|Δp| up to 0.7 against the sequential run after a 1 s
warm-up) and batch-8 steps cost 5x a single step, so nothing is gained.

Segments from probabilities (Silero's own defaults, documented here):
hysteresis — speech starts at p ≥ 0.5 and ends at p < 0.35; gaps shorter than 100 ms
are bridged; segments shorter than 250 ms are dropped; each segment is padded by 30 ms
on both sides (clipped to the signal, overlaps merged).

Fallback (model not prepared → detector "energy-fallback"): 32 ms frames every 16 ms;
a frame is speech-like when its 300–3400 Hz band energy is ≥ 9 dB above the noise
floor (10th percentile of frame energies) and above −55 dBFS, and the band's spectral
flatness is < 0.35 (voiced speech is harmonic, noise is flat). The same hysteresis and
duration rules then apply, except that gaps up to 300 ms are bridged (unvoiced
consonants and short word gaps fail the frame test). It cannot tell speech from tonal music.
"""
from __future__ import annotations

import numpy as np

from ..models import ModelRegistry

SR = 16000
CHUNK = 512
CONTEXT = 64
ON_THRESHOLD = 0.5
OFF_THRESHOLD = 0.35
MIN_SPEECH_S = 0.25
MIN_SILENCE_S = 0.10
PAD_S = 0.03
FALLBACK_MIN_SILENCE_S = 0.3  # unvoiced consonants and word gaps fail the frame test
SILERO_NAME = "silero-vad-onnx"
FALLBACK_NAME = "energy-fallback"


def _frames(x: np.ndarray) -> np.ndarray:
    """(n_chunks, 576) inputs: 64 samples of context + 512 new, zeros before the start."""
    n_chunks = int(np.ceil(x.size / CHUNK)) if x.size else 0
    padded = np.zeros(CONTEXT + n_chunks * CHUNK, np.float32)
    padded[CONTEXT:CONTEXT + x.size] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, CONTEXT + CHUNK)[::CHUNK]
    return np.ascontiguousarray(view[:n_chunks])


def silero_probabilities(sess, x: np.ndarray) -> np.ndarray:
    """Speech probability (0–1) of each 32 ms chunk of ``x`` (mono float32 at 16 kHz)."""
    frames = _frames(np.asarray(x, np.float32))
    n = frames.shape[0]
    probs = np.zeros(n, np.float32)
    if n == 0:
        return probs
    rows = list(frames[:, None, :])  # (1, 576) views, built once
    state = np.zeros((2, 1, 128), np.float32)
    sr = np.array(SR, dtype=np.int64)
    run = sess.run
    for i, row in enumerate(rows):
        p, state = run(None, {"input": row, "state": state, "sr": sr})
        probs[i] = p[0, 0]
    return probs


def segments_from_probs(probs: np.ndarray, *, hop_s: float = CHUNK / SR, duration_s: float | None = None,
                        on: float = ON_THRESHOLD, off: float = OFF_THRESHOLD, min_speech_s: float = MIN_SPEECH_S,
                        min_silence_s: float = MIN_SILENCE_S, pad_s: float = PAD_S) -> list[tuple[float, float]]:
    """Speech segments (start_s, end_s) from per-frame probabilities with hysteresis."""
    if not 0 <= off <= on <= 1:
        raise ValueError(f"need 0 <= off <= on <= 1, got on={on}, off={off}")
    p = np.asarray(probs, float)
    if p.size == 0:
        return []
    # hysteresis: 1 where p >= on, 0 where p < off, else carry the previous decision
    mark = np.where(p >= on, 1, np.where(p < off, 0, -1))
    pos = np.where(mark >= 0, np.arange(p.size), -1)
    np.maximum.accumulate(pos, out=pos)
    state = np.where(pos >= 0, mark[np.maximum(pos, 0)], 0).astype(np.int8)
    d = np.diff(np.concatenate([[0], state, [0]]))
    starts = np.flatnonzero(d == 1) * hop_s
    ends = np.flatnonzero(d == -1) * hop_s
    if starts.size == 0:
        return []
    # bridge short gaps
    keep_gap = (starts[1:] - ends[:-1]) >= min_silence_s
    starts = np.concatenate([[starts[0]], starts[1:][keep_gap]])
    ends = np.concatenate([ends[:-1][keep_gap], [ends[-1]]])
    long_enough = (ends - starts) >= min_speech_s
    starts, ends = starts[long_enough], ends[long_enough]
    total = duration_s if duration_s is not None else p.size * hop_s
    segs: list[tuple[float, float]] = []
    for s, e in zip(np.maximum(starts - pad_s, 0.0), np.minimum(ends + pad_s, total)):
        if segs and s <= segs[-1][1]:
            segs[-1] = (segs[-1][0], float(e))
        else:
            segs.append((float(s), float(e)))
    return segs


def energy_probabilities(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Fallback speech-likeness (0/1 per 16 ms frame) and the frame hop in seconds."""
    from scipy import signal

    frame, hop = 512, 256
    x = np.asarray(x, np.float32)
    if x.size < frame:
        return np.zeros(0), hop / SR
    _, _, Z = signal.stft(x, fs=SR, window="hann", nperseg=frame, noverlap=frame - hop, boundary=None,
                          padded=False)
    P = np.abs(Z) ** 2
    f = np.fft.rfftfreq(frame, 1.0 / SR)
    band = (f >= 300) & (f <= 3400)
    Pb = P[band] + 1e-12
    # stft scales by 1/sum(window): a full-scale sine reads about 0.25 → ≈ 0 dBFS with +6 dB
    energy_db = 10 * np.log10(Pb.sum(axis=0)) + 6.0
    flatness = np.exp(np.mean(np.log(Pb), axis=0)) / np.mean(Pb, axis=0)
    floor = np.percentile(energy_db, 10)
    speechy = (energy_db >= floor + 9.0) & (energy_db > -55.0) & (flatness < 0.35)
    return speechy.astype(np.float32), hop / SR


def to_16k(x: np.ndarray, *, sr: int) -> np.ndarray:
    """Mono float32 at 16 kHz (soxr HQ resampling when ``sr`` differs)."""
    if sr <= 0:
        raise ValueError(f"sr must be > 0, got {sr}")
    x = np.asarray(x, np.float32).reshape(-1)
    if sr == SR:
        return x
    import soxr

    return soxr.resample(x, sr, SR, quality="HQ").astype(np.float32)


def detect_speech(mono_16k: np.ndarray, *, sr: int = SR, models: ModelRegistry | None = None,
                  use_model: bool = True) -> tuple[list[tuple[float, float]], str]:
    """Speech segments [(start_s, end_s)] of ``mono_16k`` and the detector's name.

    ``sr`` other than 16000 is resampled (soxr). Silero VAD when ``models`` holds it (and
    ``use_model``; ``models`` None: :meth:`ModelRegistry.from_environ`), else the
    energy/flatness fallback (see module doc).
    """
    if sr <= 0:
        raise ValueError(f"sr must be > 0, got {sr}")
    x = to_16k(mono_16k, sr=sr)
    duration = x.size / SR
    sess = (models or ModelRegistry.from_environ()).session("silero_vad") if use_model else None
    if sess is not None:
        probs = silero_probabilities(sess, x)
        return segments_from_probs(probs, hop_s=CHUNK / SR, duration_s=duration), SILERO_NAME
    probs, hop_s = energy_probabilities(x)
    return segments_from_probs(probs, hop_s=hop_s, duration_s=duration,
                               min_silence_s=FALLBACK_MIN_SILENCE_S), FALLBACK_NAME


def speech_ratio(segments_s: list[tuple[float, float]], duration_s: float) -> float | None:
    """Share (0–1) of ``duration_s`` covered by speech segments; None for zero duration."""
    if duration_s <= 0:
        return None
    covered = sum(max(0.0, e - s) for s, e in segments_s)
    return float(min(1.0, covered / duration_s))
