"""Loudness (BS.1770-4), loudness range (EBU 3342), true peak and the audio style maps.

Signals are built in code after EBU Tech 3341 / 3342 (1 kHz sines, fs/4 sines at known
phases) so the expected values are exact.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from clipzy.engine.dna import audio_fields
from clipzy.engine.analysis import audio, loudness
from clipzy.engine.control import Control
from clipzy.engine.errors import Cancelled
from clipzy.engine.media import AudioTrack, decode_audio
from tests.synth import audio as S

SR = 48000


def track(x: np.ndarray, layout: str | None = None, sr: int = SR) -> AudioTrack:
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    layout = layout or {1: "mono", 2: "stereo", 6: "5.1"}[x.shape[1]]
    return AudioTrack(x, sr, layout)


# --- EBU Tech 3341 -----------------------------------------------------------


@pytest.mark.parametrize("level", [-23.0, -33.0])
def test_3341_stereo_sine_integrated(level):
    r = loudness.measure(S.sine(1000, level, 20.0), sr=SR, layout="stereo")
    assert r.integrated_lufs == pytest.approx(level, abs=0.1)


def test_3341_sequences_gate_quiet_parts():
    # case 3: −36/−23/−36 dBFS for 10/60/10 s; case 4 adds −72 dBFS ends (below the −70 gate)
    for parts in ([(-36, 10), (-23, 60), (-36, 10)], [(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)]):
        r = loudness.measure(S.tone_sequence(parts), sr=SR, layout="stereo", with_true_peak=False)
        assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_integrated_matches_pyloudnorm_on_noise():
    import pyloudnorm

    x = np.stack([S.pink_noise(8.0, seed=1), S.pink_noise(8.0, seed=2, rms_dbfs=-26)], axis=1)
    ours = loudness.measure(x, sr=SR, layout="stereo").integrated_lufs
    ref = pyloudnorm.Meter(SR, filter_class="DeMan").integrated_loudness(x.astype(np.float64))
    assert ours == pytest.approx(ref, abs=0.05)


def test_other_sample_rate():
    r = loudness.measure(S.sine(1000, -23, 10.0, sr=44100), sr=44100, layout="stereo")
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)


# --- EBU Tech 3342 -----------------------------------------------------------


@pytest.mark.parametrize("parts,lra", [
    ([(-20, 20), (-30, 20)], 10.0),
    ([(-20, 20), (-15, 20)], 5.0),
    ([(-40, 20), (-20, 20)], 20.0),
    ([(-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)], 15.0),
])
def test_3342_loudness_range(parts, lra):
    r = loudness.measure(S.tone_sequence(parts), sr=SR, layout="stereo", with_true_peak=False)
    assert r.loudness_range_lu == pytest.approx(lra, abs=1.0)


def test_steady_tone_has_no_range():
    assert loudness.measure(S.sine(1000, -20, 10.0), sr=SR, layout="stereo").loudness_range_lu == pytest.approx(0.0, abs=0.1)


# --- true peak (BS.1770-4 Annex 2; EBU 3341 cases 15–18) ----------------------


@pytest.mark.parametrize("phase", [0.0, 45.0, 60.0, 67.5])
def test_true_peak_of_quarter_rate_sine(phase):
    x = S.sine(SR / 4, -6.02, 1.0, channels=2, phase_deg=phase)
    r = loudness.measure(x, sr=SR, layout="stereo")
    assert r.true_peak_dbtp == pytest.approx(-6.02, abs=0.3)
    if phase == 45.0:  # sample peaks understate by 3 dB here
        assert 20 * np.log10(np.abs(x).max()) < -8.9


def test_true_peak_block_search_matches_full_oversampling():
    from scipy import signal

    rng = np.random.default_rng(3)
    x = (S.pink_noise(6.0, seed=4)[:, None] * np.array([[1.0, 0.5]])).astype(np.float32)
    x[rng.integers(0, x.shape[0], 5)] *= 3.0  # a few isolated overs
    full = np.abs(signal.resample_poly(np.ascontiguousarray(x.T), 4, 1, axis=1, window=loudness._tp_filter(4))).max()
    assert loudness.true_peak(x, sr=SR) == pytest.approx(max(full, np.abs(x).max()), rel=1e-6)


# --- channel layouts ------------------------------------------------------------


def test_51_weights_exclude_lfe_and_boost_surrounds():
    assert list(loudness.channel_weights("5.1", 6)) == [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]
    assert list(loudness.channel_weights("7.1", 8)) == [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.41, 1.41]
    tone = S.sine(1000, -23, 10.0, channels=1)[:, 0]
    front = np.zeros((tone.size, 6), np.float32)
    front[:, 0] = tone
    surround = np.zeros_like(front)
    surround[:, 4] = tone
    lfe = np.zeros_like(front)
    lfe[:, 3] = tone
    lf = loudness.measure(front, sr=SR, layout="5.1").integrated_lufs
    ls = loudness.measure(surround, sr=SR, layout="5.1").integrated_lufs
    assert lf == pytest.approx(-26.0, abs=0.1)  # one channel: −3 dB against a stereo pair
    assert ls - lf == pytest.approx(10 * np.log10(1.41), abs=0.02)
    assert loudness.measure(lfe, sr=SR, layout="5.1").integrated_lufs is None


def test_real_51_file(media_file):
    t = decode_audio(media_file("bigbuckbunny.mp4"))
    assert t.layout == "5.1" and t.samples.shape[1] == 6
    r = loudness.measure(t.samples, sr=t.sample_rate, layout=t.layout)
    assert r.integrated_lufs == pytest.approx(-34.0, abs=1.0)  # the media README: about −34 LUFS


def test_sax_reference_levels(media_file):
    t = decode_audio(media_file("sax.wav"))
    r = loudness.measure(t.samples, sr=t.sample_rate, layout=t.layout)
    assert r.integrated_lufs == pytest.approx(-11.5, abs=0.5)
    assert r.true_peak_dbtp >= -0.15  # sample peak −0.1 dBFS; the true peak is never lower


# --- silence and missing audio ----------------------------------------------------


def test_silence_is_null_not_infinite():
    r = loudness.measure(np.zeros((SR * 5, 2), np.float32), sr=SR, layout="stereo")
    assert r.integrated_lufs is None and r.loudness_range_lu is None and r.true_peak_dbtp is None
    a = audio.analyse_audio(track(np.zeros((SR * 5, 2))))
    f = audio_fields(a)
    json.dumps(f, allow_nan=False)
    assert f["loudness"]["integrated_lufs"] is None
    assert f["loudness"]["music_present"] is False
    assert f["tempo_bpm"] is None and f["detected_beats"] == []
    assert f["audio_style"]["compression_ratio"] is None and f["audio_style"]["bass_boost"] is None


def test_no_audio_stream():
    a = audio.analyse_audio(None)
    f = audio_fields(a)
    json.dumps(f, allow_nan=False)
    assert a.music_present is None and f["loudness"]["speech_ratio"] is None
    assert f["audio_style"] == {"normalization_level": None, "compression_ratio": None, "bass_boost": None,
                                "enhance_speech": None}
    assert f["beats"] == {"beat_times_ms": [], "downbeat_times_ms": [], "beats_per_bar": None, "tempo_confidence": None}


def test_cancel_is_honoured():
    c = Control()
    c.cancel()
    with pytest.raises(Cancelled):
        audio.analyse_audio(track(S.pink_noise(2.0)), control=c)


def test_bad_parameters():
    with pytest.raises(ValueError):
        loudness.measure(np.zeros((10, 2, 2)), sr=SR)
    with pytest.raises(ValueError):
        loudness.measure(np.zeros((100, 2)), sr=0)


# --- audio style maps ---------------------------------------------------------------


def _dynamic_drums() -> np.ndarray:
    tr = S.drum_track(110, 20.0, seed=3)
    env = np.interp(np.arange(tr.audio.size) / SR, [0, 5, 10, 15, 20], [0.2, 1, 0.3, 1, 0.5])
    return (tr.audio * env).astype(np.float32)


def test_compression_ratio_rises_with_compression():
    dyn = _dynamic_drums()
    ratios = [audio.compression_ratio(loudness.measure(x, sr=SR, layout="mono")) for x in (
        dyn,
        S.compress(dyn, threshold_db=-30, ratio=4),
        S.compress(dyn, threshold_db=-35, ratio=10),
        S.compress(dyn, threshold_db=-40, ratio=50, attack_s=0.002),
    )]
    assert ratios[0] == 1.0  # the uncompressed reference
    assert ratios[1] >= ratios[0] and ratios[2] > ratios[1] + 0.2 and ratios[3] > ratios[2] + 0.2, ratios


def test_normalization_level_is_true_peak_amplitude():
    a = audio.analyse_audio(track(S.sine(SR / 4, -6.02, 2.0, channels=2, phase_deg=45)))
    assert a.normalization_level == pytest.approx(0.5, abs=0.02)


def test_bass_boost_pink_reference_and_low_shelf():
    pink = S.pink_noise(10.0, seed=5)
    b0 = audio.bass_boost(pink, sr=SR)
    b1 = audio.bass_boost(S.low_shelf(pink, 6.0, 150.0), sr=SR)
    b2 = audio.bass_boost(S.low_shelf(pink, 12.0, 150.0), sr=SR)
    assert b0 <= 10.0  # pink is the flat reference
    assert b1 > b0 + 20 and b2 > b1 + 20, (b0, b1, b2)
    assert audio.bass_boost(S.white_noise(5.0), sr=SR) == 0.0  # thinner than pink
