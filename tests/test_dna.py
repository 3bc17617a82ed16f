"""Style DNA assembly helpers: aspect, cuts on beat, the confidence formula, the schema."""
from __future__ import annotations

import pytest

from clipzy.engine import dna


@pytest.mark.parametrize("w,h,want", [(1920, 1080, "16:9"), (1080, 1920, "9:16"), (1080, 1080, "1:1"), (1080, 1350, "4:5"),
                                      (640, 480, "4:3"), (2560, 1080, "21:9"), (480, 352, "4:3"), (720, 1280, "9:16")])
def test_nearest_aspect(w, h, want):
    assert dna.nearest_aspect(w, h) == want


def test_nearest_aspect_rejects_empty():
    with pytest.raises(ValueError):
        dna.nearest_aspect(0, 10)


def test_cuts_on_beat_ratio():
    beats = [0.5, 1.0, 1.5, 2.0]
    assert dna.cuts_on_beat_ratio([1.02, 1.49, 1.8], beats) == pytest.approx(2 / 3, abs=1e-3)
    assert dna.cuts_on_beat_ratio([0.0], beats) == 0.0
    assert dna.cuts_on_beat_ratio([1.0], []) is None
    assert dna.cuts_on_beat_ratio([], beats) is None
    assert dna.cuts_on_beat_ratio([2.06], beats) == 1.0 and dna.cuts_on_beat_ratio([2.08], beats) == 0.0


def conf(**kw):
    base = dict(duration_s=30, shot_count=6, shot_detector="transnetv2-onnx", transition_confidences=[1.0],
                has_audio=True, music_present=True, tempo_confidence=1.0, speech_detector="silero-vad-onnx",
                text_detector="rapidocr-ppocr-onnx")
    base.update(kw)
    return dna.extraction_confidence(**base)


def test_confidence_formula_moves_with_each_measured_quantity():
    top = conf()
    assert top == 1.0
    assert conf(duration_s=6) == pytest.approx(0.2 + 0.8 * 0.2, abs=1e-3)
    assert conf(shot_count=1) < top
    assert conf(shot_detector="classical-fallback") < top
    assert conf(tempo_confidence=0.2) < conf(tempo_confidence=0.8)
    assert conf(has_audio=False) < top
    assert conf(transition_confidences=[0.5, 0.7]) < top
    assert conf(text_detector="unavailable") < top
    assert conf(speech_detector="energy-fallback") < top
    assert 0.2 <= conf(duration_s=0, shot_count=0) <= 1.0


def test_finite_turns_nan_and_inf_into_null():
    import math

    import numpy as np

    out = dna.json_safe({"a": float("nan"), "b": [float("-inf"), np.float32(1.5)], "c": np.int64(3)})
    assert out == {"a": None, "b": [None, 1.5], "c": 3}
    assert not any(isinstance(v, float) and math.isnan(v) for v in out["b"] if v is not None)


def test_schema_refuses_unknown_and_out_of_range():
    errors = dna.StyleDnaSchema().validate({"version": "1.0", "bogus": 1})
    assert "bogus" in errors and "aspect_ratio" in errors
    with pytest.raises(ValueError):
        dna.validate_dna({"version": "2.0"})


# -- values that cannot be measured are null, and the DNA still validates ---------------------


def _assembled(*, duration_s: float = 4.0, overlays=(), shot_transitions=()):
    """A Style DNA assembled from real analyser results on four grey frames."""
    import numpy as np

    from clipzy.engine.analysis.audio import AudioAnalysis
    from clipzy.engine.analysis.color import ColorAnalyzer
    from clipzy.engine.analysis.motion import MotionAnalyzer
    from clipzy.engine.analysis.shots import ShotResult
    from clipzy.engine.analysis.text import TextResult
    from clipzy.engine.media import VideoInfo

    info = VideoInfo(width=320, height=180, coded_width=320, coded_height=180, rotation=0, duration_seconds=duration_s,
                     frame_rate=25.0, frame_count=4, codec="h264", pixel_format="yuv420p", bitrate_kbps=None,
                     format="mp4", has_audio=False, audio_codec=None, audio_sample_rate=None, audio_channels=None)
    color, motion = ColorAnalyzer(info), MotionAnalyzer(info)
    for i in range(4):
        img = np.full((180, 320, 3), 90 + 10 * i, np.uint8)
        color.push(img, i * 0.25)
        motion.push(img, i * 0.25)
    shots = ShotResult(list(shot_transitions), "transnetv2-onnx")
    spans = shots.shots_s(duration_s)
    return dna.assemble(info=info, shots=shots, color=color.finish(spans), motion=motion.finish(spans),
                        text=TextResult(list(overlays), False, "rapidocr-ppocr-onnx"), audio=AudioAnalysis(),
                        timings_s={})


def test_overlay_without_measured_size_or_colour_is_null():
    from clipzy.engine.analysis.text import TextOverlay

    d = _assembled(overlays=[TextOverlay("HELLO", "center", None, None, 0.5, 2.0)])
    assert d["text_overlays"][0]["size"] is None and d["text_overlays"][0]["color"] is None


def test_cut_frequency_without_a_duration_is_null():
    d = _assembled(duration_s=0.0)
    assert d["cut_frequency"] is None and d["source_duration_seconds"] == 0.0
