"""Tempo, beats, downbeats, band labels and music presence on drum tracks made in code.

The steady set is 8 tempi over 72–176 BPM × 12 s with swing (0, 1/6, 1/3 beat), ±10 ms
jitter and a chord bed; the tempo-step track jumps 100 → 125 BPM. The full sweep lives
in bench/audio.py.
"""
from __future__ import annotations

import os
import tempfile

# librosa's numba kernels: cache them across test runs (the service sets NUMBA_CACHE_DIR
# to a folder in its instance folder)
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "clipzy-numba-cache"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from clipzy.engine.dna import audio_fields  # noqa: E402
from clipzy.engine.analysis import audio, beats  # noqa: E402
from clipzy.engine.media import AudioTrack, decode_audio  # noqa: E402
from tests.synth import audio as S  # noqa: E402

SR = 48000


@pytest.fixture(scope="module")
def steady_results():
    tracks = S.steady_set(8)
    return [(t, beats.analyse_beats(t.audio, sr=t.sr)) for t in tracks]


def test_tempo_within_2_percent(steady_results):
    errors = [abs(r.tempo_bpm / t.bpm - 1) if r.tempo_bpm else 1.0 for t, r in steady_results]
    ok = [e <= 0.02 for e in errors]
    assert sum(ok) / len(ok) >= 0.95, [(round(t.bpm, 1), r.tempo_bpm) for t, r in steady_results]


def test_beat_f_measure_steady(steady_results):
    f = [S.beat_f_measure(r.beat_times_s, t.beat_times_s) for t, r in steady_results]
    assert min(f) >= 0.95, [round(v, 3) for v in f]


def test_downbeats_and_bar_length(steady_results):
    for t, r in steady_results[::3]:
        assert r.beats_per_bar == 4
        assert S.beat_f_measure(r.downbeat_times_s, t.downbeat_times_s) >= 0.8


def test_tempo_step():
    t = S.tempo_step_track(100.0, 125.0, 10.0, jitter_s=0.01, offset_s=0.3, seed=11)
    r = beats.analyse_beats(t.audio, sr=t.sr)
    assert S.beat_f_measure(r.beat_times_s, t.beat_times_s) >= 0.85
    # the beat period follows the step: median interval of each half
    bt = r.beat_times_s
    first, second = np.diff(bt[bt < 9.5]), np.diff(bt[bt > 11.0])
    assert 60 / np.median(first) == pytest.approx(100, rel=0.03)
    assert 60 / np.median(second) == pytest.approx(125, rel=0.03)


@pytest.mark.parametrize("bpm", [70.0, 150.0, 170.0])
def test_metrical_level_is_the_backbeat(bpm):
    # librosa's estimate lands at half tempo for fast tracks (and 70 BPM folds to 140);
    # the kick/snare rule brings each back to the written tempo
    t = S.drum_track(bpm, 12.0, jitter_s=0.005, offset_s=0.3, seed=2)
    r = beats.analyse_beats(t.audio, sr=t.sr)
    assert r.tempo_bpm == pytest.approx(bpm, rel=0.02), r.debug
    if bpm >= 150:
        assert r.debug["t0"] == pytest.approx(bpm / 2, rel=0.04) and r.debug["decision"].startswith("doubled")
    else:
        assert r.debug["decision"].startswith("halved")


def test_band_labels_kick_bass_snare_mid():
    t = S.drum_track(100.0, 12.0, offset_s=0.3, seed=4)  # with hats on every beat and chords
    r = beats.analyse_beats(t.audio, sr=t.sr)
    labels = dict(zip(np.round(r.beat_times_s, 2), r.beat_band))

    def label_near(times):
        out = []
        for x in times:
            k = np.argmin(np.abs(r.beat_times_s - x))
            if abs(r.beat_times_s[k] - x) < 0.05:
                out.append(r.beat_band[k])
        return out

    kick, snare = label_near(t.kick_times_s), label_near(t.snare_times_s)
    assert kick and snare and labels
    assert kick.count("bass") / len(kick) >= 0.9
    assert snare.count("mid") / len(snare) >= 0.9
    assert np.all((r.beat_confidence >= 0) & (r.beat_confidence <= 1))


@pytest.mark.parametrize("kind", ["silence", "white", "pink"])
def test_no_music_in_silence_and_noise(kind):
    x = {"silence": np.zeros(SR * 8, np.float32), "white": S.white_noise(8.0), "pink": S.pink_noise(8.0)}[kind]
    r = beats.analyse_beats(x, sr=SR)
    assert r.music_present is False and r.tempo_bpm is None and r.beat_times_s.size == 0
    f = audio_fields(audio.analyse_audio(AudioTrack(x[:, None], SR, "mono"), use_vad_model=False))
    assert f["tempo_bpm"] is None and f["detected_beats"] == [] and f["loudness"]["music_present"] is False


def test_held_chords_are_music_without_tempo():
    x = S._chord_bed(SR * 8, np.arange(0, 8, 2.0), SR, 0.3)
    r = beats.analyse_beats(x, sr=SR)
    assert r.music_present is True


def test_fields_shape_on_drums():
    t = S.drum_track(120.0, 10.0, offset_s=0.3, seed=9)
    a = audio.analyse_audio(AudioTrack(np.repeat(t.audio[:, None], 2, 1), SR, "stereo"), use_vad_model=False)
    f = audio_fields(a)
    assert f["tempo_bpm"] == pytest.approx(120, rel=0.02)
    assert f["beats"]["beats_per_bar"] == 4
    assert len(f["detected_beats"]) == len(f["beats"]["beat_times_ms"]) > 10
    b0 = f["detected_beats"][0]
    assert set(b0) == {"timestamp_ms", "confidence", "frequency"} and isinstance(b0["timestamp_ms"], int)
    assert b0["frequency"] in ("bass", "mid", "treble")
    assert set(f["beats"]["downbeat_times_ms"]) <= set(f["beats"]["beat_times_ms"])
    assert a.music_present is True and f["loudness"]["music_present"] is True


@pytest.mark.slow
def test_shared_media_music(media_file):
    sax = audio.analyse_audio(decode_audio(media_file("sax.wav")))
    assert sax.music_present is True
    w = audio.analyse_audio(decode_audio(media_file("wannaworktogether.mp4")))
    assert w.music_present is True
    assert w.tempo_bpm is not None and 70 <= w.tempo_bpm <= 180


def test_warm_up_runs():
    assert audio.warm_up() > 0.0


def test_hihat_alone_is_treble():
    rng = np.random.default_rng(0)
    n = SR * 10
    beat = 0.3 + np.arange(19) * 0.5
    x = S._place(n, beat, np.ones(beat.size), S._hat(SR, rng), SR)
    x += S._place(n, beat + 0.25, np.full(beat.size, 0.4), S._hat(SR, rng), SR)
    r = beats.analyse_beats((0.5 * x).astype(np.float32), sr=SR)
    assert r.beat_band and r.beat_band.count("treble") / len(r.beat_band) >= 0.9
