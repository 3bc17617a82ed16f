"""Soundtrack: loudness normalisation, true-peak limiting, looping, ducking, editing footage audio."""
from __future__ import annotations

import numpy as np
import pytest

from clipzy.engine import media
from clipzy.engine.analysis.loudness import integrated_lufs, true_peak_dbtp
from clipzy.engine.editing import soundtrack as mix
from clipzy.engine.editing.edit_plan import EditPlan, OutputFormat, PlannedTransition, Segment, Soundtrack

SR = 48000
FPS = 25.0


def plan_of(segments, *, frame_count=None, soundtrack=None) -> EditPlan:
    """A typed plan from (footage_in_s, footage_out_s, output_in_s, output_out_s) segments at FPS, all cuts."""
    segs = [Segment(index=i, footage_in_s=fi, footage_out_s=fo, output_in_frame=int(round(oi * FPS)),
                    output_out_frame=int(round(oo * FPS)), footage_shot=0, tail_s=0.0,
                    transition_in=PlannedTransition("cut", 0), crop=[], lut="global", on_beat=False)
            for i, (fi, fo, oi, oo) in enumerate(segments)]
    n = frame_count or segs[-1].output_out_frame
    return EditPlan(output=OutputFormat(64, 36, FPS, n), soundtrack=soundtrack or Soundtrack("footage", None, -1.0),
                    luts={}, segments=segs, encoder={}, config={}, footage={}, beat_sync={})


@pytest.mark.slow
def test_normalise_real_music_to_target_with_true_peak_ceiling(media_file):
    track = media.decode_audio(media_file("sax.wav"), sample_rate=SR, layout="stereo")
    x = track.samples
    for target, ceiling in ((-14.0, -1.0), (-9.0, -1.0), (-20.0, -3.0)):
        y, gain, final = mix.normalise_loudness(x, target_lufs=target, ceiling_dbtp=ceiling)
        assert abs(integrated_lufs(y, sr=SR) - target) <= 1.0, (target, final)
        assert true_peak_dbtp(y, sr=SR) <= ceiling + 0.05
        assert y.shape == x.shape
    # loud target forces real limiting: peaks above the ceiling before the limiter
    y, gain, _ = mix.normalise_loudness(x, target_lufs=-8.0, ceiling_dbtp=-1.0)
    assert true_peak_dbtp(x * 10 ** (gain / 20), sr=SR) > 0.0
    assert true_peak_dbtp(y, sr=SR) <= -0.95


def test_limiter_catches_intersample_peaks():
    t = np.arange(SR) / SR
    x = (0.99 * np.sin(2 * np.pi * (SR / 4) * t + np.pi / 4)).astype(np.float32)  # samples at ±0.7, true peak 0.99
    x = np.stack([x, x], 1)
    assert true_peak_dbtp(x, sr=SR) > -0.2
    y = mix.limit(x, ceiling_dbtp=-1.0)
    assert true_peak_dbtp(y, sr=SR) <= -0.99


def test_silence_stays_silent():
    y, gain, final = mix.normalise_loudness(np.zeros((SR, 2), np.float32), target_lufs=-14.0, ceiling_dbtp=-1.0)
    assert gain is None and final is None and not np.any(y)
    assert integrated_lufs(np.zeros((SR, 2)), sr=SR) is None
    with pytest.raises(ValueError):
        mix.normalise_loudness(np.zeros((10, 2)), target_lufs=-14, ceiling_dbtp=1.0)


def test_fit_length_trims_loops_and_fades():
    x = np.ones((SR, 2), np.float32) * 0.5
    y = mix.fit_length(x, SR // 2)
    assert y.shape == (SR // 2, 2) and y[0, 0] == 0.5 and y[-1, 0] < 0.01
    y = mix.fit_length(x, int(2.5 * SR))
    assert y.shape == (int(2.5 * SR), 2)
    # looped constant signal with crossfades stays constant (no gap, no bump) until the fade out
    body = y[: int(2.0 * SR), 0]
    assert np.allclose(body, 0.5, atol=1e-3)


def test_edit_audio_places_footage_time():
    n_f = 10 * SR
    ramp = (np.arange(n_f) / SR / 100.0).astype(np.float32)  # value = footage time / 100
    track = np.stack([ramp, ramp], 1)
    plan = plan_of([(2.0, 3.0, 0.0, 1.0), (7.0, 8.0, 1.0, 2.0)])
    out = mix.edit_audio(track, plan, 2 * SR)
    assert abs(out[int(0.5 * SR), 0] - 0.025) < 1e-4
    assert abs(out[int(1.5 * SR), 0] - 0.075) < 1e-4
    assert out.shape == (2 * SR, 2)


def test_speech_mapping_and_duck_envelope():
    spans = mix.speech_on_output([(4.0, 5.5), (6.5, 9.0)], plan_of([(5.0, 7.0, 1.0, 3.0)]))
    assert spans == [(1.0, 1.5), (2.5, 3.0)]
    env = mix.duck_envelope([(1.0, 2.0)], 3 * SR)
    g = 10 ** (mix.DUCK_DB / 20)
    assert env[int(1.0 * SR)] == pytest.approx(g, abs=1e-3) and env[int(1.99 * SR)] == pytest.approx(g, abs=1e-3)
    assert env[int(0.5 * SR)] == pytest.approx(1.0) and env[int(2.5 * SR)] == pytest.approx(1.0)


def _band_db(x: np.ndarray, f0: float, f1: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SR)
    return 10 * np.log10(spec[(freqs >= f0) & (freqs <= f1)].sum() + 1e-20)


def test_mix_ducks_music_under_footage_speech(tmp_path):
    from tests.synth.video import write_video

    # template: a steady 220 Hz "music" pad; footage: a 3 kHz "voice" during 1–2 s of footage time
    t = np.arange(4 * SR) / SR
    pad = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    voice = (0.2 * np.sin(2 * np.pi * 3000 * t) * ((t >= 1.0) & (t < 2.0))).astype(np.float32)
    frames = [np.full((36, 64, 3), 100, np.uint8)] * 100
    tmpl = write_video(tmp_path / "t.mp4", frames, fps=25, audio=np.stack([pad, pad], 1))
    foot = write_video(tmp_path / "f.mp4", frames, fps=25, audio=np.stack([voice, voice], 1))
    plan = plan_of([(0.5, 3.5, 0.0, 3.0)], frame_count=75, soundtrack=Soundtrack("mix", -16.0, -1.0))
    y = mix.build_soundtrack(plan, template_path=tmpl, footage=[(foot, [(1.0, 2.0)])])
    rep = plan.soundtrack.to_json()
    assert y.shape == (3 * SR, 2) and rep["duck_db"] == mix.DUCK_DB and rep["source"] == "mix"
    assert abs(rep["measured_lufs"] - (-16.0)) <= 1.0 and rep["true_peak_dbtp"] <= -1.0
    m = y[:, 0]
    # speech sits at output 0.5–1.5 s (footage 1–2 s, segment starts at footage 0.5 s)
    inside = m[int(0.75 * SR): int(1.25 * SR)]
    outside = m[int(2.0 * SR): int(2.5 * SR)]
    duck = _band_db(inside, 200, 240) - _band_db(outside, 200, 240)
    assert abs(duck - mix.DUCK_DB) < 1.5, duck
    assert _band_db(inside, 2900, 3100) - _band_db(outside, 2900, 3100) > 30  # the voice is where speech is
