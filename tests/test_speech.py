"""Speech detection: Silero VAD on onnxruntime (prepared into a tmp models folder) and
the energy fallback, on espeak-ng speech mixed at known offsets over silence, music
and noise."""
from __future__ import annotations

import os
import shutil
import tempfile
import time

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "clipzy-numba-cache"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from clipzy.engine.dna import audio_fields  # noqa: E402
from clipzy.engine.analysis import audio, speech  # noqa: E402
from clipzy.engine import models
from clipzy.engine.media import AudioTrack  # noqa: E402
from tests.conftest import need  # noqa: E402
from tests.synth import audio as S  # noqa: E402

SR = speech.SR


@pytest.fixture(scope="session")
def silero(tmp_path_factory):
    """A registry with Silero VAD prepared from the pinned wheel into a tmp models folder."""
    registry = models.ModelRegistry(tmp_path_factory.mktemp("models"))
    try:
        registry.prepare(["silero_vad"])
    except Exception as exc:  # no PyPI here: skip locally, fail in CI
        need(False, f"cannot prepare silero_vad: {exc}")
    need(registry.session("silero_vad") is not None, "silero_vad session unavailable")
    return registry


@pytest.fixture(scope="module")
def espeak_ok():
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")


def test_onnx_interface(silero):
    sess = silero.session("silero_vad")
    ins = {i.name: i for i in sess.get_inputs()}
    outs = [o.name for o in sess.get_outputs()]
    assert set(ins) == {"input", "state", "sr"} and outs == ["output", "stateN"]
    assert ins["state"].shape[0] == 2 and ins["state"].shape[2] == 128
    assert ins["sr"].type == "tensor(int64)"


def test_frames_carry_64_samples_of_context():
    x = np.arange(1500, dtype=np.float32)
    f = speech._frames(x)
    assert f.shape == (3, 576)
    assert np.all(f[0, :64] == 0) and np.array_equal(f[0, 64:], x[:512])
    assert np.array_equal(f[1, :64], x[448:512]) and np.array_equal(f[1, 64:], x[512:1024])
    assert np.array_equal(f[2, 64:64 + 476], x[1024:]) and np.all(f[2, 64 + 476:] == 0)


def test_hysteresis_and_duration_rules():
    hop = speech.CHUNK / SR  # 32 ms
    p = np.zeros(200)
    p[10:30] = 0.9  # 640 ms of speech
    p[30:33] = 0.4  # between off and on: stays speech
    p[33:35] = 0.1  # 64 ms gap < 100 ms: bridged
    p[35:50] = 0.8
    p[80:85] = 0.9  # 160 ms < 250 ms: dropped
    p[120:140] = 0.45  # never reaches 0.5: not speech
    segs = speech.segments_from_probs(p, hop_s=hop)
    assert len(segs) == 1
    s, e = segs[0]
    assert s == pytest.approx(10 * hop - 0.03, abs=1e-6) and e == pytest.approx(50 * hop + 0.03, abs=1e-6)
    with pytest.raises(ValueError):
        speech.segments_from_probs(p, on=0.3, off=0.5)


@pytest.mark.parametrize("bed", [None, "music", "noise"])
def test_silero_segments_and_ratio(silero, espeak_ok, bed):
    x, truth = S.speech_mix(5, sr=SR, bed=bed, bed_db=-10.0)
    segs, name = speech.detect_speech(x, models=silero)
    assert name == "silero-vad-onnx"
    assert S.segment_f1(segs, truth) >= 0.9, (segs, truth)
    dur = x.size / SR
    true_ratio = sum(e - s for s, e in truth) / dur
    assert speech.speech_ratio(segs, dur) == pytest.approx(true_ratio, abs=0.1)


def test_silero_finds_nothing_in_music_and_noise(silero):
    for x in (S.drum_track(110.0, 10.0, sr=SR).audio, S.pink_noise(10.0, sr=SR), np.zeros(SR * 5, np.float32)):
        segs, _ = speech.detect_speech(x, models=silero)
        assert speech.speech_ratio(segs, x.size / SR) < 0.05


def test_silero_speed_one_minute(silero):
    x = S.pink_noise(60.0, sr=SR, rms_dbfs=-30)
    speech.detect_speech(x[: SR * 2], models=silero)  # warm
    t = time.perf_counter()
    speech.detect_speech(x, models=silero)
    # the target is well under 1 s (bench/audio.py); loose here for shared CI machines
    assert time.perf_counter() - t < 3.0


def test_resampled_input(silero, espeak_ok):
    x, truth = S.speech_mix(3, sr=48000)
    segs, _ = speech.detect_speech(x, sr=48000, models=silero)
    assert S.segment_f1(segs, truth) >= 0.9


@pytest.mark.parametrize("bed,bed_db", [(None, 0.0), ("noise", -20.0)])
def test_energy_fallback_finds_segments_roughly(espeak_ok, bed, bed_db):
    x, truth = S.speech_mix(4, sr=SR, bed=bed, bed_db=bed_db, seed=3)
    segs, name = speech.detect_speech(x, use_model=False)
    assert name == "energy-fallback"
    assert S.segment_f1(segs, truth) >= 0.6, (segs, truth)
    dur = x.size / SR
    assert speech.speech_ratio(segs, dur) == pytest.approx(sum(e - s for s, e in truth) / dur, abs=0.2)


def test_fallback_when_model_absent(tmp_path):
    segs, name = speech.detect_speech(np.zeros(SR * 2, np.float32), models=models.ModelRegistry(tmp_path))  # no model
    assert name == "energy-fallback" and segs == []


def test_analyse_audio_speech_fields_and_enhance(silero, espeak_ok):
    x, truth = S.speech_mix(4, sr=48000)
    dull = S.peaking_eq(x, -6.0, 2500.0, 0.7)  # presence cut
    bright = S.peaking_eq(x, 10.0, 2500.0, 0.7)  # presence boost ("enhanced" voice)
    a_dull = audio.analyse_audio(AudioTrack(dull[:, None], 48000, "mono"), models=silero)
    a_bright = audio.analyse_audio(AudioTrack(bright[:, None], 48000, "mono"), models=silero)
    assert a_dull.speech_detector == "silero-vad-onnx"
    true_ratio = sum(e - s for s, e in truth) / (x.size / 48000)
    assert audio_fields(a_dull)["loudness"]["speech_ratio"] == pytest.approx(true_ratio, abs=0.1)
    assert a_dull.enhance_speech is False and a_bright.enhance_speech is True
    assert a_dull.music_present is False and a_dull.tempo_bpm is None  # speech alone is not music
    assert audio.presence_db(speech.to_16k(bright, sr=48000), a_bright.speech_segments_s) > \
        audio.presence_db(speech.to_16k(dull, sr=48000), a_dull.speech_segments_s) + 6


# -- enhance_speech: measured on the voice, not on the bed (audio.py module docstring) ----------------

@pytest.mark.parametrize("bed,bed_db", [(None, 0.0), ("music", -10.0), ("white", -10.0), ("pads", -15.0),
                                        ("noise", -20.0), ("white", -20.0)])
def test_unboosted_voice_is_not_enhanced(silero, espeak_ok, bed, bed_db):
    # an un-EQ'd voice, over silence or a bed at −10..−20 dB, has no emphasised speech band
    x, _truth = S.speech_mix(4, sr=SR, bed=bed, bed_db=bed_db, seed=5)
    a = audio.analyse_speech(AudioTrack(x[:, None], SR, "mono"), models=silero)
    assert a.speech_ratio >= 0.5 and a.enhance_speech is False, (getattr(a, "presence_db", None), a.speech_segments_s)


@pytest.mark.parametrize("voice,bed,bed_db", [("boost6", "music", -10.0), ("boost6", "white", -15.0),
                                              ("boost10", "pads", -20.0), ("broadcast", "noise", -10.0),
                                              ("broadcast", None, 0.0)])
def test_boosted_voice_is_enhanced(silero, espeak_ok, voice, bed, bed_db):
    x, _ = S.speech_mix(4, sr=SR, bed=bed, bed_db=bed_db, seed=6, voice_fx=S.voice_eq(voice))
    a = audio.analyse_speech(AudioTrack(x[:, None], SR, "mono"), models=silero)
    assert a.enhance_speech is True, (getattr(a, "presence_db", None), a.speech_segments_s)


@pytest.mark.parametrize("bed", ["white", "music", "noise"])
def test_presence_is_the_voices_not_the_beds(espeak_ok, bed):
    # the bed spectrum measured outside speech is taken out: the presence of a voice
    # over a bed at −10 dB reads within 0.5 dB of the same voice alone, bright bed or dark
    clean, truth = S.speech_mix(4, sr=SR, seed=7)
    mixed, _ = S.speech_mix(4, sr=SR, bed=bed, bed_db=-10.0, seed=7)
    p_clean, p_mixed = audio.presence_db(clean, truth), audio.presence_db(mixed, truth)
    assert p_clean is not None and p_mixed == pytest.approx(p_clean, abs=0.5)


def test_presence_follows_a_ducked_bed(espeak_ok):
    # produced reels duck the music 6 dB while someone talks: the bed measured between
    # the words is scaled to its level under the voice (read below any voice, 20–80 Hz)
    from scipy.ndimage import uniform_filter1d

    clean, truth = S.speech_mix(4, sr=SR, seed=9)
    bed = S.drum_track(110.0, clean.size / SR + 0.1, sr=SR, seed=9).audio[: clean.size]
    bed = bed * S.db_to_amp(-26.0) / np.sqrt(np.mean(bed ** 2))  # 6 dB under the voice's −20 dBFS
    t = np.arange(clean.size) / SR
    talking = np.zeros(clean.size)
    for a, e in truth:
        talking[(t >= a - 0.1) & (t < e + 0.1)] = 1.0
    gain = 1.0 - 0.5 * uniform_filter1d(talking, int(0.1 * SR))  # −6 dB under speech, 100 ms ramps
    ducked = (clean + bed * gain).astype(np.float32)
    assert audio.presence_db(ducked, truth) == pytest.approx(audio.presence_db(clean, truth), abs=1.0)


def test_presence_not_measurable_under_a_loud_bed(espeak_ok):
    # a voice 10 dB under white noise: its presence band cannot be told from the bed's
    x, truth = S.speech_mix(3, sr=SR, bed="white", bed_db=10.0, seed=8)
    assert audio.presence_db(x, truth) is None
